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
    """(t, rows) -> dropout-free loss at block = theta* + t_ds v_d for the directions ``rows``
    (an index array; None: every column of ``directions``), t of shape (len(rows), S).

    FNN weight blocks: the kernel's ``fnn.line_loss`` (only the layers above the block are
    recomputed). Other blocks: the problem's loss, vmapped over ``chunk`` points at a time.
    ``chunk`` defaults to the faster value of each (``benchmarks/noise_speed.py``), for other
    blocks at most as many points as fit the device (``Problem.vmap_chunk``). A problem
    with its own ``chunk`` (rows of data) sums its parts' line losses.
    """
    if problem.chunked:
        lines = [(line_loss(part, directions, chunk), w) for part, w in problem.parts()]
        return lambda t, rows=None: sum(w * line(t, rows) for line, w in lines)
    theta = problem.theta
    V = directions.T.to(theta.device, theta.dtype)                    # (D, B)
    layer = fnn.weight_layer(problem.model, problem.block)
    if layer is not None:
        return fnn.line_loss(problem.model, problem.params, problem.x, problem.y, problem.loss,
                             layer, V, chunk or 16)
    batched = vmap(problem.loss_fn(), chunk_size=chunk or problem.vmap_chunk("line"))

    def line(t, rows=None):
        v = V if rows is None else V[torch.as_tensor(rows, device=V.device)]
        t = torch.as_tensor(t, dtype=theta.dtype, device=theta.device).expand(v.shape[0], -1)
        thetas = theta + t[..., None] * v[:, None, :]
        return batched(thetas.reshape(-1, theta.numel())).reshape(t.shape)

    return line


def flatness(problem, directions: torch.Tensor, factors, cap: float) -> dict:
    """``interval_flatness`` of the problem along the columns of ``directions``."""
    return interval_flatness(line_loss(problem, directions), problem.loss0, factors, cap)


def interval_flatness(line_loss, loss0: float, factors, cap: float, grid: int = 18,
                      iters: int = 10) -> dict:
    """Interval flatness along D directions for each factor c: F = theta^r - theta^l.

    ``line_loss(t, rows)`` maps signed distances t (len(rows), S) to the losses at
    theta* + t_ds v_d for the directions ``rows`` (None: all D). On each side the loss is
    evaluated on the geometric grid cap 2^-(grid-1) ... cap, from the smallest distance out; the
    first grid point where it reaches c L(theta*) brackets the crossing (with the previous point,
    or 0), and the Illinois variant of regula falsi narrows the bracket (superlinear). A direction
    is evaluated only as far as it needs: on the grid up to the first point that reaches the
    highest level (the points beyond cannot change a first crossing), and in regula falsi until
    the loss at the iterate is within its own rounding of the level (``_resolution``: the float
    format of the losses cannot place the crossing more finely) or ``iters`` steps have passed.
    A side that never reaches the level within ``cap`` is NaN: its F is NaN and flagged. A
    crossing between two grid points that the loss leaves again before the next one is not seen
    (the first crossing on the grid counts).

    Returns {factor: {"left", "right", "width", "flagged"}}, arrays of length D (left < 0 < right).
    """
    ts = cap * 2.0 ** np.arange(-(grid - 1), 1)
    top = max(factors) * loss0
    values = {sign: _grid_values(line_loss, sign, ts, top) for sign in (1.0, -1.0)}
    out = {}
    for c in factors:
        level = c * loss0
        res = {}
        for sign, key in ((1.0, "right"), (-1.0, "left")):
            grid_values, resolution = values[sign]
            res[key] = sign * _crossing(line_loss, sign, ts, grid_values, loss0, level, iters,
                                        resolution * level)
        width = res["right"] - res["left"]
        out[float(c)] = {**res, "width": width, "flagged": ~np.isfinite(width)}
    return out


def _evaluate(line_loss, t, rows=None):
    with torch.no_grad():
        return line_loss(torch.as_tensor(t), rows)


def _resolution(losses: torch.Tensor) -> float:
    """The relative rounding of a loss in the float format ``line_loss`` computes it in: a few
    units in the last place (a sum over samples rounds at every addition)."""
    return 4 * torch.finfo(losses.dtype).eps if losses.is_floating_point() else 0.0


def _grid_values(line_loss, sign, ts, top):
    """(D, S) losses on the grid, NaN past the first point where a direction reaches ``top``;
    and the losses' ``_resolution``."""
    first = _evaluate(line_loss, sign * ts[:1][None, :])                  # every direction
    values = np.full((first.shape[0], len(ts)), np.nan)
    values[:, 0] = first.double().cpu().numpy()[:, 0]
    pending = np.flatnonzero(~(values[:, 0] >= top))
    for k in range(1, len(ts)):
        if not len(pending):
            break
        t = np.full((len(pending), 1), sign * ts[k])
        values[pending, k] = _evaluate(line_loss, t, pending).double().cpu().numpy()[:, 0]
        pending = pending[~(values[pending, k] >= top)]
    return values, _resolution(first)


def _crossing(line_loss, sign, ts, values, loss0, level, iters, tol):
    """Distance to the first crossing of ``level`` on one side (NaN where none within the grid);
    a direction stops once its loss is within ``tol`` of the level."""
    above = values >= level
    found = above.any(1)
    first = above.argmax(1)
    rows = np.arange(len(first))
    hi, f_hi = ts[first], values[rows, first] - level
    prev = np.maximum(first - 1, 0)
    lo = np.where(first > 0, ts[prev], 0.0)
    f_lo = np.where(first > 0, values[rows, prev], loss0) - level
    moved = np.zeros(len(first))          # +1: hi moved last, -1: lo moved last
    t = np.full(len(first), np.nan)
    active = np.flatnonzero(found)
    for _ in range(iters):
        if not len(active):
            break
        lo_a, hi_a, flo, fhi = lo[active], hi[active], f_lo[active], f_hi[active]
        with np.errstate(divide="ignore", invalid="ignore"):       # f_hi = f_lo: bisect below
            ta = (lo_a * fhi - hi_a * flo) / (fhi - flo)
        ta = np.where(np.isfinite(ta) & (ta > lo_a) & (ta < hi_a), ta, 0.5 * (lo_a + hi_a))
        f = _evaluate(line_loss, sign * ta[:, None], active).double().cpu().numpy()[:, 0] - level
        t[active] = ta
        up = f >= 0
        # Illinois: halve the value kept at the end that did not move twice in a row
        mv = moved[active]
        flo = np.where(up & (mv > 0), 0.5 * flo, flo)
        fhi = np.where(~up & (mv < 0), 0.5 * fhi, fhi)
        hi[active], f_hi[active] = np.where(up, ta, hi_a), np.where(up, f, fhi)
        lo[active], f_lo[active] = np.where(up, lo_a, ta), np.where(up, flo, f)
        moved[active] = np.where(up, 1.0, -1.0)
        active = active[~(np.abs(f) <= tol)]        # a NaN loss keeps its direction going
    return t
