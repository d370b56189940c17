"""Summaries over seeds (mean and a 95% Student-t interval) and fitted log-log slopes: the
noise-structure relations of the directions tables (``slopes``, ``relation_slopes``), the paired
differences and the exploration rule of the trajectory windows. Free of torch, so the notebooks
start without it. The fit itself and the drift handlings are in ``fits``, which the noise jobs
and the weak orders import without this module (an edit here reruns the figures only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
# Student t quantiles: what scipy.stats.t.ppf calls, without importing scipy.stats in every table
from scipy.special import stdtrit

from ..fits import DETRENDED, DRIFTS, FLUCTUATION, RAW, Relation, fit_slope, trajectory_fit

__all__ = ["DETRENDED", "DRIFTS", "FLUCTUATION", "RAW", "Relation", "fit_slope", "trajectory_fit",
           "mean_ci", "summarize", "paired_differences", "slopes", "relations", "relation_slopes",
           "exploration"]


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, lower, upper) of the t-interval for the mean; a single value gives a NaN interval."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = v.size
    if n == 0:
        return (np.nan, np.nan, np.nan)
    m = float(v.mean())
    if n < 2:
        return (m, np.nan, np.nan)
    half = stdtrit(n - 1, 0.5 + level / 2) * v.std(ddof=1) / np.sqrt(n)
    return (m, m - half, m + half)


def summarize(frame: pd.DataFrame, by: list[str], columns: list[str],
              level: float = 0.95) -> pd.DataFrame:
    """Long frame -> one row per group with <col>_mean, <col>_lo, <col>_hi and n (the seeds)."""
    rows = []
    for key, group in frame.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key), n=len(group))
        for c in columns:
            row[f"{c}_mean"], row[f"{c}_lo"], row[f"{c}_hi"] = mean_ci(group[c], level)
        rows.append(row)
    return pd.DataFrame(rows)


def paired_differences(frame: pd.DataFrame, columns, against: str = "no dropout"
                       ) -> pd.DataFrame:
    """Per (keep_prob, lr): the difference dropout minus the run ``against`` of each column,
    paired by seed (``run`` names the runs), as diff_<column>_mean, _lo, _hi and the number of
    ``pairs``."""
    rows = []
    for (p, lr), g in frame.groupby(["keep_prob", "lr"]):
        wide = g.pivot_table(index="seed", columns="run", values=list(columns))
        row = {"keep_prob": p, "lr": lr}
        for c in columns:
            diff = (wide[(c, "dropout")] - wide[(c, against)]).dropna()
            row[f"diff_{c}_mean"], row[f"diff_{c}_lo"], row[f"diff_{c}_hi"] = mean_ci(diff)
        row["pairs"] = int(wide[[(columns[0], "dropout"), (columns[0], against)]].notna().all(
            axis=1).sum())                                    # seeds with both runs measured
        rows.append(row)
    return pd.DataFrame(rows)


SLOPE_COLUMNS = ["setting", "keep_prob", "lr", "seed", "kind", "factor", "slope", "used", "flagged"]


def slopes(directions: pd.DataFrame, kind: str, factor: float, x: str = "width",
           y: str = "variance", top: int | None = None, first: int = 0) -> pd.DataFrame:
    """Per seed and setting: the least-squares slope of log y against log x over the directions
    ``first`` to ``top`` - 1 of one kind (flagged directions, whose width is NaN, left out), with
    the count. No rows (a kind the run has none of, e.g. no fluctuation for an Adam run): an
    empty frame with the same columns."""
    d = directions[(directions["kind"] == kind) & np.isclose(directions["factor"], factor)]
    d = d[d["index"] >= first]
    if top is not None:
        d = d[d["index"] < top]
    rows = []
    for (setting, seed), g in d.groupby(["setting", "seed"], sort=True):
        rows.append({"setting": setting, "keep_prob": g["keep_prob"].iloc[0],
                     "lr": g["lr"].iloc[0], "seed": seed, "kind": kind, "factor": factor,
                     "slope": fit_slope(g[x], g[y]), "used": int((~g["flagged"]).sum()),
                     "flagged": int(g["flagged"].sum())})
    return pd.DataFrame(rows, columns=SLOPE_COLUMNS)


def relations(drift: str = "exclude_pc1") -> dict[str, Relation]:
    """The fitted relations, the trajectory data's under the drift handling ``drift`` (the
    Hessian-variance relation of trajectory data takes the window's variance along u_i after the
    same handling)."""
    vf_trajectory = trajectory_fit(drift)
    along = {"fluctuation": "traj_variance_fluctuation", "exclude_pc1": "traj_variance_no_pc1",
             "detrend": "traj_variance_detrended", "none": "traj_variance"}[drift]
    return {
        "vf_trajectory": vf_trajectory,
        "vf_gradient": Relation("gradient", "width", "variance",
                                "variance-flatness, gradient data"),
        "hv_gradient": Relation("hessian", "eigenvalue", "variance",
                                "Hessian-variance, gradient data (u'Su)"),
        "hv_trajectory": Relation("hessian", "eigenvalue", along,
                                  "Hessian-variance, trajectory data"),
        "flatness_eigenvalue": Relation("hessian", "eigenvalue", "width",
                                        "flatness along u against eigenvalue"),
    }


def relation_slopes(directions: pd.DataFrame, factor: float, top: int | None = None,
                    drift: str = "exclude_pc1") -> pd.DataFrame:
    """Per setting, seed and relation (``relations(drift)``): the fitted log-log slope."""
    frames = []
    for kind, x, y, name, first in relations(drift).values():
        s = slopes(directions, kind, factor, x=x, y=y, top=top, first=first)
        s["relation"] = name
        frames.append(s)
    return pd.concat(frames, ignore_index=True)


def exploration(diagnosis: pd.DataFrame, rule: dict) -> pd.Series:
    """Feng & Tu's exploration phase by the declared ``rule`` (``noise.trajectory.exploration``):
    the dropout-free training accuracy at least ``min_train_acc`` at both ends of the window (NaN
    for regression: no condition) and the training loss's relative change over the window at
    most ``max_loss_change``."""
    acc = np.minimum(diagnosis["acc_start"], diagnosis["acc_end"])
    return ((acc >= rule["min_train_acc"]) | acc.isna()) & (
        diagnosis["loss_change"] <= rule["max_loss_change"])
