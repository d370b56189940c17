"""Summaries over seeds: mean and a 95% Student-t interval."""

from __future__ import annotations

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
