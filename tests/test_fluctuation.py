"""The fluctuation protocol of trajectory data (noise.drift: fluctuation) on a synthetic window
whose answer is known: a deterministic curved path plus Ornstein-Uhlenbeck noise with per-axis
stationary variances F_i^-psi on a quadratic landscape whose interval flatness along axis i is
F_i. Subtracting the path recovers psi; Feng & Tu's exclude_pc1 on the raw window does not: the
path's curvature sits in its second and third components, along sharp directions, and reads as
a steeper relation (what the default run's noise-free control showed, issue 25). Also the reference paths of
``noise.paths`` and the claims' controls."""

import numpy as np
import pandas as pd
import pytest
import torch

from dropout_sme import fits, models, noise
from dropout_sme.noise.flatness import interval_flatness
from dropout_sme.noise.paths import continue_run
from dropout_sme.noise.trajectory import Window
from dropout_sme.report import claims, tables

PSI = 3.0
WIDTHS = np.array([0.8, 1.2, 1.7, 2.5, 3.5, 5.0, 7.0, 10.0])
L0 = 0.1


def synthetic_window(T=4000, rho=0.9, amplitude=10.0, seed=0):
    rng = np.random.default_rng(seed)
    B = len(WIDTHS)
    sd = WIDTHS ** (-PSI / 2)
    x, noise_path = np.zeros(B), np.empty((T, B))
    for t in range(T):
        x = rho * x + np.sqrt(1 - rho ** 2) * sd * rng.standard_normal(B)
        noise_path[t] = x
    u = np.eye(B)[:, [7, 0, 1, 2]]    # a net velocity along the flattest axis, curvature along sharp ones
    s = np.linspace(0, 1, T)[:, None]
    path = amplitude * (s * u[:, 0] + s ** 2 * u[:, 1] + np.sin(3 * np.pi * s) * u[:, 2]
                        + np.sin(5 * np.pi * s) * u[:, 3])
    return torch.from_numpy(path + noise_path), torch.from_numpy(path)


def quadratic_line_loss(directions):
    """L(theta* + t v) = L0 + t^2 sum_i k_i v_i^2 with k_i = 4 L0 / F_i^2: the interval
    flatness at factor 2 along axis i is F_i."""
    k = 4 * L0 / WIDTHS ** 2
    curvature = torch.as_tensor((np.asarray(directions) ** 2 * k[:, None]).sum(0))

    def line(t, rows=None):
        c = curvature if rows is None else curvature[rows]
        return L0 + torch.as_tensor(t) ** 2 * c[:, None]
    return line


def slope(window, drift):
    kind, _, _, _, first = fits.trajectory_fit(drift)
    var, vecs = window.components[kind]
    width = interval_flatness(quadratic_line_loss(vecs.numpy()), L0, [2.0], 100.0)[2.0]["width"]
    return fits.fit_slope(width[first:], np.asarray(var)[first:])


def test_axis_flatness_is_the_declared_width():
    width = interval_flatness(quadratic_line_loss(np.eye(len(WIDTHS))), L0, [2.0], 100.0)
    assert np.allclose(width[2.0]["width"], WIDTHS, rtol=1e-6)


def test_fluctuation_recovers_the_noise_slope_and_exclude_pc1_does_not():
    samples, path = synthetic_window()
    window = Window(samples, len(WIDTHS), path)
    assert slope(window, "fluctuation") == pytest.approx(-PSI, abs=0.3)
    assert slope(window, "exclude_pc1") < -PSI - 1.0          # drift read as a steeper relation
    # the noise alone (no path) is what the fluctuation protocol sees
    alone = Window(samples - path, len(WIDTHS))
    assert slope(alone, "none") == pytest.approx(slope(window, "fluctuation"), abs=1e-6)


def test_a_window_equal_to_its_reference_has_no_fluctuation():
    _, path = synthetic_window(T=200)
    window = Window(path, 4, path)
    assert np.all(np.asarray(window.components[fits.FLUCTUATION][0]) == 0)
    assert np.isnan(slope(window, "fluctuation"))


def tiny_problem():
    model = {"arch": "fnn", "hidden": [6, 5], "activation": "relu"}
    gen = torch.Generator().manual_seed(0)
    params = models.init_params(model, 4, 3, gen)
    x = torch.randn(30, 4, generator=gen)
    y = torch.randint(0, 3, (30,), generator=gen)
    return noise.Problem.of(model, params, x, y, "cross_entropy", "w2")


@pytest.mark.parametrize("mask", ["per_sample", "per_step"])
def test_mean_field_path_without_dropout_is_full_batch_gd(mask):
    problem = tiny_problem()
    gd = continue_run(problem, 0.1, 6, None)
    kept = continue_run(problem, 0.1, 6, np.random.default_rng(0), dropout=(1.0, mask, 3))
    assert torch.allclose(gd, kept, atol=1e-6)


def test_mean_field_path_shrinks_the_fluctuation_with_more_masks():
    """Paths of M masks a step scatter about the mean-field path with variance ~ 1/M."""
    problem = tiny_problem()

    def spread(M):
        runs = torch.stack([continue_run(problem, 0.2, 20, np.random.default_rng(s),
                                         dropout=(0.7, "per_sample", M)) for s in range(12)])
        return float(runs[:, -1].var(0).sum())
    assert spread(16) < spread(1) / 4


def control_frame(iso, free):
    rows = []
    for seed, (a, b) in enumerate(zip(iso, free)):
        rows += [{"keep_prob": 0.8, "lr": 0.1, "seed": seed, "noise": "gaussian",
                  "slope_trajectory_fluctuation": a},
                 {"keep_prob": 0.8, "lr": 0.1, "seed": seed, "noise": "none",
                  "slope_trajectory_fluctuation": b},
                 {"keep_prob": 0.8, "lr": 0.1, "seed": seed, "noise": "positive_control",
                  "slope_trajectory_fluctuation": -4.0 + 0.1 * seed, "batch": 50,
                  "control_lr": 0.1}]
    return pd.DataFrame(rows)


def slopes_table(values):
    m, lo, hi = np.mean(values), min(values) - 0.1, max(values) + 0.1
    return pd.DataFrame([{"keep_prob": 0.8, "lr": 0.1, "relation": "variance-flatness, "
                          "trajectory data", "role": "main", "slope_mean": m, "slope_lo": lo,
                          "slope_hi": hi}])


def dropout_seeds(values):
    return pd.DataFrame({"keep_prob": 0.8, "lr": 0.1, "seed": range(len(values)),
                         "slope": values})


def items(row, status):
    return [] if row[status] == "—" else row[status].split("; ")


def test_claim2_pairs_dropout_with_isotropic_noise_and_can_fail():
    drop = [-3.0, -3.2, -2.9]
    below = claims.variance_flatness(slopes_table(drop), None,
                                     control_frame([-1.0, -1.2, -0.8], [np.nan] * 3),
                                     "fluctuation", dropout_seeds(drop))
    assert below["verdict"] == "reproduced" and "isotropic" in below["holds"]
    above = claims.variance_flatness(slopes_table(drop), None,
                                     control_frame([-5.0, -5.3, -4.8], [np.nan] * 3),
                                     "fluctuation", dropout_seeds(drop))
    assert above["verdict"] == "partly" and "isotropic" in above["fails"]


def test_claim2_trajectory_item_is_undecided_where_the_noise_free_run_passes():
    drop = [-3.0, -3.2, -2.9]
    row = claims.variance_flatness(slopes_table(drop), None,
                                   control_frame([-1.0, -1.2, -0.8], [-8.0, -9.0, -7.5]),
                                   "fluctuation", dropout_seeds(drop))
    assert "noise-free run passes" in row["undecided"]
    assert len(items(row, "holds")) == 1            # the paired item alone


def test_anchor_is_printed_only_where_the_positive_control_recovers_it():
    frame = control_frame([-1.0] * 3, [np.nan] * 3)
    assert "it recovers Feng & Tu's psi ~ 4" in tables.anchor(frame, "fluctuation")
    frame.loc[frame.noise == "positive_control", "slope_trajectory_fluctuation"] = -6.0
    assert "does not recover" in tables.anchor(frame.assign(
        slope_trajectory_fluctuation=frame.slope_trajectory_fluctuation
        + np.arange(len(frame)) * 0.01), "fluctuation")
    assert "not checked" in tables.anchor(None, "fluctuation")


def test_the_diagnosis_reports_the_drift_a_reference_leaves():
    """An exact reference leaves no trend in the deviation; one that misses a slow drift (as the
    mean-field path misses dropout's O(lr) mean correction) leaves it, and the diagnosis says so."""
    samples, path = synthetic_window()
    exact = Window(samples, len(WIDTHS), path).diagnose()
    assert exact["fluctuation_trend_fraction"] < 0.05
    t = torch.linspace(0, 1, len(path), dtype=path.dtype)[:, None]
    missed = Window(samples, len(WIDTHS), path - 20.0 * t * torch.eye(len(WIDTHS))[4]).diagnose()
    assert missed["fluctuation_trend_fraction"] > 0.5
    assert np.isnan(Window(samples, len(WIDTHS)).diagnose()["fluctuation_trend_fraction"])


def test_claim2_leaves_every_trajectory_item_undecided_outside_the_exploration_phase():
    drop = [-3.0, -3.2, -2.9]
    windows = pd.DataFrame({"keep_prob": 0.8, "lr": 0.1, "seed": [0, 1, 2],
                            "exploration": [True, False, True]})
    row = claims.variance_flatness(slopes_table(drop), windows,
                                   control_frame([-1.0, -1.2, -0.8], [np.nan] * 3),
                                   "fluctuation", dropout_seeds(drop))
    assert row["holds"] == "—" and row["verdict"] == "undecided"
    assert row["undecided"].count("outside the exploration phase") == 2
