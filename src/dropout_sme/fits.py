"""The fits that jobs and figures share: a log-log slope (``fit_slope``: the noise-structure
relations, the weak orders) and the trajectory data's drift handlings (``trajectory_fit``,
docs/spec.md §1.6). Kept apart from ``stats`` so that the noise jobs and E1's exact reference
depend on these lines only."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def fit_slope(x, y, min_points: int = 3) -> float:
    """Least-squares slope of log y against log x over the finite, positive pairs; NaN when
    fewer than ``min_points`` remain."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < min_points:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


# Trajectory data (noise.trajectory): the directions of the raw window's PCA, of the
# detrended window's and of its deviation from the noise-free reference, and how each drift
# handling fits them (fluctuation first: the declared primary handling).
RAW, DETRENDED, FLUCTUATION = "trajectory", "trajectory_detrended", "trajectory_fluctuation"
DRIFTS = ("fluctuation", "exclude_pc1", "detrend", "none")


class Relation(NamedTuple):
    """A fitted noise-structure relation: log ``y`` against log ``x`` over directions of ``kind``
    from the ``first``."""
    kind: str
    x: str
    y: str
    name: str
    first: int = 0


def trajectory_fit(drift: str) -> Relation:
    """The variance-flatness relation of trajectory data under a drift handling: ``fluctuation``
    (the deviation from the noise-free reference path, all components), ``exclude_pc1`` (Feng &
    Tu: the raw window's components i >= 2), ``detrend`` (the detrended window's, all) or
    ``none`` (the raw window's, all)."""
    if drift not in DRIFTS:
        raise ValueError(f"unknown drift handling {drift!r}: one of {', '.join(DRIFTS)}")
    kind, first = {"fluctuation": (FLUCTUATION, 0), "exclude_pc1": (RAW, 1),
                   "detrend": (DETRENDED, 0), "none": (RAW, 0)}[drift]
    return Relation(kind, "width", "variance", "variance-flatness, trajectory data", first)


