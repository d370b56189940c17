"""Summaries over seeds (mean and a 95% Student-t interval) and fitted log-log slopes: the
noise-structure relations of the directions tables (``slopes``, ``relation_slopes``) and the
SME's weak order (``weak.order_table``). Free of torch, so the notebooks start without it."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats


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
    half = stats.t.ppf(0.5 + level / 2, n - 1) * v.std(ddof=1) / np.sqrt(n)
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


def fit_slope(x, y, min_points: int = 3) -> float:
    """Least-squares slope of log y against log x over the finite, positive pairs; NaN when
    fewer than ``min_points`` remain."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < min_points:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def slopes(directions: pd.DataFrame, kind: str, factor: float, x: str = "width",
           y: str = "variance", top: int | None = None) -> pd.DataFrame:
    """Per seed and setting: the least-squares slope of log y against log x over the top
    directions of one kind (flagged directions, whose width is NaN, left out), with the count."""
    d = directions[(directions["kind"] == kind) & np.isclose(directions["factor"], factor)]
    if top is not None:
        d = d[d["index"] < top]
    rows = []
    for (setting, seed), g in d.groupby(["setting", "seed"], sort=True):
        rows.append({"setting": setting, "keep_prob": g["keep_prob"].iloc[0],
                     "lr": g["lr"].iloc[0], "seed": seed, "kind": kind, "factor": factor,
                     "slope": fit_slope(g[x], g[y]), "used": int((~g["flagged"]).sum()),
                     "flagged": int(g["flagged"].sum())})
    return pd.DataFrame(rows)


class Relation(NamedTuple):
    """A fitted noise-structure relation: log ``y`` against log ``x`` over directions of ``kind``."""
    kind: str
    x: str
    y: str
    name: str


RELATIONS = {
    "vf_trajectory": Relation("trajectory", "width", "variance",
                              "variance-flatness, trajectory data"),
    "vf_gradient": Relation("gradient", "width", "variance", "variance-flatness, gradient data"),
    "hv_gradient": Relation("hessian", "eigenvalue", "variance",
                            "Hessian-variance, gradient data (u'Su)"),
    "hv_trajectory": Relation("hessian", "eigenvalue", "traj_variance",
                              "Hessian-variance, trajectory data"),
    "flatness_eigenvalue": Relation("hessian", "eigenvalue", "width",
                                    "flatness along u against eigenvalue"),
}


def relation_slopes(directions: pd.DataFrame, factor: float,
                    top: int | None = None) -> pd.DataFrame:
    """Per setting, seed and relation (``RELATIONS``): the fitted log-log slope."""
    frames = []
    for kind, x, y, name in RELATIONS.values():
        s = slopes(directions, kind, factor, x=x, y=y, top=top)
        s["relation"] = name
        frames.append(s)
    return pd.concat(frames, ignore_index=True)
