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
window's diagnosis and the slope under every drift handling; their fluctuation reference is
full-batch GD from theta*, ``noise.paths``).

SGD's alpha is also measured at a point SGD itself trained to (a robustness row of claim 6):
SGD with the matched batch and the run's lr from the run's theta_0 for as many steps as theta*
took, then alpha(H, Sigma_SGD) of the block there (``alpha_sgd_trained`` in the ``sgd`` row).

Two controls of the trajectory protocol run beside them: the noise-free run itself (what the
drift alone gives under each handling; under ``fluctuation`` it has no fluctuation at all) and
a positive control, SGD at Feng & Tu's batch size and learning rate, whose slope is their
psi ~ 4 where the protocol recovers it on this data.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import torch
from torch.func import grad, vmap

from .. import architectures, models
from .. import fits
from ..io import Laps
from . import hessian, trajectory
from .estimators import alignment, covariance, spectrum
from .flatness import flatness
from .paths import continue_run
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


def trajectory_slopes(problem: Problem, samples: torch.Tensor, top: int, factor: float,
                      cap: float, reference: torch.Tensor) -> dict:
    """A window's diagnosis and the variance-flatness slope of its trajectory data under every
    drift handling (``slope_trajectory_<drift>``, flagged directions
    ``flagged_trajectory_<drift>``; ``fluctuation`` against ``reference``). A window equal to
    its reference (the noise-free control) has no fluctuation: NaN."""
    window = trajectory.Window(samples, top, reference)
    found, widths, out = window.components, {}, {}
    for drift in fits.DRIFTS:
        kind, _, _, _, first = fits.trajectory_fit(drift)
        var = np.asarray(found[kind][0])[first:]
        if not (var > 0).any():
            out[f"slope_trajectory_{drift}"], out[f"flagged_trajectory_{drift}"] = np.nan, 0
            continue
        if kind not in widths:
            widths[kind] = np.asarray(flatness(problem, found[kind][1], [factor], cap)[factor][
                "width"])
        w = widths[kind][first:]
        out[f"slope_trajectory_{drift}"] = fits.fit_slope(w, var)
        out[f"flagged_trajectory_{drift}"] = int(np.isnan(w).sum())
    return {**window.diagnose(), **out}


def analyse(spec: dict, x, y, checkpoints: dict, trace_dropout: dict, log=print) -> pd.DataFrame:
    """Rows per seed and noise: SGD and isotropic Gaussian noise at dropout's magnitude (``sgd``,
    ``gaussian``: the matched magnitude, alpha at theta* and the variance-flatness slopes of
    gradient and trajectory data at ``flatness_factor``), and the trajectory controls: the
    noise-free run (``none``: full-batch GD from theta*, the reference of both) and the positive
    control (``positive_control``: SGD at Feng & Tu's batch and lr after ``burn_in`` steps, its
    reference full-batch GD at that lr from the window's first sample)."""
    if not architectures.of(spec["model"]).fnn_kernel:
        raise ValueError("the noise comparison runs GD on the whole network from theta* with the "
                         "FNN kernel: it is defined for the fnn experiment only")
    factor, top, cap = float(spec["flatness_factor"]), spec["directions"], spec["flatness_cap"]
    traj, control = spec["trajectory"], spec["positive_control"]
    window = len(range(0, traj["length"], traj["stride"]))

    def sampled(run):
        return run[::traj["stride"]][:window].double()

    free = "the noise-free run (the others' reference)"
    rows = []
    for seed in (int(s) for s in checkpoints["seeds"]):
        laps = Laps()
        problem = at_checkpoint(spec, x, y, checkpoints, spec["theta_star"], seed)
        H = hessian.block_hessian(problem).double()
        B = H.shape[0]
        target = float(trace_dropout[seed])
        G = per_sample_gradients(problem)
        b = matched_batch(target, G)
        b_int = int(np.clip(round(b), 1, x.shape[0]))
        sigma = float(np.sqrt(target / B))
        label = {"setting": spec["setting"], "keep_prob": spec["keep_prob"], "lr": spec["lr"],
                 "mask": spec["mask"], "seed": seed, "trace_dropout": target}
        laps.lap("the Hessian and the per-sample gradients")
        reference = sampled(continue_run(problem, spec["lr"], traj["length"], None))
        laps.lap(free)

        def slope_of(vectors, variances):
            width = flatness(problem, vectors, [factor], cap)[factor]
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
                             "trace": float(S.trace()),
                             **sgd_trained(spec, x, y, checkpoints, seed, b_int)}
            else:
                alpha = float(H.trace() / (H.norm() * np.sqrt(B)))
                g_slope, g_flag = np.nan, 0           # every direction has variance sigma^2
                run = continue_run(problem, spec["lr"], traj["length"], rng, sigma=sigma)
                magnitude = {"batch": np.nan, "batch_exact": np.nan, "sigma": sigma,
                             "trace": sigma ** 2 * B}
            t_slopes = trajectory_slopes(problem, sampled(run), top, factor, cap, reference)
            rows.append({**label, "noise": kind, **magnitude, "alpha": alpha,
                         "slope_gradient": g_slope, "flagged_gradient": g_flag, **t_slopes})
            laps.lap(f"SGD (batch {b_int})" if kind == "sgd" else f"Gaussian (sigma {sigma:.2e})")
        rows.append({**label, "noise": "none",
                     **trajectory_slopes(problem, reference, top, factor, cap, reference)})
        laps.lap(free)
        rows.append({**label, "noise": "positive_control",
                     **positive_control(spec, problem, seed, sampled, top, factor, cap)})
        laps.lap(f"the positive control (SGD batch {control['batch']}, lr {control['lr']:g})")
        log(f"seed {seed} from theta*: {laps.text()}")
    return pd.DataFrame(rows)


def sgd_trained(spec: dict, x, y, checkpoints: dict, seed: int, batch: int) -> dict:
    """alpha(H, Sigma_SGD(batch)) of the block at the point SGD reaches from the run's theta_0
    (checkpoint 0, the same seed) with ``batch`` and the run's lr in ``theta_star`` steps, and
    the dropout-free training loss there: SGD's alignment where SGD, not dropout, led. NaN where
    the run kept no checkpoint at step 0."""
    if 0 not in [int(s) for s in checkpoints["steps"]]:
        return {"alpha_sgd_trained": np.nan, "loss_sgd_trained": np.nan}
    start = at_checkpoint(spec, x, y, checkpoints, 0, seed)
    rng = stream(spec, "compare_sgd_trained", seed, spec["theta_star"])
    _, params = continue_run(start, spec["lr"], spec["theta_star"], rng, batch=batch, last=True)
    point = replace(start, params=params)
    S = sgd_covariance(per_sample_gradients(point), batch)
    return {"alpha_sgd_trained": alignment(hessian.block_hessian(point).double(), S),
            "loss_sgd_trained": float(point.loss0)}


def positive_control(spec: dict, problem: Problem, seed: int, sampled, top: int, factor: float,
                     cap: float) -> dict:
    """SGD at Feng & Tu's batch size and learning rate (``positive_control``) from theta*:
    ``burn_in`` steps, then the window, against full-batch GD at that lr from the window's first
    sample; the landscape (flatness) at the window's start."""
    c, length = spec["positive_control"], spec["trajectory"]["length"]
    rng = stream(spec, "compare_positive_control", seed, spec["theta_star"])
    batch = min(c["batch"], problem.x.shape[0])
    _, params = continue_run(problem, c["lr"], c["burn_in"], rng, batch=batch, last=True)
    start = replace(problem, params=params)
    run = sampled(continue_run(start, c["lr"], length, rng, batch=batch))
    reference = sampled(continue_run(start, c["lr"], length, None))
    return {"batch": batch, "control_lr": c["lr"], "burn_in": c["burn_in"],
            **trajectory_slopes(start, run, top, factor, cap, reference)}
