"""The table and figure builders of ``report.tables`` and ``report.frames`` on fixed inputs with
known answers: intervals over seeds, pairings by seed, the main and robustness rows, the window
diagnosis, and the one interval formatter."""

import numpy as np
import pandas as pd
import pytest

from dropout_sme.report import frames, stats, tables

SETTING = {"setting": "p0.8_lr0.1", "keep_prob": 0.8, "lr": 0.1}


def test_interval_formats_means_intervals_and_missing_values():
    assert tables.interval(0.5, 0.25, 0.75) == "0.50 [0.25, 0.75]"
    assert tables.interval(0.5, np.nan, np.nan, ".3f") == "0.500"                 # one seed
    assert tables.interval(np.nan, np.nan, np.nan, missing="n/a") == "n/a"
    assert tables.interval(np.nan, np.nan, np.nan, ".1f", missing=None) == "nan"
    assert tables.interval(0.987, 0.98, 0.99, ".1f", scale=100) == "98.7 [98.0, 99.0]"
    row = pd.Series({"x_mean": 2.0, "x_lo": 1.0, "x_hi": 3.0})
    assert tables.ci(row, "x", ".1f") == "2.0 [1.0, 3.0]" and tables.ci(row, "absent") == ""


def test_table1_pairs_each_dropout_seed_with_its_no_dropout_run():
    acc = {0.8: [0.90, 0.92, 0.97], 1.0: [0.88, 0.91, 0.93]}
    final = pd.DataFrame([{"keep_prob": p, "lr": 0.1, "seed": s, "step": 50, "test_acc": a}
                          for p, values in acc.items() for s, a in enumerate(values)])
    table = tables.table1(final).set_index("keep_prob")
    diff = np.subtract(acc[0.8], acc[1.0])
    assert list(table.index) == [1.0, 0.8]
    assert table.loc[0.8, "diff_mean"] == pytest.approx(diff.mean())
    assert (table.loc[0.8, "diff_lo"], table.loc[0.8, "diff_hi"]) == pytest.approx(
        stats.mean_ci(diff)[1:])
    assert table.loc[0.8, "no_dropout_acc_mean"] == pytest.approx(np.mean(acc[1.0]))
    assert np.isnan(table.loc[1.0, "no_dropout_acc_mean"]) and np.isnan(table.loc[1.0, "diff_mean"])


def power_law_directions(seeds=(0, 1, 2), slope=-2.0, drift_variance=1e6):
    """Directions whose gradient and trajectory data follow variance = 0.1 width^slope, except
    the trajectory's first component (the drift); the seeds' widths differ slightly."""
    rows = []
    for seed in seeds:
        width = np.geomspace(1.0, 10.0, 12) * (1 + 0.01 * seed)
        for kind in ("gradient", "trajectory", "trajectory_detrended", "trajectory_fluctuation",
                     "hessian"):
            variance = 0.1 * width ** slope
            if kind == "trajectory":
                variance = variance.copy()
                variance[0] = drift_variance
            rows.append(pd.DataFrame({
                **SETTING, "seed": seed, "kind": kind, "index": np.arange(12), "factor": 2.0,
                "eigenvalue": 1 / width, "variance": variance, "traj_variance": variance,
                "traj_variance_no_pc1": variance, "traj_variance_detrended": variance,
                "traj_variance_fluctuation": variance, "width": width, "flagged": False}))
    return pd.concat(rows, ignore_index=True)


def diagnosis(seeds=(0, 1, 2), loss_change=(0.1, 0.2, 0.9)):
    return pd.DataFrame({**SETTING, "seed": list(seeds), "trend_fraction": [0.5, 0.6, 0.7],
                         "pc1_fraction": 0.4, "pc1_displacement_cos": 0.9,
                         "loss_change": list(loss_change), "acc_start": 1.0, "acc_end": 1.0,
                         "grad_norm_block": 0.01, "window_start": 100, "window_end": 149,
                         "samples": 50})


def test_table3_main_robustness_and_control_rows_and_the_window_diagnosis():
    noises = ["sgd"] * 2 + ["gaussian"] * 2 + ["none"] * 2
    compare = pd.DataFrame({**SETTING, "seed": [0, 1] * 3, "noise": noises,
                            "trend_fraction": [0.1, 0.3, 0.2, 0.2, 0.9, 0.9], "pc1_fraction": 0.5,
                            "pc1_displacement_cos": 0.5,
                            **{f"slope_trajectory_{d}": [-1.0, -3.0, -2.0, -2.0, np.nan, np.nan]
                               for d in stats.DRIFTS},
                            **{f"flagged_trajectory_{d}": 1 for d in stats.DRIFTS}})
    table, windows = tables.table3(power_law_directions(), diagnosis(), compare, 2.0,
                                   "exclude_pc1", {"min_train_acc": 0.99, "max_loss_change": 0.5})
    control = table[table.role == "control"]
    assert set(control.noise) == {"sgd", "gaussian", "none"}
    assert len(control) == 3 * len(stats.DRIFTS)
    sgd = control[(control.noise == "sgd") & (control.drift == "exclude_pc1")].iloc[0]
    assert sgd.slope_mean == pytest.approx(-2.0) and sgd.seeds == 2 and sgd.flagged_total == 2
    free = control[control.noise == "none"]
    assert free.slope_mean.isna().all() and (free.seeds == 0).all()
    main = table[table.role == "main"].set_index("relation")
    assert main.loc["variance-flatness, gradient data", "slope_mean"] == pytest.approx(-2.0)
    assert main.loc["variance-flatness, trajectory data", "slope_mean"] == pytest.approx(-2.0)
    assert main.loc["variance-flatness, trajectory data", "drift"] == "exclude_pc1"
    assert main.loc["variance-flatness, trajectory data", "exploration_seeds"] == 2   # 0.9 > 0.5
    assert main.loc["variance-flatness, gradient data", "seeds"] == 3
    robust = table[table.role == "robustness"].set_index("drift")
    assert set(robust.index) == {"fluctuation", "detrend", "none"}
    assert abs(robust.loc["none", "slope_mean"] + 2.0) > 0.5     # the drift's component kept
    assert robust.loc["detrend", "slope_mean"] == pytest.approx(-2.0)
    w = windows.set_index("noise")
    assert list(w.index) == ["dropout", "sgd", "gaussian", "none"]
    assert w.loc["sgd", "trend_fraction_mean"] == pytest.approx(0.2)
    assert w.loc["dropout", "window"] == "100-149" and np.isnan(w.loc["sgd", "loss_change_mean"])


def alignment_rows(alphas_by_step, star_alpha=0.6):
    rows = [{**SETTING, "seed": s, "step": step, "theta_star": False, "masks": 16,
             "alpha": a + 0.01, "alpha_debiased": a, "spectra_mean": 0.1, "spectra_sd": 0.01,
             "wishart_sd": 0.02, "mask": "per_step", "trace_s": 1.0 + s}
            for step, values in alphas_by_step.items() for s, a in enumerate(values)]
    rows += [{**SETTING, "seed": s, "step": 20, "theta_star": True, "masks": 500,
              "alpha": star_alpha + 0.01 * s, "alpha_debiased": np.nan, "spectra_mean": 0.1,
              "spectra_sd": 0.01, "wishart_sd": 0.02, "mask": "per_step", "trace_s": 2.0 + s}
             for s in range(3)]
    return pd.DataFrame(rows)


def test_table4_pairs_the_gain_since_step_zero_by_seed():
    al = alignment_rows({0: [0.1, 0.2, 0.3], 40: [0.5, 0.7, 0.6]})
    nulls = pd.DataFrame({**SETTING, "seed": 0, "null": ["same_spectra"] * 2 + ["centred_wishart"] * 2,
                          "draw": [0, 1, 0, 1], "alpha": [0.11, 0.12, -0.03, 0.02]})
    row = tables.table4(al, nulls).iloc[0]
    gain = np.subtract([0.5, 0.7, 0.6], [0.1, 0.2, 0.3])
    assert row.alpha_gain_mean == pytest.approx(gain.mean())
    assert row.alpha_gain_lo == pytest.approx(stats.mean_ci(gain)[1])
    assert row.alpha_final_mean == pytest.approx(0.6) and row.final_step == 40
    assert row.theta_star_masks == 500 and row.alpha_theta_star_mean == pytest.approx(0.61)
    assert row.spectra_null_q975 == pytest.approx(0.1 + tables.NULL_Z * 0.01)
    assert row.wishart_null_mc_max_abs == 0.03 and row.null_draws == 2


def test_table5_one_row_per_experiment_with_accuracy_with_and_without_dropout():
    dirs = pd.concat([power_law_directions().assign(experiment=e) for e in ("fnn", "cnn")])
    al = pd.concat([alignment_rows({0: [0.1, 0.2, 0.3], 40: [0.5, 0.7, 0.6]}).assign(
        experiment=e, block="w2", block_size=100) for e in ("fnn", "cnn")])
    final = pd.DataFrame([{"experiment": "fnn", "setting": run, "seed": s, "test_acc": a}
                          for run, accs in (("p0.8_lr0.1", [0.9, 0.95]), ("p1_lr0.1", [0.8, 0.85]))
                          for s, a in enumerate(accs)])
    table = tables.table5(al, dirs, final, {"fnn": "FNN 50-50"}, 2.0, "exclude_pc1")
    t = table.set_index("experiment")
    assert list(t.index) == ["fnn", "cnn"] and t.loc["fnn", "architecture"] == "FNN 50-50"
    assert t.loc["cnn", "architecture"] == "cnn"
    assert t.loc["fnn", "slope_gradient_mean"] == pytest.approx(-2.0)
    assert t.loc["fnn", "test_acc_no_dropout_mean"] == pytest.approx(0.825)
    assert np.isnan(t.loc["cnn", "test_acc_dropout_mean"])          # not trained: n/a
    # with the windows' diagnosis: how many seeds' windows pass the exploration rule
    diag = pd.DataFrame([{"experiment": e, "setting": "p0.8_lr0.1", "seed": s, "acc_start": 1.0,
                          "acc_end": 1.0, "loss_change": change}
                         for e, changes in (("fnn", [0.05, 0.3]), ("cnn", [0.01, 0.02]))
                         for s, change in enumerate(changes)])
    rule = {"min_train_acc": 0.99, "max_loss_change": 0.1}
    t = tables.table5(al, dirs, final, {}, 2.0, "exclude_pc1", diag, rule).set_index("experiment")
    assert t.loc["fnn", "window_seeds_exploring"] == 1 and t.loc["fnn", "window_seeds"] == 2
    assert t.loc["cnn", "window_seeds_exploring"] == 2


def test_table7_sets_the_other_convention_beside_the_runs_paired_by_seed():
    al = alignment_rows({0: [0.1, 0.2, 0.3]})
    dirs = power_law_directions()
    other = pd.concat([dirs[(dirs.kind == "gradient") & (dirs.seed == s)].assign(
        mask="per_sample", masks=500, trace_s=3.0 * (2.0 + s), alpha=0.5) for s in range(3)])
    table = tables.table7(other, al, dirs, 2.0).set_index("mask")
    assert table.loc["per_sample", "trace_ratio_mean"] == pytest.approx(3.0)
    assert np.isnan(table.loc["per_step", "trace_ratio_mean"])
    assert table.loc["per_step", "alpha_mean"] == pytest.approx(0.61)
    assert table.loc["per_sample", "slope_mean"] == pytest.approx(-2.0)


def test_table8_pairs_dropout_with_no_dropout_by_seed():
    sharp = pd.DataFrame([{**SETTING, "seed": s, "run": run, "top_eigenvalue": v, "trace": 10 * v,
                           "loss": 0.1, "extra_steps": 50 * (run == tables.MATCHED),
                           "matched": s > 0 if run == tables.MATCHED else np.nan}
                          for run, values in (("dropout", [1.0, 2.0, 4.0]),
                                              ("no dropout", [2.0, 2.5, 5.0]),
                                              (tables.MATCHED, [1.5, 2.5, 4.5]))
                          for s, v in enumerate(values)])
    table, paired = tables.table8(sharp)
    assert list(table.run) == ["dropout", "no dropout", tables.MATCHED]
    same, matched = (paired[paired.against == a].iloc[0] for a in ("no dropout", tables.MATCHED))
    assert same.diff_top_eigenvalue_mean == pytest.approx(np.mean([-1.0, -0.5, -1.0]))
    assert same.diff_trace_mean == pytest.approx(-25 / 3)
    assert matched.diff_top_eigenvalue_mean == pytest.approx(np.mean([-0.5, -0.5, -0.5]))
    assert matched.matched == 2 and np.isnan(same.matched)
    assert table.set_index("run").extra_steps_mean[tables.MATCHED] == 50


def test_figure_frames():
    dirs = power_law_directions()
    fits = {"gradient": stats.relations()["vf_gradient"]}
    s4 = frames.slopes_by_factor(dirs, fits, [2.0])
    assert len(s4) == 1 and s4["mean"].iloc[0] == pytest.approx(-2.0)
    curves = pd.DataFrame([{**SETTING, "run": run, "seed": s, "alpha": a, "direction": k,
                            "loss": (1 + s) * (1 + a ** 2) + k}
                           for run in ("dropout", "no dropout") for s in range(3)
                           for a in (-1.0, 0.0, 1.0) for k in (0, 1)])
    bands = frames.landscape_bands(curves)
    at0 = bands[(bands.run == "dropout") & (bands.alpha == 0.0)].iloc[0]
    assert at0["mean"] == pytest.approx(np.mean([1.5, 2.5, 3.5]))
    sweep = dirs[dirs.kind == "gradient"].assign(alpha=0.3, trace_s=2.0)
    per_seed, summary = frames.keep_sweep(sweep)
    assert len(per_seed) == 3 and summary.slope_mean.iloc[0] == pytest.approx(-2.0)
    assert frames.seeds(per_seed.assign(lr=0.1)).iloc[0] == 3


def test_a_kind_without_directions_gives_empty_slopes_and_no_interval():
    """An Adam run has no fluctuation reference: its table-5 trajectory slope is empty, not an
    error."""
    dirs = power_law_directions()
    dirs = dirs[dirs.kind != "trajectory_fluctuation"].assign(experiment="e")
    empty = stats.slopes(dirs, "trajectory_fluctuation", 2.0)
    assert empty.empty and list(empty.columns) == stats.SLOPE_COLUMNS
    al = alignment_rows({0: [0.1, 0.2, 0.3], 40: [0.5, 0.7, 0.6]}).assign(
        experiment="e", block="w2", block_size=4)
    table = tables.table5(al, dirs, pd.DataFrame(columns=["experiment", "setting", "test_acc"]),
                          {}, 2.0, "fluctuation")
    assert np.isnan(table.slope_trajectory_mean.iloc[0])
    assert table.slope_gradient_mean.iloc[0] == pytest.approx(-2.0)
