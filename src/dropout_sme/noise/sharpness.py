"""Does dropout find flatter minima? (the conclusion the paper draws from E2-E4; the
``noise_sharpness`` rule, figS9 and table 8).

At the last checkpoint of a dropout run and of its no-dropout baseline at the same lr, paired by
seed, the whole network's dropout-free training loss:

- its Hessian's top eigenvalue, by Lanczos on Hessian-vector products (no P x P matrix);
- its Hessian's trace, by Hutchinson's estimator mean(v' H v) over Rademacher vectors v, with
  its standard error;
- the loss along random filter-normalised directions (Li et al. 2018, the 1-D landscape of the
  precursor): a Gaussian direction whose every row of every weight matrix (one unit's incoming
  weights, a "filter") is scaled to the norm of that row of the parameters, biases 0 (as Li et
  al.), so that landscapes of networks with different weight scales compare.

Both runs of a seed are probed with the same random vectors (common random numbers: the paired
difference carries less noise than either).

With cross-entropy the curvature shrinks with the loss, so a flatter dropout minimum may only be
a deeper one. The baseline is therefore also measured at matched loss: continued by full-batch
GD at the same lr from its last checkpoint until its training loss reaches the dropout run's
(at most ``match_cap`` steps; past the cap the pair is not matched and its items undecided).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import torch

from .. import models
from .hessian import lanczos_top, problem_hvp
from .problem import Problem, at_checkpoint
from .streams import stream


def filter_normalised(params: dict, gen: np.random.Generator) -> torch.Tensor:
    """A random direction in the flat parameter space (``models.block_vector(params, "all")``
    order), filter-normalised: each row of a weight matrix has the norm of that row of the
    parameters; biases (1-D parameters) 0."""
    parts = []
    for v in params.values():
        if v.dim() < 2:
            parts.append(torch.zeros_like(v).flatten())
            continue
        d = torch.as_tensor(gen.standard_normal(v.shape), dtype=v.dtype, device=v.device)
        rows, d_rows = v.reshape(v.shape[0], -1), d.reshape(v.shape[0], -1)
        scale = rows.norm(dim=1, keepdim=True) / d_rows.norm(dim=1, keepdim=True)
        parts.append((d_rows * scale).flatten())
    return torch.cat(parts)


def hutchinson(hvp, n: int, probes: int, gen: np.random.Generator, like: torch.Tensor):
    """(trace estimate, its standard error) from ``probes`` Rademacher vectors."""
    values = []
    for _ in range(probes):
        v = torch.as_tensor(gen.choice([-1.0, 1.0], size=n), dtype=like.dtype, device=like.device)
        values.append(float(v @ hvp(v)))
    values = np.asarray(values)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(probes))


def landscape(problem: Problem, directions: list[torch.Tensor], alphas) -> np.ndarray:
    """(directions, alphas): the loss at theta + alpha d for each direction d."""
    f, theta = problem.loss_fn(), problem.theta
    with torch.no_grad():
        return np.array([[float(f(theta + a * d)) for a in alphas] for d in directions])


def measure(problem: Problem, gen: np.random.Generator, probes: int, n_directions: int,
            alphas, seed: int) -> tuple[dict, np.ndarray]:
    """One network's top eigenvalue, Hutchinson trace and landscape; ``gen`` supplies the probes
    and then the directions (the caller gives both runs of a seed the same draws)."""
    f, theta, hvp = problem.loss_fn(), problem.theta, problem_hvp(problem)
    top, _ = lanczos_top(f, theta, 1, seed=seed, hvp=hvp)
    trace, trace_se = hutchinson(hvp, theta.numel(), probes, gen, theta)
    directions = [filter_normalised(problem.params, gen) for _ in range(n_directions)]
    return ({"top_eigenvalue": float(top[0]), "trace": trace, "trace_se": trace_se,
             "loss": problem.loss0, "parameters": int(theta.numel())},
            landscape(problem, directions, alphas))


def continue_to_loss(problem: Problem, lr: float, target: float, cap: int
                     ) -> tuple[Problem, int, bool]:
    """Full-batch GD on the problem's loss (every parameter) from its parameters until the loss
    is at most ``target`` or ``cap`` steps have run: (the problem there, steps taken, reached)."""
    p = {k: v.detach().clone() for k, v in problem.params.items()}
    for step in range(cap + 1):
        leaves = {k: v.requires_grad_() for k, v in p.items()}
        value = models.loss_value(problem.loss, models.forward(problem.model, leaves, problem.x),
                                  problem.y)
        if float(value.detach()) <= target or step == cap:
            break
        grads = torch.autograd.grad(value, list(leaves.values()))
        with torch.no_grad():
            p = {k: v.detach() - lr * g for (k, v), g in zip(leaves.items(), grads)}
    p = {k: v.detach() for k, v in p.items()}
    return replace(problem, params=p), step, float(value.detach()) <= target


RUNS = ("dropout", "no dropout", "no dropout, matched loss")


def analyse(spec: dict, x, y, dropout: dict, baseline: dict, log=print):
    """Per seed, the dropout run's and the baseline's last checkpoints (``dropout``, ``baseline``:
    checkpoints as training writes them), and the baseline continued to the dropout run's
    training loss (``continue_to_loss``, at most ``sharpness.match_cap`` steps). Returns
    (summary rows, landscape curves): one summary row per (seed, run) and one curve row per
    (seed, run, direction, alpha)."""
    s = spec["sharpness"]
    alphas = np.linspace(-s["radius"], s["radius"], s["points"])
    summary, curves = [], []
    seeds = [int(v) for v in dropout["seeds"]]
    step, whole = int(dropout["steps"][-1]), {**spec, "block": models.ALL}
    for seed in seeds:
        own = at_checkpoint(whole, x, y, dropout, step, seed)
        base = at_checkpoint(whole, x, y, baseline, int(baseline["steps"][-1]), seed)
        matched, extra, reached = continue_to_loss(base, spec["lr"], own.loss0, s["match_cap"])
        for run, problem, p, more in ((RUNS[0], own, spec["keep_prob"], 0), (RUNS[1], base, 1.0, 0),
                                      (RUNS[2], matched, 1.0, extra)):
            # the same probes and directions for every run: a fresh generator from one stream
            gen = stream(spec, "sharpness_probes", seed, step)
            row, curve = measure(problem, gen, s["probes"], s["directions"], alphas, seed)
            label = {"setting": spec["setting"], "keep_prob": spec["keep_prob"], "lr": spec["lr"],
                     "mask": spec["mask"], "seed": seed, "run": run, "run_keep_prob": p,
                     "step": step + more}
            summary.append({**label, **row, "probes": s["probes"], "extra_steps": more,
                            "matched": reached if run == RUNS[2] else np.nan,
                            "match_cap": s["match_cap"]})
            for d, losses in enumerate(curve):
                curves.append(pd.DataFrame({**label, "direction": d, "alpha": alphas,
                                            "loss": losses}))
        d, b, m = summary[-3:]
        log(f"seed {seed}: top eigenvalue and trace, dropout {d['top_eigenvalue']:.4g} / "
            f"{d['trace']:.4g}, no dropout {b['top_eigenvalue']:.4g} / {b['trace']:.4g}, at "
            f"matched loss ({extra} more steps{'' if reached else ', cap reached'}) "
            f"{m['top_eigenvalue']:.4g} / {m['trace']:.4g}")
    return pd.DataFrame(summary), pd.concat(curves, ignore_index=True)
