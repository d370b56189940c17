"""Interval flatness (docs/spec.md §1.6): along a unit direction v, the width F = theta^r - theta^l of the
interval around theta* where the dropout-free loss stays below factor x L(theta*), by bracketing
and regula falsi; a side where the loss never reaches the level within the cap is flagged (NaN),
never given a number. ``line_loss`` evaluates the loss along many directions at once.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import vmap

from ..models import fnn


def line_loss(problem, directions: torch.Tensor, chunk: int | None = None):
    """t (D, S) -> dropout-free loss at block = theta* + t_ds v_d (v_d: columns of ``directions``).

    FNN weight blocks: the kernel's ``fnn.line_loss`` (only the layers above the block are
    recomputed). Other blocks: the problem's loss, vmapped over ``chunk`` points at a time.
    ``chunk`` defaults to the faster value of each (``benchmarks/noise_speed.py``), for other
    blocks at most as many points as fit the device (``Problem.vmap_chunk``). A problem
    with its own ``chunk`` (rows of data) sums its parts' line losses.
    """
    if problem.chunked:
        lines = [(line_loss(part, directions, chunk), w) for part, w in problem.parts()]
        return lambda t: sum(w * line(t) for line, w in lines)
    theta = problem.theta
    V = directions.T.to(theta.device, theta.dtype)                    # (D, B)
    layer = fnn.weight_layer(problem.model, problem.block)
    if layer is not None:
        return fnn.line_loss(problem.model, problem.params, problem.x, problem.y, problem.loss,
                             layer, V, chunk or 16)
    batched = vmap(problem.loss_fn(), chunk_size=chunk or problem.vmap_chunk("line"))

    def line(t):
        t = torch.as_tensor(t, dtype=theta.dtype, device=theta.device).expand(V.shape[0], -1)
        thetas = theta + t[..., None] * V[:, None, :]
        return batched(thetas.reshape(-1, theta.numel())).reshape(t.shape)

    return line


def flatness(problem, directions: torch.Tensor, factors, cap: float) -> dict:
    """``interval_flatness`` of the problem along the columns of ``directions``."""
    return interval_flatness(line_loss(problem, directions), problem.loss0, factors, cap)


def interval_flatness(line_loss, loss0: float, factors, cap: float, grid: int = 18,
                      iters: int = 10) -> dict:
    """Interval flatness along D directions for each factor c: F = theta^r - theta^l.

    ``line_loss(t)`` maps signed distances t (D, S) to the losses at theta* + t_ds v_d. On each side
    the loss is evaluated on the geometric grid cap 2^-(grid-1) ... cap; the first grid point where it
    reaches c L(theta*) brackets the crossing (with the previous point, or 0), and the Illinois
    variant of regula falsi narrows the bracket (superlinear; ``iters`` steps reach the float
    resolution of the loss). A side that never reaches the level within ``cap`` is NaN: its F is
    NaN and flagged. A crossing between two grid points that the loss leaves again before the next
    one is not seen (the first crossing on the grid counts).

    Returns {factor: {"left", "right", "width", "flagged"}}, arrays of length D (left < 0 < right).
    """
    ts = cap * 2.0 ** np.arange(-(grid - 1), 1)
    values = {sign: _grid_values(line_loss, sign, ts) for sign in (1.0, -1.0)}
    out = {}
    for c in factors:
        level = c * loss0
        res = {}
        for sign, key in ((1.0, "right"), (-1.0, "left")):
            res[key] = sign * _crossing(line_loss, sign, ts, values[sign], loss0, level, iters)
        width = res["right"] - res["left"]
        out[float(c)] = {**res, "width": width, "flagged": ~np.isfinite(width)}
    return out


def _grid_values(line_loss, sign, ts):
    with torch.no_grad():
        return line_loss(torch.as_tensor(sign * ts)[None, :]).double().cpu().numpy()   # (D, S)


def _crossing(line_loss, sign, ts, values, loss0, level, iters):
    """Distance to the first crossing of ``level`` on one side (NaN where none within the grid)."""
    above = values >= level
    found = above.any(1)
    first = above.argmax(1)
    rows = np.arange(len(first))
    hi, f_hi = ts[first], values[rows, first] - level
    prev = np.maximum(first - 1, 0)
    lo = np.where(first > 0, ts[prev], 0.0)
    f_lo = np.where(first > 0, values[rows, prev], loss0) - level
    moved = np.zeros(len(first))          # +1: hi moved last, -1: lo moved last
    for _ in range(iters):
        with np.errstate(divide="ignore", invalid="ignore"):       # f_hi = f_lo: bisect below
            t = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        t = np.where(np.isfinite(t) & (t > lo) & (t < hi), t, 0.5 * (lo + hi))
        with torch.no_grad():
            f = line_loss(torch.as_tensor(sign * t)[:, None]).double().cpu().numpy()[:, 0] - level
        up = f >= 0
        # Illinois: halve the value kept at the end that did not move twice in a row
        f_lo = np.where(up & (moved > 0), 0.5 * f_lo, f_lo)
        f_hi = np.where(~up & (moved < 0), 0.5 * f_hi, f_hi)
        hi, f_hi = np.where(up, t, hi), np.where(up, f, f_hi)
        lo, f_lo = np.where(up, lo, t), np.where(up, f_lo, f)
        moved = np.where(up, 1.0, -1.0)
    return np.where(found, t, np.nan)
