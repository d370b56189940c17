"""Dropout noise against other noises at matched magnitude (the reviewers' request; Fig. S6).

At the noise stage's theta* of every seed, two other noises get the magnitude of dropout's there,
Tr Sigma of the analysed block:

- **mini-batch SGD** on the dropout-free loss, batches of b samples drawn without replacement:
  its covariance is exactly Sigma_SGD(b) = (n - b) / (b (n - 1)) C, C the (population) covariance
  of the n per-sample gradients, so b is solved from Tr Sigma_SGD(b) = Tr Sigma_dropout;
- **isotropic Gaussian noise** injected into every parameter's update, g = grad L + sigma xi,
  xi ~ N(0, I): Sigma = sigma^2 I, with sigma^2 = Tr Sigma_dropout / B.

For each: alpha(H, Sigma) at theta* (isotropic: Tr H / (|H|_F sqrt B) exactly), the
variance-flatness slope of its gradient data (PCA of Sigma; undefined for isotropic noise, whose
variances are all equal), and of its trajectory data: the same window as dropout's, run from
theta* with that noise instead of dropout, through the same protocol (``trajectory``: the
window's diagnosis and the slope under every drift handling).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch.func import grad, vmap

from .. import architectures, models
from .. import fits
from . import hessian, trajectory
from .estimators import alignment, covariance, spectrum
from .flatness import flatness
from .problem import Problem, at_checkpoint
from .streams import stream

NOISES = ("sgd", "gaussian")


def per_sample_gradients(problem: Problem) -> torch.Tensor:
    """(n, B): the gradient of each sample's dropout-free loss in the problem's block."""
    model, params, block = problem.model, problem.params, problem.block

    def f(theta, xi, yi):
        out = models.forward(model, models.with_block(params, block, theta), xi[None])
        return models.loss_value(problem.loss, out, yi[None])

    return vmap(grad(f), in_dims=(None, 0, 0), chunk_size=problem.chunk)(
        problem.theta, problem.x, problem.y)


def sgd_covariance(per_sample: torch.Tensor, b: float) -> torch.Tensor:
    """Exact covariance of the mean gradient of b samples drawn without replacement."""
    n = per_sample.shape[0]
    C = covariance(per_sample.double()) * ((n - 1) / n)      # population covariance
    return (n - b) / (b * (n - 1)) * C


def matched_batch(trace_target: float, per_sample: torch.Tensor) -> float:
    """The batch size b (real) whose SGD noise has trace ``trace_target``: solves
    (n - b) / (b (n - 1)) Tr C = target, i.e. b = n Tr C / ((n - 1) target + Tr C)."""
    n = per_sample.shape[0]
    tr_c = float(per_sample.double().var(0, unbiased=False).sum())   # Tr C
    return n * tr_c / ((n - 1) * trace_target + tr_c)


def continue_run(problem: Problem, lr: float, steps: int, rng: np.random.Generator,
                 batch: int | None = None, sigma: float | None = None) -> torch.Tensor:
    """(steps, B): the block at each step of GD on the dropout-free loss from the problem's
    parameters (every one of them moves) with mini-batches of ``batch`` samples (without
    replacement) or Gaussian noise sigma xi added to every parameter's gradient (recorded before
    each update, as training records). The Gaussian numbers come from a torch generator seeded
    from ``rng``, the named stream of the run."""
    model, loss, block, x, y = problem.model, problem.loss, problem.block, problem.x, problem.y
    gen = torch.Generator().manual_seed(int(rng.integers(2 ** 62)))
    p = {k: v.detach().clone() for k, v in problem.params.items()}
    n, out = x.shape[0], []
    for _ in range(steps):
        out.append(models.block_vector(p, block).clone())
        if batch is not None:
            idx = torch.from_numpy(rng.choice(n, size=batch, replace=False))
            xb, yb = x[idx], y[idx]
        else:
            xb, yb = x, y
        leaves = {k: v.requires_grad_() for k, v in p.items()}
        grads = _gradients(model, loss, leaves, xb, yb, problem.chunk)
        with torch.no_grad():
            p = {}
            for (k, v), g in zip(leaves.items(), grads):
                if sigma is not None:
                    g = g + sigma * torch.randn(g.shape, generator=gen,
                                                dtype=g.dtype).to(g.device)
                p[k] = v.detach() - lr * g
    return torch.stack(out)


def _gradients(model: dict, loss: str, leaves: dict, x, y, chunk: int | None) -> list:
    """Gradients of the mean loss over (x, y) for every leaf, over micro-batches of ``chunk``
    rows where set (``models.chunked_mean``: equal to the one-batch gradients)."""
    if not chunk or chunk >= x.shape[0]:
        value = models.loss_value(loss, models.forward(model, leaves, x), y)
        return list(torch.autograd.grad(value, list(leaves.values())))

    def grad_and_sum(p, xc, yc, _):
        value = models.loss_sum(loss, models.forward(model, p, xc), yc)
        return dict(zip(p, torch.autograd.grad(value, list(p.values())))), value.detach()

    return list(models.chunked_mean(grad_and_sum, leaves, x, y, loss, chunk)[0].values())


def trajectory_slopes(problem: Problem, samples: torch.Tensor, top: int, factor: float,
                      cap: float) -> dict:
    """A window's diagnosis and the variance-flatness slope of its trajectory data under every
    drift handling (``slope_trajectory_<drift>``, flagged directions
    ``flagged_trajectory_<drift>``)."""
    window = trajectory.Window(samples, top)
    found = window.components
    width = {kind: flatness(problem, vecs, [factor], cap)[factor]["width"]
             for kind, (_, vecs) in found.items()}
    out = {}
    for drift in fits.DRIFTS:
        kind, _, _, _, first = fits.trajectory_fit(drift)
        w, var = np.asarray(width[kind])[first:], np.asarray(found[kind][0])[first:]
        out[f"slope_trajectory_{drift}"] = fits.fit_slope(w, var)
        out[f"flagged_trajectory_{drift}"] = int(np.isnan(w).sum())
    return {**window.diagnose(), **out}


def analyse(spec: dict, x, y, checkpoints: dict, trace_dropout: dict, log=print) -> pd.DataFrame:
    """Rows per seed and noise (sgd, gaussian): the matched magnitude, alpha at theta* and the
    variance-flatness slopes of gradient and trajectory data (at ``flatness_factor``)."""
    import time

    if not architectures.of(spec["model"]).fnn_kernel:
        raise ValueError("the noise comparison runs GD on the whole network from theta* with the "
                         "FNN kernel: it is defined for the fnn experiment only")
    factor, top = float(spec["flatness_factor"]), spec["directions"]
    traj = spec["trajectory"]
    window = len(range(0, traj["length"], traj["stride"]))
    rows = []
    for seed in (int(s) for s in checkpoints["seeds"]):
        t0 = time.perf_counter()
        problem = at_checkpoint(spec, x, y, checkpoints, spec["theta_star"], seed)
        H = hessian.block_hessian(problem).double()
        B = H.shape[0]
        target = float(trace_dropout[seed])
        G = per_sample_gradients(problem)
        b = matched_batch(target, G)
        b_int = int(np.clip(round(b), 1, x.shape[0]))
        sigma = float(np.sqrt(target / B))

        def slope_of(vectors, variances):
            width = flatness(problem, vectors, [factor], spec["flatness_cap"])[factor]
            return fits.fit_slope(width["width"], variances), int(width["flagged"].sum())

        for kind in NOISES:
            rng = stream(spec, f"compare_{kind}", seed, spec["theta_star"])
            if kind == "sgd":
                S = sgd_covariance(G, b_int)
                alpha = alignment(H, S)
                var, vecs = spectrum(S.float(), top)
                g_slope, g_flag = slope_of(vecs, var[:top])
                run = continue_run(problem, spec["lr"], traj["length"], rng, batch=b_int)
                magnitude = {"batch": b_int, "batch_exact": b, "sigma": np.nan,
                             "trace": float(S.trace())}
            else:
                alpha = float(H.trace() / (H.norm() * np.sqrt(B)))
                g_slope, g_flag = np.nan, 0           # every direction has variance sigma^2
                run = continue_run(problem, spec["lr"], traj["length"], rng, sigma=sigma)
                magnitude = {"batch": np.nan, "batch_exact": np.nan, "sigma": sigma,
                             "trace": sigma ** 2 * B}
            samples = run[::traj["stride"]][:window].double()
            t_slopes = trajectory_slopes(problem, samples, top, factor, spec["flatness_cap"])
            rows.append({"setting": spec["setting"], "keep_prob": spec["keep_prob"],
                         "lr": spec["lr"], "mask": spec["mask"], "seed": seed, "noise": kind,
                         "trace_dropout": target,
                         **magnitude, "alpha": alpha, "slope_gradient": g_slope,
                         "flagged_gradient": g_flag, **t_slopes})
        log(f"seed {seed}: SGD (batch {b_int}) and Gaussian (sigma {sigma:.2e}) noise at theta* "
            f"{time.perf_counter() - t0:.1f} s")
    return pd.DataFrame(rows)
