"""Training speed of the default FNN (digits, 64-50-50-10, full batch): seeds batched vs one at a time.

Prints seed-steps per second for: all seeds in one vmap call, all seeds in one job as a loop of
plain autograd calls, and separate jobs of one seed each (what one-job-per-seed would cost), for
both mask conventions. Usage: python benchmarks/train_speed.py [--seeds 5] [--steps 200] [--threads 1]
"""

import argparse
import time

import torch

from dropout_sme import data, train
from dropout_sme.devices import tune_allocator


def run(spec, arrays, steps):
    tr = train.Trainer(spec, arrays)
    params = train.init_seeds(spec, tr.n_in, tr.n_out)
    gens = [torch.Generator().manual_seed(s) for s in spec["seeds"]]
    for t in range(5):  # warm-up
        tr.step(params, t, gens)
    start = time.perf_counter()
    for t in range(steps):
        grads, _ = tr.step(params, t, gens)
        params = {k: p - spec["lr"] * grads[k] for k, p in params.items()}
    return len(spec["seeds"]) * steps / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-tune", action="store_true", help="keep glibc's default allocator settings")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if not args.no_tune:
        tune_allocator()
    arrays, meta = data.prepare({"source": "digits", "test_fraction": 0.25, "seed": 0})
    base = dict(experiment="bench", setting="p0.8_lr0.1", dataset="digits",
                model={"arch": "fnn", "hidden": [50, 50], "activation": "relu"},
                loss="cross_entropy", keep_prob=0.8, lr=0.1, batch_size=None, dtype="float32",
                device="cpu", seeds=list(range(args.seeds)))
    flop = 6 * meta["n_train"] * (64 * 50 + 50 * 50 + 50 * 10)
    print(f"FNN 64-50-50-10 on digits ({meta['n_train']} examples, full batch, "
          f"~{flop / 1e6:.0f} MFLOP per step), {args.seeds} seeds, {args.threads} thread(s)")
    print(f"{'mask':<11} {'mode':<28} {'seed-steps/s':>12} {'ms/seed-step':>13} {'GFLOP/s':>8}")
    for mask in ("per_step", "per_sample"):
        spec = {**base, "mask": mask}
        rows = [("vmap, all seeds in one call", run({**spec, "seed_batching": "vmap"}, arrays,
                                                    args.steps)),
                ("loop, all seeds in one job", run({**spec, "seed_batching": "loop"}, arrays,
                                                   args.steps))]
        one = [run({**spec, "seed_batching": "loop", "seeds": [s]}, arrays, args.steps)
               for s in spec["seeds"]]
        rows.append(("one seed per job", len(one) / sum(1 / r for r in one)))
        for name, rate in rows:
            print(f"{mask:<11} {name:<28} {rate:12.0f} {1e3 / rate:13.2f} {rate * flop / 1e9:8.1f}")


if __name__ == "__main__":
    main()
