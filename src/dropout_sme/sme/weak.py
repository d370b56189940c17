"""Weak error of the SMEs against dropout, its Monte Carlo error, and fitted orders with bootstrap
intervals, from the batch means written by the ``sme_cell`` rule.

weak error(method, g, lr) = |E g(theta_N) - E g(Theta_T)| at the horizon T = N lr (the weak-order
theorem's statement), with E estimated by the mean over paths; the maximum over the recorded
times t in (0, T] is reported beside it (``error_max``, at ``t_max``). Its Monte Carlo standard
error is that of the difference of the two means. A point is *resolved* when the error exceeds
``resolve_ratio`` (default 3) standard errors; unresolved points are shown but marked and never
fitted.

The order is fitted by the declared asymptotic rule (config/README.md, "The asymptotic rule"):
log error = a + q log lr + c lr over the resolved points, the next term of the weak-error
expansion in lr taken into the fit, and a point belongs to the asymptotic regime when its
correction |c| lr is at most ``REGIME``; while a kept point is outside it, the largest kept lr is
dropped and the fit redone; fewer than ``FIT_POINTS`` points leave no order. The plain
least-squares slope over the resolved points (``order_power``) and the local slopes between
consecutive learning rates are reported beside it. The 95% interval is the 2.5-97.5% range of
the orders of bootstrap resamples (batch means resampled with replacement, independently per
run), each resample's order obtained by the same rule from the points that resample resolves: the
interval carries the selection (``bootstrap_fitted``: the share of resamples with an order).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import rng as streams
from .. import fits
from .methods import DROPOUT, Method

# The test functions g that the simulators record (sme.Problem.test_functions), in column order;
# here, not in sme, so that the notebooks read the cells without importing torch.
TEST_FUNCTIONS = ("train_loss", "sq_norm", "test_loss")
# The fluctuations (sme.simulate.fluctuations): Var R_S and E|theta - E theta|^2 over paths,
# compared as relative errors |V(dropout) - V(method)| / V(dropout).
FLUCTUATIONS = ("train_loss_var", "spread")
# What each kind of statistic reads from a cell and whether its error is relative.
KINDS = {"mean": ("methods", TEST_FUNCTIONS, False), "fluctuation": ("fluct", FLUCTUATIONS, True)}


def select(frame: pd.DataFrame, method: Method) -> pd.DataFrame:
    """The rows of one method (its ``method`` and ``l`` columns)."""
    return frame[(frame.method == method.name) & (frame.l == method.l)]


def load_cell(path) -> dict:
    with np.load(path) as f:
        cell = {"keep_prob": float(f["keep_prob"]), "lr": float(f["lr"]), "times": f["times"],
                "activation": str(f["activation"]), "methods": {}, "diverged": {},
                "uncorrected": {}, "fluct": {}}
        for name in f.files:
            if not name.endswith("__method"):
                continue
            key = name[:-len("__method")]
            method = Method(str(f[name]), int(f[f"{key}__l"]))
            cell["methods"][method] = (f[f"{key}__batch_means"], f[f"{key}__batch_sizes"])
            cell["diverged"][method] = int(f[f"{key}__batch_diverged"].sum())
            if f"{key}__batch_fluct" in f.files:
                cell["fluct"][method] = (f[f"{key}__batch_fluct"], f[f"{key}__batch_sizes"])
            if f"{key}__uncorrected_means" in f.files:   # with the control variate (sme.control)
                cell["uncorrected"][method] = (f[f"{key}__uncorrected_means"],
                                               f[f"{key}__batch_sizes"])
    return cell


def paths_run(cell: dict) -> int:
    """The dropout paths a cell simulated (per method; fewer than configured where a method
    diverged and stopped early)."""
    return int(cell["methods"][DROPOUT][1].sum())


def load_cells(paths) -> list[dict]:
    return [load_cell(p) for p in sorted(paths, key=str)]


def mean_se(batch_means: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over paths and its standard error from batch means, (records, G) each."""
    w = sizes / sizes.sum()
    mean = np.tensordot(w, batch_means, axes=1)
    if len(sizes) < 2:
        return mean, np.zeros_like(mean)
    # Var(batch mean b) = sigma^2 / n_b  =>  sigma^2 ~ sum n_b (m_b - m)^2 / (B - 1)
    dev = batch_means - mean
    sigma2 = np.tensordot(sizes, dev ** 2, axes=1) / (len(sizes) - 1)
    return mean, np.sqrt(sigma2 / sizes.sum())


def variance_ratio(cell: dict, method: str) -> np.ndarray:
    """(3,): the control variate's variance reduction of the weak-error difference at t = T,
    Var(plain difference) / Var(corrected difference): the factor of paths it saves. NaN where
    the cell ran without it (or diverged)."""
    if DROPOUT not in cell.get("uncorrected", {}):
        return np.full(len(TEST_FUNCTIONS), np.nan)

    def var(runs):
        return sum(mean_se(*run)[1][-1] ** 2 for run in runs)

    runs = [cell["methods"][DROPOUT], cell["methods"][method]]
    plain = [cell["uncorrected"][DROPOUT], cell["uncorrected"].get(method, runs[1])]
    with np.errstate(invalid="ignore", divide="ignore"):
        return var(plain) / var(runs)


def _gap(m1, s1, m2, s2, relative: bool):
    """|m1 - m2| and its standard error; ``relative``: divided by |m1| (the delta method's
    standard error of the ratio, the two runs independent)."""
    diff, se = np.abs(m1 - m2), np.hypot(s1, s2)
    if relative:
        with np.errstate(invalid="ignore", divide="ignore"):
            diff, se = diff / np.abs(m1), np.hypot(s1 * m2 / m1 ** 2, s2 / m1)
    return diff, se


def weak_error(ref, other, relative: bool = False) -> tuple[np.ndarray, ...]:
    """(error, standard error) of |mean_ref - mean_other| at the horizon (the last record), and
    its maximum over the records t > 0 with the record's index, each (G,); ``relative``: the
    error divided by |mean_ref| (``_gap``). A run with a non-finite mean at any time (a path
    diverged) gives NaN: diverged, not small."""
    m1, s1 = mean_se(*ref)
    m2, s2 = mean_se(*other)
    diff, se = _gap(m1, s1, m2, s2, relative)
    finite = np.isfinite(m1 - m2).all(0)
    worst = np.argmax(np.where(np.isfinite(diff[1:]), diff[1:], -np.inf), axis=0) + 1
    return (np.where(finite, diff[-1], np.nan), np.where(finite, se[-1], np.nan),
            np.where(finite, diff[worst, np.arange(diff.shape[1])], np.nan), worst)


def _boot_runs(run, rng, n_boot: int) -> tuple[np.ndarray, np.ndarray]:
    """(means, standard errors) over paths of n_boot resamples of a run's batch means (batches
    drawn with replacement), each (n_boot, records, G): ``mean_se`` of every resample."""
    bm, sizes = run
    if len(sizes) < 2:
        mean, se = mean_se(bm, sizes)
        shape = (n_boot, *bm.shape[1:])
        return np.broadcast_to(mean, shape), np.broadcast_to(se, shape)
    pick = rng.integers(0, len(sizes), (n_boot, len(sizes)))
    w, drawn = sizes[pick].astype(float), bm[pick]
    total = w.sum(1)
    mean = np.einsum("bk,bkrg->brg", w / total[:, None], drawn)
    sigma2 = np.einsum("bk,bkrg->brg", w, (drawn - mean[:, None]) ** 2) / (len(sizes) - 1)
    return mean, np.sqrt(sigma2 / total[:, None, None])


def boot_points(ref, other, rng, n_boot: int, relative: bool = False):
    """(errors, standard errors) at the horizon, each (n_boot, G): ``weak_error`` of bootstrap
    resamples of both runs (resampled independently), NaN where a resample holds a diverged
    batch. With both, the resolution rule can be applied to each resample."""
    m1, s1 = _boot_runs(ref, rng, n_boot)
    m2, s2 = _boot_runs(other, rng, n_boot)
    finite = np.isfinite(m1 - m2).all(1)
    diff, se = _gap(m1[:, -1], s1[:, -1], m2[:, -1], s2[:, -1], relative)
    return np.where(finite, diff, np.nan), np.where(finite, se, np.nan)


def resolved_slopes(lrs, errors, ses, resolve_ratio: float) -> np.ndarray:
    """(n_boot,) least-squares slopes of log error against log lr, each over the points that
    resample resolves (error > ``resolve_ratio`` standard errors); NaN where fewer than two.
    ``errors`` and ``ses``: (n_boot, points)."""
    use = resolved(errors, ses, resolve_ratio)
    n = use.sum(1)
    x = np.broadcast_to(np.log(np.asarray(lrs, float)), errors.shape)
    y = np.log(np.where(use, errors, 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = (use * x).sum(1) / n
        ym = (use * y).sum(1) / n
        xc, yc = use * (x - xm[:, None]), use * (y - ym[:, None])
        slope = (xc * yc).sum(1) / (xc ** 2).sum(1)
    return np.where(n >= 2, slope, np.nan)


# The declared asymptotic rule (config/README.md): a point is in the regime while the fitted
# correction changes its error by at most e^REGIME (28%), and the fit has FIT_POINTS coefficients.
REGIME = 0.25
FIT_POINTS = 3


def resolved(errors, ses, resolve_ratio: float) -> np.ndarray:
    """The resolution rule: finite, positive and above ``resolve_ratio`` standard errors."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(errors) & (errors > resolve_ratio * ses) & (errors > 0)


def asymptotic_orders(lrs, errors, use) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The asymptotic rule, vectorised over rows: fit log e = a + q log lr + c lr over the points
    ``use`` marks; while a kept point has |c| lr > REGIME, drop the largest kept lr and refit.
    ``lrs`` (P,), ``errors`` and ``use`` (R, P). Returns q and c (R,), NaN where fewer than
    FIT_POINTS points are left, and the points kept (R, P)."""
    lrs = np.asarray(lrs, float)
    X = np.stack([np.ones_like(lrs), np.log(lrs), lrs], 1)                  # (P, 3)
    y = np.log(np.where(use, errors, 1.0))
    kept = use.copy()
    for _ in range(len(lrs)):
        ok = kept.sum(1) >= FIT_POINTS
        A = np.einsum("rp,pi,pj->rij", kept.astype(float), X, X)
        A[~ok] = np.eye(3)
        b = np.einsum("rp,pi->ri", kept * y, X)
        coef = np.linalg.solve(A, b[..., None])[..., 0]
        q, c = np.where(ok, coef[:, 1], np.nan), np.where(ok, coef[:, 2], np.nan)
        far = ok & (kept & (np.abs(c)[:, None] * lrs > REGIME)).any(1)
        if not far.any():
            break
        largest = np.argmax(np.where(kept, lrs, -np.inf), 1)
        kept[far, largest[far]] = False
    done = kept.sum(1) >= FIT_POINTS
    return np.where(done, q, np.nan), np.where(done, c, np.nan), kept & done[:, None]


def local_slopes(lrs, errors, use) -> list[float]:
    """Slopes of log error against log lr between consecutive learning rates (ascending), NaN
    where either point is unresolved."""
    lrs, errors = np.asarray(lrs, float), np.asarray(errors, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        slopes = np.diff(np.log(errors)) / np.diff(np.log(lrs))
    return [float(v) if use[i] and use[i + 1] else np.nan for i, v in enumerate(slopes)]


def error_points(cells, methods, resolve_ratio: float = 3.0, kind: str = "mean") -> pd.DataFrame:
    """One row per (method, l, g, keep_prob, lr): error at the horizon and its se, resolved,
    diverged (with the number of diverged paths of dropout and of the method), and the maximum
    over the recorded times with its time (``error_max``, ``t_max``). ``kind`` (``KINDS``): the
    means of the test functions, or the fluctuations with relative errors."""
    source, names, relative = KINDS[kind]
    rows = []
    for cell in cells:
        ref = cell[source].get(DROPOUT)
        for method in methods:
            if ref is None or method not in cell[source]:
                continue
            err, se, worst, at = weak_error(ref, cell[source][method], relative)
            saved = (variance_ratio(cell, method) if kind == "mean"
                     else np.full(len(names), np.nan))
            for k, g in enumerate(names):
                finite = bool(np.isfinite(err[k]))
                rows.append({"method": method.name, "l": method.l, "g": g,
                             "keep_prob": cell["keep_prob"],
                             "lr": cell["lr"], "error": err[k], "se": se[k],
                             "error_max": worst[k], "t_max": float(cell["times"][at[k]]),
                             "diverged": not finite,
                             "diverged_paths_dropout": cell["diverged"].get(DROPOUT, 0),
                             "diverged_paths_method": cell["diverged"].get(method, 0),
                             "resolved": bool(resolved(err[k], se[k], resolve_ratio)),
                             "variance_ratio": saved[k]})
    return pd.DataFrame(rows)


def bootstrap_stream(seed: int, kind: str = "mean") -> dict:
    """The named stream of the weak-order bootstrap of one kind of statistic (the figure and the
    table of one fit draw the same resamples, so they show the same interval)."""
    return {"purpose": "bootstrap" if kind == "mean" else f"bootstrap_{kind}", "seed": seed}


def _interval(point: float, boots: np.ndarray) -> tuple[float, float, float]:
    """(lo, hi, share): the 2.5-97.5% range of the finite bootstrap orders and the share of
    resamples that gave one; no interval without a point estimate."""
    share = float(np.isfinite(boots).mean())
    boots = boots[np.isfinite(boots)]
    if not boots.size or not np.isfinite(point):
        return np.nan, np.nan, share
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return float(lo), float(hi), share


def _fits(sel: pd.DataFrame, lrs_all, boot_errors, boot_ses, resolve_ratio: float) -> dict:
    """One fit's columns: the asymptotic rule's order (primary), the plain power law's, the
    local slopes and the bootstrap intervals of both. ``sel``: the fit's points by ascending lr;
    ``boot_errors``, ``boot_ses``: (n_boot, points) at the same lrs."""
    use, errors, lrs = sel.resolved.to_numpy(), sel.error.to_numpy(), sel.lr.to_numpy()
    q, c, kept = asymptotic_orders(lrs, errors[None], use[None])
    boot_q = asymptotic_orders(lrs_all, boot_errors, resolved(boot_errors, boot_ses,
                                                              resolve_ratio))[0]
    lo, hi, share = _interval(q[0], boot_q)
    power = fits.fit_slope(lrs[use], errors[use], min_points=2)
    p_lo, p_hi, _ = _interval(power, resolved_slopes(lrs_all, boot_errors, boot_ses,
                                                     resolve_ratio))
    dropped = use & ~kept[0] if np.isfinite(q[0]) else np.zeros_like(use)
    return {"order": q[0], "order_lo": lo, "order_hi": hi, "correction": c[0],
            "points_used": int(kept[0].sum()), "points_resolved": int(use.sum()),
            "points": len(sel), "lrs": " ".join(f"{v:g}" for v in lrs[kept[0]]),
            "outside_regime": " ".join(f"{v:g}" for v in lrs[dropped]),
            "bootstrap_fitted": share, "order_power": power, "order_power_lo": p_lo,
            "order_power_hi": p_hi,
            "local_slopes": " ".join(f"{v:.2f}" for v in local_slopes(lrs, errors, use))}


def order_table(cells, methods, n_boot: int = 400, seed: int = 0,
                resolve_ratio: float = 3.0, kind: str = "mean") -> pd.DataFrame:
    """Fitted weak order (the asymptotic rule, and the plain power law beside it) with bootstrap
    95% intervals per (method, l, g, keep_prob); ``kind`` as in ``error_points`` (each kind
    draws its resamples from its own stream)."""
    source, names, relative = KINDS[kind]
    points = error_points(cells, methods, resolve_ratio, kind)
    if points.empty:
        return pd.DataFrame()
    rng = streams.stream(**bootstrap_stream(seed, kind))
    rows = []
    by_p = {}
    for cell in cells:
        by_p.setdefault(cell["keep_prob"], []).append(cell)
    for p, group in sorted(by_p.items()):
        group = sorted(group, key=lambda c: c["lr"])
        for method in methods:
            if not all(method in c[source] and DROPOUT in c[source] for c in group):
                continue
            pts = select(points, method)
            pts = pts[pts.keep_prob == p]
            # every cell resampled, the resolution rule then applied to each resample: the
            # interval carries the selection of the points it fits
            drawn = [boot_points(c[source][DROPOUT], c[source][method], rng, n_boot, relative)
                     for c in group]
            errs, ses = (np.stack(a, axis=1) for a in zip(*drawn))     # (n_boot, cells, G)
            lrs_all = np.array([c["lr"] for c in group])
            for k, g in enumerate(names):
                sel = pts[pts.g == g].sort_values("lr")
                rows.append({"method": method.name, "l": method.l, "g": g, "keep_prob": p,
                             **_fits(sel, lrs_all, errs[:, :, k], ses[:, :, k], resolve_ratio),
                             "variance_ratio_min": sel.variance_ratio.min(),
                             "variance_ratio_max": sel.variance_ratio.max()})
    return pd.DataFrame(rows)


MONTE_CARLO, EXACT = "two-layer net (Monte Carlo)", "linear regression (exact)"
LINEAR_MC = "linear regression (Monte Carlo)"
EXACT_AT_MC = "linear regression (exact, the Monte Carlo lrs)"


def predicted(method: str, g: str | None = None) -> int:
    """The weak order the theory predicts: 2 for the order-2 SME; 1 for the order-1 SME, SVAG
    and the noise-free flows (which miss the diffusion's O(lr) contribution to the means).

    For a fluctuation (``FLUCTUATIONS``, relative error) 0 for the flows (without noise they
    have none: a relative error of 1 at every lr) and 1 for both SMEs and SVAG: the fluctuation
    is O(lr), the order-1 SME's absolute error of it O(lr^2) (its drift's O(lr) error shifts
    E|theta|^2 and |E theta|^2 alike), and weak order 2 bounds the order-2 SME's by O(lr^2)
    too, a relative O(lr) (config/README.md: the issue expected one order more; the exact case
    has 1.00 for both)."""
    if g in FLUCTUATIONS:
        return 0 if method in ("gf", "gf2") else 1
    return 2 if method == "sme2" else 1


def methods_of(cells) -> list[Method]:
    """The compared methods present in every cell: the SMEs, SVAG (by l), then the controls."""
    present = set.intersection(*(set(c["methods"]) for c in cells)) - {DROPOUT}
    order = {"sme1": 0, "sme2": 1, "svag": 2, "gf": 3, "gf2": 4}
    return sorted(present, key=lambda m: (order[m.name], m.l))


def monte_carlo_orders(cells, n_boot: int, seed: int, resolve_ratio: float) -> pd.DataFrame:
    """``order_table`` of every method present in all cells, for both kinds (``KINDS``)."""
    methods = methods_of(cells)
    return pd.concat([order_table(cells, methods, n_boot, seed, resolve_ratio, kind)
                      for kind in KINDS], ignore_index=True)


def order_report(cells, exact_orders: pd.DataFrame, n_boot: int, seed: int,
                 resolve_ratio: float, linear_cells=()) -> pd.DataFrame:
    """Table 2: the fitted orders of the two-layer cells (``order_table``), of the exactly
    solvable reference (``sme.exact``: no interval, every lr used; its ``grid`` column: at its
    own lrs, or at those of its Monte Carlo runs) and, with ``linear_cells`` (``sme.linear``),
    of the same reference through the Monte Carlo code, each with its prediction."""
    parts = [monte_carlo_orders(cells, n_boot, seed, resolve_ratio).assign(case=MONTE_CARLO)]
    if len(linear_cells):
        parts.append(monte_carlo_orders(linear_cells, n_boot, seed, resolve_ratio)
                     .assign(case=LINEAR_MC))
    ex = exact_orders.assign(l=0, order_lo=exact_orders.order, order_hi=exact_orders.order)
    grid = ex.pop("grid") if "grid" in ex else pd.Series("exact", index=ex.index)
    parts.append(ex.assign(case=np.where(grid == "exact", EXACT, EXACT_AT_MC)))
    table = pd.concat(parts, ignore_index=True)
    table["predicted"] = [predicted(m, g) for m, g in zip(table.method, table.g)]
    first = ["case", "method", "l", "predicted", "g", "keep_prob", "order", "order_lo", "order_hi"]
    return table[first + [c for c in table.columns if c not in first]]

