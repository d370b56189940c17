"""The GPU check: correctness on the device against the CPU, then the time and memory of each
paper-scale compute stage, through the package API (no Snakemake needed on the GPU machine).

Correctness (parts ``gradients``, ``hessians``, ``stages``): each architecture's dropout gradient
on the device against float64 on the CPU; Hessian-vector products against finite differences and
Lanczos against the full Hessian, on the device; the noise stage, the noise comparison, the keep
sweep, training and one E1 cell of the test config (tests/config/test.yaml) run on the device and
on the CPU from the same checkpoints (the noise masks come from numpy streams: the same masks on
both), their outputs compared.

Timing (parts ``fnn``, ``resnet20``, ``sme``, ``vgg16``, ``transformer``, ``resnet20_precursor``,
``transformer_precursor``; ``resnet20_tf32`` and ``resnet20_autotune`` time ResNet-20 with TF32 or
cuDNN's autotuning on, neither the pipeline's choice): config/paper.yaml's
experiments on data files of the real formats and sizes (random pixels and words unless --data-dir
names the real ones), each trained for a few steps (per-step time, extrapolated to the config's
steps, with its achieved FLOP/s: torch's count of a step over its time, and that rate as a share of
the device's float32 rate without TF32, measured by a large matrix product) and, for the FNN and
ResNet-20, the noise stage on one seed at the config's K, with the time of its parts and the peak
GPU memory.

    python benchmarks/gpu_check.py [--parts fnn resnet20 ...] [--data-dir DIR] [--out FILE]

The configs are validated (defaults filled in) with Snakemake's validator; on a machine without
Snakemake, write them elsewhere with ``--write-configs DIR`` and pass ``--configs DIR``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from dropout_sme import config as cfg, data, models, noise, train  # noqa: E402
from dropout_sme.noise import compare, hessian  # noqa: E402
from dropout_sme.sme import cell as sme  # noqa: E402
from dropout_sme.devices import exact_float32, resolve_device, tune_allocator  # noqa: E402

CONFIGS = {"paper": ROOT / "config/paper.yaml", "test": ROOT / "tests/config/test.yaml"}
PARTS = ("gradients", "hessians", "chunked", "stages", "resnet20", "fnn", "sme", "vgg16",
         "transformer", "resnet20_tf32", "resnet20_autotune", "resnet20_precursor",
         "transformer_precursor")


QUICK = False     # --quick: tiny sizes, to try the check itself on a CPU


def validated(name: str, folder=None) -> dict:
    if folder is not None:
        config = json.loads((Path(folder) / f"{name}.json").read_text())
    else:
        from snakemake.utils import validate

        config = yaml.safe_load(CONFIGS[name].read_text())
        validate(config, str(ROOT / "workflow/schemas/config.schema.yaml"))
    if QUICK and name == "paper":
        for spec in config["datasets"].values():
            spec.update(n_train=min(spec.get("n_train") or 256, 256), n_test=256)
        config["noise"].update(masks=600, alignment_masks=100, null_draws=2, directions=10)
        for over in config["universality"]["experiments"].values():
            over["masks"] = 600
        config["sme"]["paths"] = 100
    return config


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def peak_gb() -> float:
    return torch.cuda.max_memory_allocated() / 2 ** 30 if torch.cuda.is_available() else float("nan")


def reset_peak():
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


@contextlib.contextmanager
def profiled(module, names, into: dict):
    """Accumulate the seconds spent in module.<name> (device synchronised) while inside."""
    saved = {n: getattr(module, n) for n in names}

    def wrap(name, fn):
        def timed(*a, **k):
            sync()
            t0 = time.perf_counter()
            out = fn(*a, **k)
            sync()
            into[name] = into.get(name, 0.0) + time.perf_counter() - t0
            return out
        return timed

    for n, fn in saved.items():
        setattr(module, n, wrap(n, fn))
    try:
        yield into
    finally:
        for n, fn in saved.items():
            setattr(module, n, fn)


@contextlib.contextmanager
def tf32():
    """TF32 allowed, as torch allows it by default in convolutions (the pipeline does not)."""
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
    try:
        yield
    finally:
        exact_float32()


@contextlib.contextmanager
def autotune():
    """cuDNN's benchmark mode: each convolution shape timed over its algorithms once, the fastest
    kept (the pipeline leaves it off: the choice can differ between runs, and results with it)."""
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = False


def rel(a, b) -> float:
    a, b = torch.as_tensor(a).double().cpu(), torch.as_tensor(b).double().cpu()
    return float((a - b).norm() / b.norm())


# ------------------------------------------------------------------------------------------------
# correctness

SMALL = {
    "fnn": {"arch": "fnn", "hidden": [50, 50], "activation": "relu"},
    "cnn": {"arch": "cnn", "channels": [[8, 8], 16], "hidden": [32, 32], "activation": "relu",
            "image": [3, 32, 32], "init": "he"},
    "resnet": {"arch": "resnet", "depth": 8, "hidden": [16], "activation": "relu",
               "image": [3, 32, 32]},
    "transformer": {"arch": "transformer", "d_model": 16, "heads": 2, "d_ff": 16, "layers": 2,
                    "activation": "relu"},
    "encoder_decoder": {"arch": "encoder_decoder", "d_model": 10, "heads": 2, "d_k": 4,
                        "d_ff": 16, "layers": 2, "activation": "relu", "src_length": 5},
}


def instance(model, n=32, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    if model["arch"] in models.SEQUENCE:
        x = torch.randint(0, 11, (n, 10), generator=g).to(dtype)
        y = torch.randint(0, 11, (n, 10), generator=g)
        y[:, :5] = models.IGNORE
        return models.init_params(model, 10, 11, g, dtype), x, y
    n_in = int(np.prod(model.get("image", [784])))
    x = torch.randn(n, n_in, generator=g, dtype=dtype)
    return models.init_params(model, n_in, 10, g, dtype), x, torch.randint(0, 10, (n,), generator=g)


def part_gradients(device, out):
    """Dropout-loss gradients (fixed masks) on the device, float64 and float32, against float64
    on the CPU."""
    for name, model in SMALL.items():
        params, x, y = instance(model)
        masks = models.sample_masks(model, 0.8, "per_sample", x.shape[0],
                                    torch.Generator().manual_seed(1), torch.float64,
                                    n_in=x.shape[1])

        def grads(dev, dtype):
            p = {k: v.to(dev, dtype).requires_grad_() for k, v in params.items()}
            value = models.loss_value("cross_entropy", models.forward(
                model, p, x.to(dev, dtype), tuple(m.to(dev, dtype) for m in masks)), y.to(dev))
            return torch.cat([g.flatten() for g in torch.autograd.grad(value, list(p.values()))])

        ref = grads("cpu", torch.float64)
        out[name] = {"float64": rel(grads(device, torch.float64), ref),
                     "float32": rel(grads(device, torch.float32), ref)}
        with tf32():
            out[name]["float32_tf32"] = rel(grads(device, torch.float32), ref)
        print(f"  {name:<15} gradient rel. error float64 {out[name]['float64']:.1e}, "
              f"float32 {out[name]['float32']:.1e} (TF32 allowed: {out[name]['float32_tf32']:.1e})")


def part_hessians(device, out):
    """On the device, float64, smooth activation: HVP against central differences of the
    gradient; Lanczos top-4 against the eigenvalues of the full Hessian of a block."""
    blocks = {"fnn": "w2", "cnn": "conv2_w", "resnet": "stem_w", "transformer": "l2_ff2_w",
              "encoder_decoder": "dec2_cross_o_w"}
    for name, model in SMALL.items():
        model = {**model, "activation": "softplus"}
        if "image" in model:                  # the full Hessian of a convolution: small images
            model["image"] = [3, 8, 8]
        params, x, y = instance(model, n=16)
        params = {k: v.to(device) for k, v in params.items()}
        x, y = x.to(device), y.to(device)
        block = blocks[name]
        f = noise.Problem.of(model, params, x, y, "cross_entropy", block).loss_fn()
        theta = models.block_vector(params, block)
        v = torch.randn(theta.shape, generator=torch.Generator().manual_seed(2),
                        dtype=theta.dtype).to(device)
        g = torch.func.grad(f)
        h = 1e-6                 # max pooling's kinks: larger steps cross them (float64)
        fd = (g(theta + h * v) - g(theta - h * v)) / (2 * h)
        hvp = hessian.hvp_fn(f, theta)(v)
        H = hessian.full_hessian(f, theta)
        exact = torch.linalg.eigvalsh(H.cpu())[-4:].flip(0).numpy()
        top, _ = hessian.lanczos_top(f, theta, 4, tol=1e-10)
        out[name] = {"block": block, "B": int(theta.numel()), "hvp_vs_fd": rel(hvp, fd),
                     "lanczos_vs_full": float(np.abs(top - exact).max() / abs(exact[0]))}
        print(f"  {name:<15} {block} (B {theta.numel()}): HVP vs finite differences "
              f"{out[name]['hvp_vs_fd']:.1e}; Lanczos top-4 vs full Hessian "
              f"{out[name]['lanczos_vs_full']:.1e}")


def part_chunked(device, out):
    """On the device, float64: the noise stage's quantities over the data in parts (``chunk``)
    against one batch on the CPU: loss gradient, a Hessian-vector product, mask gradients of
    both conventions (the ResNet with GroupNorm and dropout after its convolutions)."""
    blocks = {"fnn": "w2", "cnn": "conv2_w", "resnet": "s1b1_1_w", "transformer": "l2_ff2_w",
              "encoder_decoder": "dec2_cross_o_w"}
    for name, model in SMALL.items():
        if name == "resnet":
            model = {**model, "norm": "group", "conv_dropout": True}
        params, x, y = instance(model, n=40)
        one = noise.Problem.of(model, params, x, y, "cross_entropy", blocks[name])
        dev = {k: v.to(device) for k, v in params.items()}
        parts = noise.Problem.of(model, dev, x.to(device), y.to(device), "cross_entropy",
                                 blocks[name], chunk=13)
        v = torch.randn(one.theta.shape, generator=torch.Generator().manual_seed(3),
                        dtype=torch.float64)
        errs = {"gradient": rel(parts.grad_fn()(parts.theta), one.grad_fn()(one.theta)),
                "hvp": rel(hessian.problem_hvp(parts)(v.to(device)), hessian.problem_hvp(one)(v))}
        for mask in ("per_step", "per_sample"):
            ref = noise.mask_gradients(one, 0.8, mask, 4, np.random.default_rng(0), batch=2)
            got = noise.mask_gradients(parts, 0.8, mask, 4, np.random.default_rng(0), batch=2)
            errs[f"masks_{mask}"] = rel(got, ref)
        out[name] = errs
        print(f"  {name:<15} in parts of 13 vs one batch: " + ", ".join(
            f"{k} {e:.1e}" for k, e in errs.items()))


def _frames_close(a, b, columns):
    worst = 0.0
    for c in columns:
        x, y = a[c].to_numpy(float), b[c].to_numpy(float)
        ok = np.isfinite(x) & np.isfinite(y)
        if (np.isfinite(x) != np.isfinite(y)).any():
            return float("inf")
        if ok.any():
            worst = max(worst, float(np.max(np.abs(x[ok] - y[ok]) / (np.abs(y[ok]) + 1e-12))))
    return worst


def part_stages(device, out, configs):
    """The test config's stages on the device against the CPU from the same checkpoints."""
    config = validated("test", configs)
    datasets = {k: data.prepare(v)[0] for k, v in config["datasets"].items()}
    for exp in cfg.universality_experiments(config):
        setting = cfg.noise_settings(config, exp)[0]
        run = cfg.run_spec(config, exp, setting)
        arrays = datasets[run["dataset"]]
        trained = train.train({**run, "device": "cpu"}, arrays, progress=False)
        on_device = train.train({**run, "device": str(device)}, arrays, progress=False)
        spec = cfg.noise_spec(config, exp, setting)
        res = {}
        for dev in ("cpu", device):
            x = torch.as_tensor(arrays["x_train"], dtype=getattr(torch, spec["dtype"]), device=dev)
            y = torch.as_tensor(arrays["y_train"], device=dev)
            ckpt = trained["checkpoints"]
            res[str(dev)] = noise.analyse(spec, x, y, ckpt, trained["trajectory"], log=lambda m: None)
            if exp == config["noise"]["experiment"]:
                align = res[str(dev)]["alignment"]
                trace = align[align.theta_star].set_index("seed").trace_s.to_dict()
                res[f"compare_{dev}"] = compare.analyse(spec, x, y, ckpt, trace, log=lambda m: None)
                ks = {**cfg.keep_sweep_spec(config), "keep_prob": 0.5}
                res[f"keep_{dev}"] = noise.keep_sweep(ks, x, y, ckpt, log=lambda m: None)
        cpu, dev = res["cpu"], res[str(device)]
        row = {"alpha": _frames_close(dev["alignment"], cpu["alignment"], ["alpha", "trace_s"]),
               "directions": _frames_close(dev["directions"], cpu["directions"],
                                           ["variance", "width"])}
        if "compare_cpu" in res:
            row["compare"] = _frames_close(res[f"compare_{device}"], res["compare_cpu"],
                                           ["alpha", "trace", "slope_gradient", "slope_trajectory"])
            row["keep_sweep"] = _frames_close(res[f"keep_{device}"], res["keep_cpu"],
                                              ["variance", "width", "alpha"])
        losses = [float(r["metrics"]["train_loss"].iloc[-1]) for r in (trained, on_device)]
        out[exp] = {**row, "final_train_loss_cpu": losses[0], "final_train_loss_device": losses[1]}
        print(f"  {exp:<12} noise stages from the same checkpoints, largest rel. difference "
              "device vs CPU: " + ", ".join(f"{k} {v:.1e}" for k, v in row.items())
              + f"; training (own mask streams): final loss CPU {losses[0]:.3f}, device "
              f"{losses[1]:.3f}")
    cell = next(iter(cfg.sme_cells(config)))
    spec = {**cfg.sme_spec(config, cell), "device": str(device)}
    arrays, info = sme.run_cell(spec, datasets[spec["dataset"]], progress=False)
    ok = all(np.isfinite(v).all() for v in arrays.values() if np.issubdtype(np.asarray(v).dtype,
                                                                           np.floating))
    out["sme_cell"] = {"cell": cell, "finite": bool(ok), "seconds": info.get("seconds")}
    print(f"  E1 cell {cell} on the device: outputs finite {ok}")


# ------------------------------------------------------------------------------------------------
# paper-scale timing

def fake_data(folder: Path):
    """MNIST IDX, CIFAR-10/100 pickles and Multi30k text of the real formats and sizes."""
    from fixtures import make_cifar, make_mnist

    make_mnist(folder, n_train=60000, n_test=10000)
    make_cifar(folder, "cifar10", per_batch=10000)
    make_cifar(folder, "cifar100", per_batch=10000)
    rng = np.random.default_rng(0)
    words = {lang: [f"{lang}{i}" for i in range(6000)] for lang in ("de", "en")}
    for split, n in (("train", 29000), ("val", 1014)):
        lengths = rng.integers(6, 20, n)
        for lang in ("de", "en"):
            ranks = np.minimum(rng.zipf(1.3, lengths.sum()), 6000) - 1
            text, pos = [], 0
            for k in lengths:
                text.append(" ".join(words[lang][r] for r in ranks[pos:pos + k]) + " .")
                pos += k
            (folder / f"{split}.{lang}").write_text("\n".join(text) + "\n")


def short_run(config, exp, steps, window):
    """The experiment's first dropout setting, cut to ``steps`` with the config's number of
    checkpoints and theta* at steps - window."""
    setting = cfg.noise_settings(config, exp)[0]
    run = cfg.run_spec(config, exp, setting)
    n_ck = len(run["checkpoints"])
    star = steps - window
    ckpts = sorted(set(np.linspace(0, steps, n_ck - 1).round().astype(int).tolist()) | {star})
    traj = {**run["trajectory"], "start": star, "length": window,
            "stride": max(1, min(run["trajectory"]["stride"], window // 10))}
    return {**run, "steps": steps, "checkpoints": ckpts, "trajectory": traj,
            "eval_every": max(steps // 2, 1)}, setting


def float32_peak(device) -> float:
    """The device's float32 rate without TF32, measured: FLOP/s of a large matrix product."""
    n = 512 if QUICK else 8192
    a, b = (torch.randn(n, n, device=device) for _ in range(2))
    a @ b
    sync()
    reps, t0 = 3 if QUICK else 10, time.perf_counter()
    for _ in range(reps):
        a @ b
    sync()
    return 2 * n ** 3 * reps / (time.perf_counter() - t0)


def step_flops(run, arrays, result) -> float:
    """Floating-point operations of one training step (every seed, the whole batch; a gradient
    counted as three forward passes), from torch's count of one forward pass of 8 samples."""
    from torch.utils.flop_counter import FlopCounterMode

    first = {k: v[0, 0] for k, v in result["checkpoints"]["params"].items()}
    x = torch.as_tensor(arrays["x_train"][:8]).to(next(iter(first.values())))
    with FlopCounterMode(display=False) as counter:
        models.forward(run["model"], first, x)
    batch = run.get("batch_size") or len(arrays["x_train"])
    return 3 * counter.get_total_flops() / len(x) * batch * len(run["seeds"])


def timed_training(run, arrays, full_steps, label, out, peak=None):
    train.train({**run, "steps": 2, "checkpoints": [], "trajectory": None}, arrays,
                progress=False)                                    # warm-up: kernels, autotuning
    reset_peak()
    result = train.train(run, arrays, progress=False)
    info = result["info"]
    per_step = info["seconds"] / info["steps_run"]
    rate = step_flops(run, arrays, result) / per_step
    out[label] = {"seeds": len(run["seeds"]), "steps_run": info["steps_run"],
                  "seconds_per_step": per_step, "seed_batching": info["seed_batching"],
                  "full_steps": full_steps, "extrapolated_seconds": per_step * (full_steps + 1),
                  "peak_gb": peak_gb(), "flop_per_second": rate,
                  "fraction_of_float32_peak": rate / peak if peak else None}
    share = f", {100 * rate / peak:.0f}% of the measured float32 peak" if peak else ""
    print(f"  {label}: {len(run['seeds'])} seeds ({info['seed_batching']}), "
          f"{per_step * 1e3:.1f} ms per step -> {per_step * (full_steps + 1) / 60:.1f} min for "
          f"{full_steps} steps; {rate / 1e12:.2f} TFLOP/s{share}; peak {peak_gb():.1f} GB")
    return result


NOISE_PARTS = ("mask_gradients", "covariance", "spectrum", "null_same_spectra",
               "null_centred_wishart", "interval_flatness", "pca")


def timed_noise(config, exp, setting, result, x, y, theta_star, label, out):
    """The noise stage on the first seed at the config's K (every other key as configured)."""
    spec = {**cfg.noise_spec(config, exp, setting), "theta_star": theta_star}
    ck = result["checkpoints"]
    one = {"steps": ck["steps"], "seeds": ck["seeds"][:1],
           "params": {k: v[:, :1] for k, v in ck["params"].items()}}
    traj = {**result["trajectory"], "seeds": result["trajectory"]["seeds"][:1],
            "params": result["trajectory"]["params"][:, :1]}
    parts = {}
    reset_peak()
    t0 = time.perf_counter()
    with profiled(noise, NOISE_PARTS, parts), profiled(hessian, ("block_hessian",), parts):
        frames = noise.analyse(spec, x, y, one, traj, log=lambda m: print("   ", m))
    total = time.perf_counter() - t0
    star_row = frames["alignment"][frames["alignment"].theta_star].iloc[0]
    out[label] = {"block": spec["block"], "B": int(star_row["block_size"]), "K": spec["masks"],
                  "checkpoints": len(one["steps"]), "seconds": total, "peak_gb": peak_gb(),
                  "parts": parts, "alpha_star": float(star_row["alpha"])}
    print(f"  {label}: block {spec['block']} (B {out[label]['B']}), K {spec['masks']}, "
          f"{len(one['steps'])} checkpoints, 1 seed: {total:.1f} s, peak {peak_gb():.1f} GB; "
          + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items()))


def paper_part(name, device, out, configs, data_dir):
    config = validated("paper", configs)
    config["device"] = str(device)
    plans = {"fnn": ("fnn_mnist", 400, 100), "resnet20": ("resnet20", 30, 5),
             "resnet20_tf32": ("resnet20", 10, 5), "vgg16": ("vgg16", 10, 5),
             "transformer": ("transformer_multi30k", 60, 10),
             "resnet20_autotune": ("resnet20", 10, 5), "resnet20_precursor": ("resnet20_precursor", 6, 3),
             "transformer_precursor": ("transformer_precursor", 60, 10)}
    exp, steps, window = plans[name]
    run, setting = short_run(config, exp, steps, window)
    spec = config["datasets"][run["dataset"]]
    arrays, _ = data.prepare(spec, data_dir)
    peak = out.setdefault("float32_peak", float32_peak(device))
    if name in ("resnet20_tf32", "resnet20_autotune"):
        what = "TF32" if name == "resnet20_tf32" else "cuDNN autotuning"
        with tf32() if name == "resnet20_tf32" else autotune():
            timed_training(run, arrays, config["experiments"][exp]["steps"],
                           f"{exp} training with {what} (not the pipeline's choice)", out, peak)
        return
    result = timed_training(run, arrays, config["experiments"][exp]["steps"],
                            f"{exp} training", out, peak)
    if name in ("fnn", "resnet20"):
        dtype = getattr(torch, run["dtype"])
        x = torch.as_tensor(arrays["x_train"], dtype=dtype, device=device)
        y = torch.as_tensor(arrays["y_train"], device=device)
        timed_noise(config, exp, setting, result, x, y, run["trajectory"]["start"],
                    f"{exp} noise stage", out)


def part_sme(device, out, configs, data_dir, paths=2000):
    paths = 50 if QUICK else paths
    config = validated("paper", configs)
    config["device"] = str(device)
    cell = "p0.5_lr0.1"
    spec = {**cfg.sme_spec(config, cell), "device": str(device), "paths": paths,
            "chunk": min(paths, config["sme"]["chunk"])}
    spec["batch"] = min(spec["batch"], spec["chunk"])
    arrays, _ = data.prepare(config["datasets"][spec["dataset"]], data_dir)
    reset_peak()
    t0 = time.perf_counter()
    sme.run_cell(spec, arrays, progress=False)
    seconds = time.perf_counter() - t0
    full = config["sme"]["paths"]
    out["sme " + cell] = {"paths": paths, "seconds": seconds, "full_paths": full,
                          "extrapolated_seconds": seconds * full / paths, "peak_gb": peak_gb()}
    print(f"  E1 cell {cell} ({', '.join(cfg.sme_cells(config)[cell]['methods'])}): {paths} paths "
          f"{seconds:.1f} s -> {seconds * full / paths / 60:.1f} min for {full}; "
          f"peak {peak_gb():.1f} GB")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    ap.add_argument("--data-dir", help="real MNIST/CIFAR/Multi30k files (default: random ones)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--configs", help="folder of validated configs (paper.json, test.json)")
    ap.add_argument("--write-configs", metavar="DIR", help="write them there and stop")
    ap.add_argument("--budget", type=float, default=float("inf"),
                    help="seconds: parts not started by then are skipped")
    ap.add_argument("--out", default="gpu_check.json")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: to try this script on a CPU")
    args = ap.parse_args()
    global QUICK
    QUICK = args.quick
    if args.write_configs:
        folder = Path(args.write_configs)
        folder.mkdir(parents=True, exist_ok=True)
        for name in CONFIGS:
            (folder / f"{name}.json").write_text(json.dumps(validated(name)))
        return
    tune_allocator()
    exact_float32()                                       # as every compute job does
    device = resolve_device(args.device)
    started = time.perf_counter()
    results = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
               "torch": torch.__version__, "python": platform.python_version(),
               "cudnn_tf32": torch.backends.cudnn.allow_tf32,
               "matmul_tf32": torch.backends.cuda.matmul.allow_tf32, "parts": {}}
    print(f"device {results['device']}, torch {torch.__version__}; TF32 in convolutions "
          f"{results['cudnn_tf32']}, in matmuls {results['matmul_tf32']}")
    data_dir = args.data_dir
    if data_dir is None and any(p not in ("gradients", "hessians", "chunked", "stages")
                                for p in args.parts):
        data_dir = Path(tempfile.mkdtemp(prefix="gpu-check-data-"))
        t0 = time.perf_counter()
        fake_data(data_dir)
        print(f"random data files of the real sizes in {data_dir} ({time.perf_counter() - t0:.0f} s)")
    for part in args.parts:
        if time.perf_counter() - started > args.budget:
            print(f"[{part}] skipped: past the budget of {args.budget:.0f} s")
            continue
        print(f"[{part}]")
        out = results["parts"].setdefault(part, {})
        t0 = time.perf_counter()
        try:
            if part == "gradients":
                part_gradients(device, out)
            elif part == "hessians":
                part_hessians(device, out)
            elif part == "chunked":
                part_chunked(device, out)
            elif part == "stages":
                part_stages(device, out, args.configs)
            elif part == "sme":
                part_sme(device, out, args.configs, data_dir)
            else:
                paper_part(part, device, out, args.configs, data_dir)
        except Exception:                                   # keep going: report every part
            out["error"] = traceback.format_exc()
            print(out["error"])
        out["part_seconds"] = time.perf_counter() - t0
        Path(args.out).write_text(json.dumps(results, indent=1, default=str))
    print(f"total {time.perf_counter() - started:.0f} s; results in {args.out}")


if __name__ == "__main__":
    main()
