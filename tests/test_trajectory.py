"""Trajectory data by Feng & Tu's protocol (noise.trajectory): detrending, the variances along
directions, the window's diagnosis, and a synthetic drift + Ornstein-Uhlenbeck window whose
variance-flatness exponent is known: the drift corrupts the raw fit, exclude_pc1 and detrend
recover the exponent."""

import numpy as np
import pandas as pd
import pytest
import torch

from dropout_sme.noise import trajectory
from dropout_sme.report import stats


def test_detrend_removes_exactly_a_line_in_time():
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(50, 6, generator=gen, dtype=torch.float64)
    t = torch.arange(50, dtype=torch.float64)[:, None]
    line = 3.0 + t * torch.tensor([0.5, -2.0, 0.0, 1.0, 0.1, 7.0], dtype=torch.float64)
    assert torch.allclose(trajectory.detrend(noise + line), trajectory.detrend(noise), atol=1e-10)
    assert torch.allclose(trajectory.detrend(line), torch.zeros(50, 6, dtype=torch.float64),
                          atol=1e-9)
    residual = trajectory.detrend(noise)
    centred_t = t[:, 0] - t.mean()
    assert torch.allclose(centred_t @ residual, torch.zeros(6, dtype=torch.float64), atol=1e-9)


def test_variance_along_directions_agrees_with_the_pca():
    """Along the window's own PCA directions the raw variance is the PCA variance; with the first
    component projected out it is 0 along PC1 and unchanged along the others."""
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(400, 8, generator=gen, dtype=torch.float64) * torch.arange(1, 9)
    window = trajectory.Window(X, 8)
    var, vec = window.components[trajectory.RAW]
    along = window.variance_along(vec)
    assert along["traj_variance"] == pytest.approx(var, rel=1e-9)
    assert along["traj_variance_no_pc1"][0] == pytest.approx(0, abs=1e-9)
    assert along["traj_variance_no_pc1"][1:] == pytest.approx(var[1:], rel=1e-9)


def drift_ou_window(drift: float, steps: int = 4000, seed: int = 0):
    """A window of gradient descent with isotropic-in-F noise on the quadratic loss
    L = L0 + sum_i h_i x_i^2 / 2 (x in the Hessian's eigenbasis, rotated), with noise variance
    D_i = h_i^3 per step, so the stationary variance sigma_i^2 ~ D_i / (2 lr h_i) ~ h_i^2 ~
    F_i^-4 (psi = 4). With ``drift`` > 0 the flattest direction has no restoring force and a
    constant velocity instead (Feng & Tu's drift: a slow direction along which the weights keep
    moving)."""
    rng = np.random.default_rng(seed)
    B, lr = 12, 0.1
    h = np.geomspace(0.05, 2.0, B)
    rotation, _ = np.linalg.qr(rng.normal(size=(B, B)))
    restoring = h.copy()
    restoring[0] = 0.0 if drift else h[0]              # h[0] is the flattest direction
    x, out = np.zeros(B), []
    for _ in range(steps):
        x = x - lr * restoring * x + lr * np.sqrt(h ** 3) * rng.normal(size=B)
        x[0] += drift
        out.append(rotation @ x)
    H = rotation @ np.diag(h) @ rotation.T
    return torch.from_numpy(np.array(out)), H


def widths(H, directions, loss0=1.0, factor=2.0):
    """The quadratic's interval flatness along unit directions: L0 + v'Hv t^2 / 2 = c L0."""
    curvature = np.einsum("bi,bc,ci->i", directions, H, directions)
    return 2 * np.sqrt(2 * (factor - 1) * loss0 / curvature)


def slope(window, H, drift):
    fit = stats.trajectory_fit(drift)
    var, vec = trajectory.Window(window, 12).components[fit.kind]
    return stats.fit_slope(widths(H, vec.numpy())[fit.first:], var[fit.first:])


def test_synthetic_drift_and_ou_window():
    """The drift dominates the raw window's first component and its diagnosis; exclude_pc1 and
    detrend recover psi = 4 within 0.5; the raw fit misses it. Without the drift every handling
    recovers it and the diagnosis sees no trend (the fixture that must fail the drift check)."""
    window, H = drift_ou_window(drift=0.01)
    d = trajectory.Window(window, 1).diagnose()
    assert d["trend_fraction"] > 0.9 and d["pc1_displacement_cos"] > 0.99
    assert d["pc1_fraction"] > 0.9
    assert slope(window, H, "exclude_pc1") == pytest.approx(-4, abs=0.5)
    assert slope(window, H, "detrend") == pytest.approx(-4, abs=0.5)
    assert abs(slope(window, H, "none") + 4) > 1.0

    still, H = drift_ou_window(drift=0.0)
    d = trajectory.Window(still, 1).diagnose()
    assert d["trend_fraction"] < 0.1
    for drift in ("exclude_pc1", "detrend", "none"):    # fluctuation: tests/test_fluctuation.py
        assert slope(still, H, drift) == pytest.approx(-4, abs=0.5)


def test_training_window_reads_the_nearest_evaluations():
    m = pd.DataFrame({"step": [0, 20, 40, 60, 0, 20, 40, 60], "seed": [0] * 4 + [1] * 4,
                      "train_loss": [2.0, 1.0, 0.8, 0.6, 2.0, 1.0, 0.5, 0.25],
                      "train_acc": [0.1, 0.9, 0.95, 1.0, 0.1, 0.9, 1.0, 1.0]})
    w = trajectory.training_window(m, 1, 21, 59)
    assert (w["loss_start"], w["loss_end"], w["acc_start"]) == (1.0, 0.25, 0.9)
    assert w["loss_change"] == pytest.approx(0.75)
