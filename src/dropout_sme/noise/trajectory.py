"""Trajectory data by Feng & Tu's protocol (docs/spec.md §1.6): the window's samples of the block,
its principal components with and without the drift, and the diagnosis that says whether the
window is stationary and in the exploration phase.

Feng & Tu study the variance-flatness relation on the diffusive modes: the first principal
component of a window is a drift (a net velocity along a slow direction) and is left out. The
four drift handlings (``DRIFTS``) come from three PCAs:

- ``fluctuation`` (the declared primary handling, config/README.md): the window minus its
  noise-free reference path from the same first sample (``noise.paths``), then PCA, all
  components: the noise-driven fluctuation around the deterministic flow, the SME's picture;
- ``exclude_pc1``: the raw window's PCA, fitted over the components i >= 2 (Feng & Tu's rule: the
  drift is the first component, whatever its slope);
- ``detrend``: every coordinate minus its least-squares line in time, then PCA, all components;
- ``none``: the raw window's PCA, all components.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..fits import DETRENDED, FLUCTUATION, RAW
from .estimators import pca


def detrend(samples: torch.Tensor) -> torch.Tensor:
    """(T, B) equally spaced samples -> each coordinate minus its least-squares line in time
    (float64, mean zero)."""
    X = samples.double()
    X = X - X.mean(0)
    t = torch.arange(X.shape[0], dtype=X.dtype, device=X.device)
    t = t - t.mean()
    return X - torch.outer(t, (t @ X) / (t @ t))


class Window:
    """One trajectory window (T, B), analysed once: centred, detrended and, with a ``reference``
    path (T, B) from the same first sample, its deviation from it (centred); the top ``top``
    principal components of each (``components``: {RAW: (variances, directions), DETRENDED: ...,
    FLUCTUATION: ...}). A deviation that is exactly zero (a noise-free run against itself) has
    no components: its variances are zero and no slope can be fitted."""

    def __init__(self, samples: torch.Tensor, top: int, reference: torch.Tensor | None = None):
        X = samples.double()
        self.centred = X - X.mean(0)
        self.detrended = detrend(X)
        self.components = {RAW: pca(self.centred, top), DETRENDED: pca(self.detrended, top)}
        self.deviation = None
        if reference is not None:
            D = X - reference.to(X)
            self.deviation = D - D.mean(0)
            self.components[FLUCTUATION] = pca(self.deviation, top)

    def variance_along(self, directions: torch.Tensor) -> dict:
        """The window's variance along each unit direction (columns) under each drift handling:
        ``traj_variance`` (raw), ``traj_variance_detrended``, ``traj_variance_no_pc1`` (the raw
        window with its first principal component projected out) and
        ``traj_variance_fluctuation`` (the deviation from the reference; NaN without one)."""
        X, n = self.centred, self.centred.shape[0] - 1
        pc1 = self.components[RAW][1][:, 0].to(X)
        no_pc1 = X - torch.outer(X @ pc1, pc1)
        D = directions.to(X)
        fluctuation = (((self.deviation @ D) ** 2).sum(0).cpu().numpy() / n
                       if self.deviation is not None else np.full(D.shape[1], np.nan))
        return {"traj_variance": ((X @ D) ** 2).sum(0).cpu().numpy() / n,
                "traj_variance_detrended": ((self.detrended @ D) ** 2).sum(0).cpu().numpy() / n,
                "traj_variance_no_pc1": ((no_pc1 @ D) ** 2).sum(0).cpu().numpy() / n,
                "traj_variance_fluctuation": fluctuation}

    def diagnose(self) -> dict:
        """Stationarity: the fraction of the window's variance that a linear trend in time
        explains, the first component's share of the variance, and |cos| between the first
        component and the net displacement (last sample minus first); with a reference, the
        fraction of the deviation's variance that a linear trend explains (what drift the
        reference left: the dropout path's mean departs from the mean-field path at O(lr))."""
        X = self.centred
        total = float((X ** 2).sum())
        residual = float((self.detrended ** 2).sum())
        var, vec = self.components[RAW]
        displacement = X[-1] - X[0]
        norm = float(displacement.norm())
        cos = abs(float(vec[:, 0].to(X) @ displacement)) / norm if norm > 0 else np.nan
        left = np.nan
        if self.deviation is not None:
            d_total = float((self.deviation ** 2).sum())
            d_residual = float((detrend(self.deviation) ** 2).sum())
            left = 1 - d_residual / d_total if d_total > 0 else np.nan
        return {"trend_fraction": 1 - residual / total if total > 0 else np.nan,
                "fluctuation_trend_fraction": left,
                "pc1_fraction": float(var[0]) * (X.shape[0] - 1) / total if total > 0 else np.nan,
                "pc1_displacement_cos": cos, "displacement": norm}


def training_window(metrics: pd.DataFrame, seed: int, start: int, end: int) -> dict:
    """The dropout-free training loss and accuracy at the evaluations nearest to the window's
    first and last step, and the loss's relative change over the window."""
    m = metrics[metrics.seed == seed].set_index("step").sort_index()
    first = m.iloc[int(np.abs(m.index - start).argmin())]
    last = m.iloc[int(np.abs(m.index - end).argmin())]
    return {"loss_start": float(first.train_loss), "loss_end": float(last.train_loss),
            "loss_change": float(abs(last.train_loss - first.train_loss) / first.train_loss),
            "acc_start": float(first.train_acc), "acc_end": float(last.train_acc)}

