"""Random gradient data of the default FNN's w2 block: K dropout gradients, fast path vs autograd.

Uses the trained parameters of results/runs/fnn/p0.8_lr0.1/checkpoints.pt (seed 0, final step)
when they exist, else the initialisation. Prints the time of K = 25,000 masks by the FNN fast path
(``noise.mask_gradients``), of 2,500 by vmapped autograd (scaled to K), of their covariance and of
the interval flatness of 50 directions at four factors.
Usage: python benchmarks/noise_speed.py [--threads 2] [--masks 25000]
"""

import argparse
import time

import numpy as np
import torch

import default_fnn
from default_fnn import MODEL
from dropout_sme import noise
from dropout_sme.devices import tune_allocator


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--masks", type=int, default=25_000)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tune_allocator()
    x, y, params, where = default_fnn.load()
    print(f"FNN 64-50-50-10 on digits (n = {len(x)}), block w2 (2,500 parameters), {where} "
          f"parameters, keep_prob 0.8, per-sample masks, float32, {args.threads} thread(s)")
    a = np.random.default_rng(0)
    task = noise.Problem.of(MODEL, params, x, y, "cross_entropy", "w2")
    noise.mask_gradients(task, 0.8, "per_sample", 256, a)
    t = time.perf_counter()
    task = noise.Problem.of(MODEL, params, x, y, "cross_entropy", "w2")
    G = noise.mask_gradients(task, 0.8, "per_sample", args.masks, np.random.default_rng(1))
    t_fast = time.perf_counter() - t
    slow = noise.vmapped_gradients(noise.Problem.of(MODEL, params, x, y, "cross_entropy", "w2"), 0.8)
    rng, k = np.random.default_rng(2), 2500
    t = time.perf_counter()
    for _ in range(0, k, 64):
        slow([noise.bernoulli((64, len(x), 50), 0.8, rng) for _ in range(2)])
    t_slow = (time.perf_counter() - t) * args.masks / k
    t = time.perf_counter()
    S = noise.covariance(G)
    t_cov = time.perf_counter() - t
    vecs = torch.linalg.eigh(S)[1].flip(1)[:, :50]
    f = noise.Problem.of(MODEL, params, x, y, "cross_entropy", "w2").loss_fn()
    loss0 = float(f(params["w2"].reshape(-1)))
    t = time.perf_counter()
    line = noise.line_loss(noise.Problem.of(MODEL, params, x, y, "cross_entropy", "w2"), vecs)
    noise.interval_flatness(line, loss0, [1.5, 2, np.e, 4], cap=100)
    t_flat = time.perf_counter() - t
    print(f"K = {args.masks} mask gradients, FNN fast path:       {t_fast:.1f} s")
    print(f"K = {args.masks} mask gradients, vmapped autograd:    {t_slow:.1f} s (from {k} masks)")
    print(f"their covariance (K x 2500 -> 2500 x 2500):         {t_cov:.1f} s")
    print(f"interval flatness, 50 directions x 4 factors:       {t_flat:.1f} s")


if __name__ == "__main__":
    main()
