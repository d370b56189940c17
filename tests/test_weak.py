"""Weak-error statistics: standard errors from batch means, and fitted orders with known answers."""

import numpy as np
import pytest

from dropout_sme.sme import weak


def test_mean_and_se_from_batch_means_match_the_paths():
    rng = np.random.default_rng(0)
    paths = rng.normal(1.0, 2.0, (1000, 3, 2))            # (paths, records, G)
    bm = paths.reshape(50, 20, 3, 2).mean(1)
    mean, se = weak.mean_se(bm, np.full(50, 20))
    np.testing.assert_allclose(mean, paths.mean(0), rtol=1e-12)
    direct = paths.std(0, ddof=1) / np.sqrt(1000)
    np.testing.assert_allclose(se, direct, rtol=0.25)       # 50 batches: se of se ~ 10%


SME2 = weak.Method("sme2")


def fake_cell(lr, p, error, noise, rng, batches=100, size=100):
    """Dropout and one method whose means differ by `error` at the last of 3 records."""
    base = np.ones((batches, 3, 3))
    ref = base + rng.normal(0, noise, base.shape)
    oth = base + rng.normal(0, noise, base.shape)
    oth[:, 2] += error
    sizes = np.full(batches, size)
    return {"keep_prob": p, "lr": lr, "times": np.array([0, 1.0, 2.0]),
            "methods": {weak.DROPOUT: (ref, sizes), SME2: (oth, sizes)}, "diverged": {}}


def test_fitted_order_recovers_a_known_slope():
    rng = np.random.default_rng(1)
    lrs = [0.4, 0.2, 0.1, 0.05]
    cells = [fake_cell(lr, 0.5, 0.3 * lr ** 2, 1e-4, rng) for lr in lrs]
    table = weak.order_table(cells, [SME2], n_boot=300, seed=0)
    row = table[table.g == "train_loss"].iloc[0]
    assert row.order == pytest.approx(2, abs=0.05)
    assert row.order_lo < 2 < row.order_hi and row.order_hi - row.order_lo < 0.3
    assert row.points_used == 4


LRS = np.array([0.025, 0.05, 0.1, 0.2])


@pytest.mark.parametrize("q, c, dropped", [(1, 1.0, []), (2, -1.5, [0.2]), (1, 3.0, [0.2]),
                                           (2, 0.3, [])])
def test_the_asymptotic_rule_recovers_the_order_and_keeps_the_regime(q, c, dropped):
    """Errors C lr^q (1 + c lr) without noise: the rule recovers q and drops exactly the points
    whose correction |c| lr exceeds the regime's bound; the plain power law over all four points
    is biased by the correction."""
    errors = 0.7 * LRS ** q * (1 + c * LRS)
    order, corr, kept = weak.asymptotic_orders(LRS, errors[None], np.ones((1, 4), bool))
    assert order[0] == pytest.approx(q, abs=0.03)
    assert sorted(LRS[~kept[0]]) == dropped
    assert abs(corr[0]) * LRS[kept[0]].max() <= weak.REGIME
    if abs(c) >= 1.5:
        plain = np.polyfit(np.log(LRS), np.log(errors), 1)[0]
        assert abs(plain - q) > 0.1


def test_the_asymptotic_rule_leaves_no_order_outside_its_regime():
    """A correction too large at every learning rate but the smallest two: no three points are in
    the regime, so there is no order (undecided), never a wrong one."""
    errors = LRS * (1 + 40 * LRS)
    order, _, kept = weak.asymptotic_orders(LRS, errors[None], np.ones((1, 4), bool))
    assert np.isnan(order[0]) and not kept.any()
    few = weak.asymptotic_orders(LRS, (LRS ** 2)[None], np.array([[False, True, True, False]]))
    assert np.isnan(few[0][0])                                  # two resolved points: no fit


def test_local_slopes_are_those_of_consecutive_resolved_points():
    errors = np.array([1e-4, 4e-4, 1.2e-3, 2e-3])
    slopes = weak.local_slopes(LRS, errors, np.array([False, True, True, True]))
    assert np.isnan(slopes[0])
    assert slopes[1] == pytest.approx(np.log2(3)) and slopes[2] == pytest.approx(np.log2(2 / 1.2))


def test_the_weak_error_is_taken_at_the_horizon_and_its_maximum_reported_beside():
    rng = np.random.default_rng(4)
    cell = fake_cell(0.1, 0.5, 0.01, 1e-6, rng)
    cell["methods"][SME2][0][:, 1] += 0.05                      # larger at t = 1 than at T = 2
    row = weak.error_points([cell], [SME2]).query("g == 'train_loss'").iloc[0]
    assert row.error == pytest.approx(0.01, rel=1e-3)
    assert row.error_max == pytest.approx(0.05, rel=1e-3) and row.t_max == 1.0


def test_unresolved_points_are_flagged_and_not_fitted():
    rng = np.random.default_rng(2)
    lrs = [0.4, 0.2, 0.1, 0.05]
    # se of the difference ~ 5e-3 * sqrt(2) / sqrt(100) = 7e-4: errors 1.6e-2, 4e-3 (5.7 se),
    # 1e-3 (1.4 se) and 2.5e-4 (0.4 se): the two small ones drown in the Monte Carlo noise
    cells = [fake_cell(lr, 0.5, 0.1 * lr ** 2, 5e-3, rng) for lr in lrs]
    points = weak.error_points(cells, [SME2])
    pts = points[points.g == "sq_norm"].sort_values("lr")
    assert pts.resolved.tolist() == [False, False, True, True]
    assert (pts.error[~pts.resolved] < 3 * pts.se[~pts.resolved]).all()
    row = weak.order_table(cells, [SME2], n_boot=100).query("g == 'sq_norm'").iloc[0]
    assert row.points_resolved == 2 and np.isfinite(row.order_power)
    assert row.points_used == 0 and np.isnan(row.order)       # the rule needs 3 points


def test_each_resample_fits_the_points_it_resolves():
    """The bootstrap applies the resolution rule to every resample: each row's slope is the fit
    over that row's resolved points (here: all three, the first two, none)."""
    lrs = np.array([0.1, 0.2, 0.4])
    errors = np.array([[0.01, 0.04, 0.16], [0.01, 0.02, 0.16], [0.01, 0.02, 0.04]])
    ses = np.array([[1e-3] * 3, [1e-3, 1e-3, 1.0], [1.0] * 3])
    slopes = weak.resolved_slopes(lrs, errors, ses, 3.0)
    assert slopes[0] == pytest.approx(2.0) and slopes[1] == pytest.approx(1.0)
    assert np.isnan(slopes[2])


def test_a_borderline_point_enters_the_interval_through_the_resamples():
    """A point near the resolution threshold is fitted in some resamples and not in others: the
    interval then spans both fits, where fitting the chosen points alone would not."""
    rng = np.random.default_rng(5)
    lrs = [0.4, 0.2, 0.1, 0.05]
    # errors 0.3 lr (order 1) except the smallest lr, whose error is at ~3 se and 4x too small
    cells = [fake_cell(lr, 0.5, 0.3 * lr if lr > 0.05 else 0.0021, 5e-3, rng) for lr in lrs]
    row = weak.order_table(cells, [SME2], n_boot=400).query("g == 'train_loss'").iloc[0]
    # the plain power law fits every resample: its interval spans the fits with and without it
    assert row.order_power_lo < 1.0 < row.order_power_hi and row.order_power_hi > 1.3
    # the asymptotic rule: with the odd point the errors leave the regime (no order), without
    # it the three others give order 1: only some resamples have an order, and that one is 1
    assert 0 < row.bootstrap_fitted < 1
    assert row.order == pytest.approx(1.0, abs=0.05) or np.isnan(row.order)


def test_diverged_runs_are_reported_not_fitted():
    rng = np.random.default_rng(3)
    cell = fake_cell(0.1, 0.01, 0.01, 1e-4, rng)
    cell["methods"][SME2][0][:, 2] = np.nan
    points = weak.error_points([cell], [SME2])
    assert points.diverged.all() and not points.resolved.any() and points.error.isna().all()


def test_paths_run_counts_the_simulated_dropout_paths(tmp_path):
    """A cell as the sme rule writes it (run_cell's arrays in an npz) reads back the paths it
    simulated: all of them, or only the chunks before a divergence stopped the method."""
    from dropout_sme.sme import cell as sme_cell

    rng = np.random.default_rng(0)
    data = {"x_train": rng.normal(size=(6, 2)), "y_train": rng.normal(size=6),
            "x_test": rng.normal(size=(4, 2)), "y_test": rng.normal(size=4)}
    spec = {"keep_prob": 0.5, "lr": 0.4, "methods": ["sme1", "svag"], "svag_l": [2, 4],
            "model": {"width": 3, "activation": "tanh", "init_scale": 1.0}, "init_seed": 0,
            "mask": "per_step", "horizon": 0.8, "record_every": 0.4, "paths": 30, "chunk": 10,
            "batch": 5, "substeps": 2, "extrapolate": True, "dtype": "float64", "device": "cpu",
            "seed": 0}
    arrays, _ = sme_cell.run_cell(spec, data, progress=False)
    np.savez(tmp_path / "cell.npz", **arrays)
    cell = weak.load_cell(tmp_path / "cell.npz")
    assert weak.paths_run(cell) == 30
    # each method's identity is stored as values, (name, l): SVAG by its l, never parsed
    assert set(cell["methods"]) == {weak.DROPOUT, weak.Method("gf"), weak.Method("sme1"),
                                    weak.Method("svag", 2), weak.Method("svag", 4)}
    assert weak.methods_of([cell])[-3:] == [weak.Method("svag", 2), weak.Method("svag", 4),
                                            weak.Method("gf")]
    arrays["dropout__batch_sizes"] = arrays["dropout__batch_sizes"][:2]   # stopped after one chunk
    arrays["dropout__batch_means"] = arrays["dropout__batch_means"][:2]
    arrays["dropout__batch_diverged"] = arrays["dropout__batch_diverged"][:2]
    np.savez(tmp_path / "stopped.npz", **arrays)
    assert weak.paths_run(weak.load_cell(tmp_path / "stopped.npz")) == 10


def test_a_relative_error_and_its_delta_method_standard_error_match_repeated_runs():
    """|V1 - V2| / V1 from batch values: the estimate is the ratio of the means, and its
    standard error (delta method, independent runs) is the spread of the estimate over repeated
    independent runs."""
    rng = np.random.default_rng(4)
    sizes = np.full(40, 100)

    def run(v):       # 40 batch values of a quantity with mean v, one record after t = 0
        vals = np.zeros((40, 2, 1))
        vals[:, 1, 0] = v * (1 + 0.15 * rng.standard_normal(40))
        return vals, sizes

    estimates, ses = [], []
    for _ in range(400):
        err, se, _, _ = weak.weak_error(run(2.0), run(1.6), relative=True)
        estimates.append(err[0])
        ses.append(se[0])
    assert np.mean(estimates) == pytest.approx(0.2, abs=0.005)
    assert np.mean(ses) == pytest.approx(np.std(estimates), rel=0.15)
    # the same numbers without `relative`: the absolute difference
    ref, oth = run(2.0), run(1.6)
    absolute = weak.weak_error(ref, oth)[0][0]
    relative = weak.weak_error(ref, oth, relative=True)[0][0]
    assert relative == pytest.approx(absolute / weak.mean_se(*ref)[0][-1, 0])


def test_fluctuation_orders_are_fitted_from_relative_errors_and_a_flow_has_order_zero():
    """Cells whose fluctuations differ from dropout's by a relative 0.8 lr (an order-1 SME) and a
    flow with none: the rule gives order 1 and order 0, on relative errors."""
    rng = np.random.default_rng(2)
    sizes = np.full(60, 100)
    gf, sme1 = weak.Method("gf"), weak.Method("sme1")
    cells = []
    for lr in LRS:
        v = lr * np.array([1.0, 3.0])                 # the fluctuation scales as lr
        ref = np.zeros((60, 3, 2))
        ref[:, 1:] = v * (1 + 0.002 * rng.standard_normal((60, 2, 2)))
        oth = ref * (1 - 0.8 * lr)
        oth[:, 1:] *= 1 + 0.002 * rng.standard_normal((60, 2, 2))
        flow = (np.zeros((1, 3, 2)), np.ones(1))
        means = (np.ones((60, 3, 3)), sizes)
        cells.append({"keep_prob": 0.8, "lr": lr, "times": np.array([0, 1.0, 2.0]),
                      "methods": {weak.DROPOUT: means, sme1: means, gf: flow}, "diverged": {},
                      "fluct": {weak.DROPOUT: (ref, sizes), sme1: (oth, sizes), gf: flow}})
    table = weak.order_table(cells, [sme1, gf], n_boot=200, kind="fluctuation")
    assert set(table.g) == set(weak.FLUCTUATIONS)
    for r in table.itertuples():
        want = 1 if r.method == "sme1" else 0
        assert r.order == pytest.approx(want, abs=0.1) and r.order_lo < want + 0.15
        assert weak.predicted(r.method, r.g) == want
    points = weak.error_points(cells, [gf], kind="fluctuation")
    np.testing.assert_allclose(points.error, 1.0)     # a flow misses all of it, at every lr
