"""The 2,500 x 2,500 Hessian block (w2) of the default FNN on digits: full matrix vs Lanczos top-20.

Uses the trained parameters of results/runs/fnn/p0.8_lr0.1/checkpoints.pt (seed 0, final step) when
they exist, else the initialisation. Usage: python benchmarks/hessian_speed.py [--threads 2]
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from dropout_sme import data, hessian, io, models
from dropout_sme.devices import tune_allocator

MODEL = {"arch": "fnn", "hidden": [50, 50], "activation": "relu"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--k", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tune_allocator()
    arrays, _ = data.prepare({"source": "digits", "test_fraction": 0.25, "seed": 0})
    x, y = torch.tensor(arrays["x_train"]), torch.tensor(arrays["y_train"])
    ckpt = Path("results/runs/fnn/p0.8_lr0.1/checkpoints.pt")
    if ckpt.exists():
        saved = io.load_torch(ckpt)
        params = {k: v[-1, 0] for k, v in saved["params"].items()}
        where = f"trained ({ckpt}, seed 0, step {int(saved['steps'][-1])})"
    else:
        params = models.init_params(MODEL, 64, 10, torch.Generator().manual_seed(0))
        where = "initial"
    f = hessian.block_loss(MODEL, params, x, y, "cross_entropy", "w2")
    theta = params["w2"].reshape(-1)
    print(f"FNN 64-50-50-10 on digits (n = {len(x)}), block w2 ({theta.numel()} parameters), "
          f"{where} parameters, float32, {args.threads} thread(s)")
    hessian.full_hessian(f, theta)  # warm-up
    t = time.perf_counter()
    H = hessian.full_hessian(f, theta)
    t_full = time.perf_counter() - t
    hessian.block_hessian(MODEL, params, x, y, "cross_entropy", "w2")  # warm-up
    t = time.perf_counter()
    H_closed = hessian.block_hessian(MODEL, params, x, y, "cross_entropy", "w2")
    t_closed = time.perf_counter() - t
    closed_err = float((H_closed - H).abs().max() / H.abs().max())
    t = time.perf_counter()
    exact = np.linalg.eigvalsh(H.double().numpy())[::-1]
    t_eigh = time.perf_counter() - t
    t = time.perf_counter()
    vals, _ = hessian.lanczos_top(f, theta, k=args.k, tol=1e-6)
    t_lanczos = time.perf_counter() - t
    rel = np.abs(vals - exact[:args.k]) / np.abs(exact[:args.k])
    print(f"full Hessian (vmapped forward-over-reverse): {t_full:.2f} s")
    print(f"full Hessian, closed form (block_hessian):   {t_closed:.2f} s, max |difference| "
          f"{closed_err:.1e} of max |H|")
    print(f"eigh of the full Hessian:                    {t_eigh:.2f} s")
    print(f"Lanczos top-{args.k} (eigsh on HVPs):             {t_lanczos:.2f} s, "
          f"max relative error of the {args.k} eigenvalues {rel.max():.1e}")
    print(f"top eigenvalues: {', '.join(f'{v:.4g}' for v in exact[:5])}")


if __name__ == "__main__":
    main()
