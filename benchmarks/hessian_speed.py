"""The 2,500 x 2,500 Hessian block (w2) of the default FNN on digits: full matrix vs Lanczos top-20.

Uses the trained parameters of results/runs/fnn/p0.8_lr0.1/checkpoints.pt (seed 0, final step) when
they exist, else the initialisation. Usage: python benchmarks/hessian_speed.py [--threads 2]
"""

import argparse
import time

import numpy as np
import torch

import default_fnn
from default_fnn import MODEL
from dropout_sme import noise
from dropout_sme.noise import hessian
from dropout_sme.devices import tune_allocator


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--k", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tune_allocator()
    x, y, params, where = default_fnn.load()
    f = noise.Problem.of(MODEL, params, x, y, "cross_entropy", "w2").loss_fn()
    theta = params["w2"].reshape(-1)
    print(f"FNN 64-50-50-10 on digits (n = {len(x)}), block w2 ({theta.numel()} parameters), "
          f"{where} parameters, float32, {args.threads} thread(s)")
    hessian.full_hessian(f, theta)  # warm-up
    t = time.perf_counter()
    H = hessian.full_hessian(f, theta)
    t_full = time.perf_counter() - t
    hessian.block_hessian(noise.Problem.of(MODEL, params, x, y, "cross_entropy", "w2"))  # warm-up
    t = time.perf_counter()
    H_closed = hessian.block_hessian(noise.Problem.of(MODEL, params, x, y, "cross_entropy", "w2"))
    t_closed = time.perf_counter() - t
    closed_err = float((H_closed - H).abs().max() / H.abs().max())
    t = time.perf_counter()
    exact = np.linalg.eigvalsh(H.double().numpy())[::-1]
    t_eigh = time.perf_counter() - t
    t = time.perf_counter()
    vals, _ = hessian.lanczos_top(f, theta, k=args.k, tol=1e-6)
    t_lanczos = time.perf_counter() - t
    rel = np.abs(vals - exact[:args.k]) / np.abs(exact[:args.k])

    # cost of one Hessian-vector product against one gradient (forward-over-reverse)
    g, hvp, hvp_seq = torch.func.grad(f), hessian.hvp_fn(f, theta), hessian.hvp_sequential(f, theta)
    v = torch.randn_like(theta)
    reps, cost = 50, {}
    for fn, name in ((lambda: g(theta), "grad"), (lambda: hvp(v), "hvp"), (lambda: hvp_seq(v), "seq")):
        fn()
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        cost[name] = (time.perf_counter() - t) / reps

    # top eigenvalue at tolerance 1e-3: Lanczos (eigsh) against PyHessian-style power iteration
    # (double backward, stop when the Rayleigh quotient changes by less than tol, relative), and
    # power iteration run until its eigenvalue is really within tol of eigh's (equal accuracy)
    tol = 1e-3
    (top1, _), t_l1 = best_of(lambda: hessian.lanczos_top(f, theta, k=1, tol=tol))
    (power, iters), t_power = best_of(lambda: power_iteration(f, theta, tol))
    (power_eq, iters_eq), t_power_eq = best_of(
        lambda: power_iteration(f, theta, tol, target=exact[0]))
    print(f"full Hessian (vmapped forward-over-reverse): {t_full:.2f} s")
    print(f"full Hessian, closed form (block_hessian):   {t_closed:.2f} s, max |difference| "
          f"{closed_err:.1e} of max |H|")
    print(f"eigh of the full Hessian:                    {t_eigh:.2f} s")
    print(f"Lanczos top-{args.k} (eigsh on HVPs):             {t_lanczos:.2f} s, "
          f"max relative error of the {args.k} eigenvalues {rel.max():.1e}")
    print(f"top eigenvalues: {', '.join(f'{v:.4g}' for v in exact[:5])}")
    print(f"one gradient {1e3 * cost['grad']:.2f} ms; one Hessian-vector product: forward-over-"
          f"reverse {1e3 * cost['hvp']:.2f} ms ({cost['hvp'] / cost['grad']:.1f}x), reverse-over-"
          f"reverse on a retained graph {1e3 * cost['seq']:.2f} ms ({cost['seq'] / cost['grad']:.1f}x)")
    print(f"top eigenvalue, tol {tol:g} (fastest of 5): Lanczos {t_l1:.3f} s "
          f"(error {abs(top1[0] / exact[0] - 1):.1e}); "
          f"PyHessian-style power iteration {t_power:.3f} s, {iters} iterations, error "
          f"{abs(power / exact[0] - 1):.1e} (its stopping rule); run to a true error < {tol:g}: "
          f"{t_power_eq:.3f} s, {iters_eq} iterations: {t_power_eq / t_l1:.1f}x Lanczos' time")


def best_of(fn, reps=5):
    """fn's result and its fastest wall time over ``reps`` calls (the first warms caches up)."""
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, min(times)


def power_iteration(f, theta, tol, max_iter=5000, seed=0, target=None):
    """PyHessian's scheme: v <- Hv / |Hv| with Hv by double backward, until the Rayleigh
    quotient changes by less than tol (relative), or, with ``target``, until it is within tol of
    it (relative)."""
    gen = torch.Generator().manual_seed(seed)
    v = torch.randn(theta.shape, generator=gen, dtype=theta.dtype)
    v /= v.norm()
    w = theta.detach().clone().requires_grad_()
    (grad,) = torch.autograd.grad(f(w), w, create_graph=True)
    value = None
    for i in range(1, max_iter + 1):
        (hv,) = torch.autograd.grad(grad, w, grad_outputs=v, retain_graph=True)
        new = float(hv @ v)
        v = hv.detach() / hv.norm()
        if target is not None and abs(new - target) < tol * abs(target):
            return new, i
        if target is None and value is not None and abs(new - value) < tol * abs(value):
            return new, i
        value = new
    return value, max_iter


if __name__ == "__main__":
    main()
