import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from dropout_sme.report import stats


def test_mean_ci_matches_the_t_interval():
    v = np.array([1.0, 2.0, 4.0, 7.0])
    m, lo, hi = stats.mean_ci(v)
    half = st.t.ppf(0.975, 3) * v.std(ddof=1) / 2
    assert (m, lo, hi) == pytest.approx((3.5, 3.5 - half, 3.5 + half))


def test_mean_ci_covers_the_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    hits = sum(lo <= 2.0 <= hi for _, lo, hi in
               (stats.mean_ci(rng.normal(2.0, 3.0, 5)) for _ in range(4000)))
    assert 0.935 < hits / 4000 < 0.965  # binomial sd 0.0034


def test_single_value_has_no_interval_and_nans_are_dropped():
    assert np.isnan(stats.mean_ci([3.0])[1])
    assert stats.mean_ci([1.0, np.nan, 3.0])[0] == 2.0


def test_summarize_groups():
    df = pd.DataFrame({"g": [0, 0, 1, 1], "x": [1.0, 3.0, 5.0, 5.0]})
    out = stats.summarize(df, ["g"], ["x"])
    assert out.x_mean.tolist() == [2.0, 5.0] and out.n.tolist() == [2, 2]
    assert out.x_lo[1] == out.x_hi[1] == 5.0


def test_fit_slope_recovers_a_power_law():
    x = np.geomspace(0.1, 10, 30)
    assert stats.fit_slope(x, 3 * x ** -4.0) == pytest.approx(-4.0)
    y = 3 * x ** -4.0
    y[[2, 5]] = np.nan                                     # flagged points are left out
    assert stats.fit_slope(x, y) == pytest.approx(-4.0)
    assert np.isnan(stats.fit_slope(x[:2], y[:2]))
    assert stats.fit_slope(x[:2], y[:2], min_points=2) == pytest.approx(-4.0)   # the weak order's


def test_relation_slopes_recover_known_power_laws():
    """Directions of two seeds built from power laws: every relation gets its exponent back, a
    flagged direction (NaN width) is left out and counted, and the factor selects the rows. The
    trajectory's first component breaks the law (a drift): Feng & Tu's exclude_pc1 leaves it out
    and recovers the exponent, ``none`` keeps it and does not."""
    ev = np.geomspace(1e-3, 1.0, 20)
    rows = []
    for seed in (0, 1):
        for kind in ("trajectory", "trajectory_detrended", "gradient", "hessian"):
            for factor in (2.0, 4.0):
                width = 5 * ev ** -0.5 * factor
                width[3] = np.nan
                variance = 2 * ev ** 1.5 if kind == "hessian" else 0.1 * width ** -2.0
                if kind == "trajectory":
                    variance[0] = 1e6                  # the drift: huge variance, flat direction
                rows.append(pd.DataFrame({
                    "setting": "p0.8_lr0.1", "keep_prob": 0.8, "lr": 0.1, "seed": seed,
                    "kind": kind, "index": np.arange(20), "factor": factor,
                    "eigenvalue": ev, "variance": variance, "traj_variance": 3 * ev ** 0.9,
                    "traj_variance_no_pc1": 3 * ev ** 0.7, "traj_variance_detrended": ev ** 0.6,
                    "width": width, "flagged": np.isnan(width)}))
    dirs = pd.concat(rows, ignore_index=True)
    expected = {"exclude_pc1": (-2.0, -2.0, 1.5, 0.7, -0.5), "detrend": (-2.0, -2.0, 1.5, 0.6, -0.5)}
    for drift, slopes in expected.items():
        out = stats.relation_slopes(dirs, 2.0, drift=drift).set_index(["relation", "seed"])
        names = [r.name for r in stats.relations(drift).values()]
        for name, slope in zip(names, slopes):
            assert out.loc[(name, 1), "slope"] == pytest.approx(slope)
        assert len(out) == 10
    out = stats.relation_slopes(dirs, 2.0, drift="exclude_pc1").set_index(["relation", "seed"])
    assert out.loc[("variance-flatness, trajectory data", 0), "used"] == 18     # PC1 and NaN out
    assert out.loc[("variance-flatness, gradient data", 0), "used"] == 19
    raw = stats.relation_slopes(dirs, 2.0, drift="none").set_index(["relation", "seed"])
    assert raw.loc[("variance-flatness, trajectory data", 0), "slope"] > -1.0     # the drift wins
    top = stats.slopes(dirs, "hessian", 4.0, x="eigenvalue", y="width", top=10)
    assert (top.used == 9).all() and top.slope.to_numpy() == pytest.approx([-0.5, -0.5])
    with pytest.raises(ValueError, match="unknown drift handling"):
        stats.relations("pc1")


def test_exploration_rule_passes_and_fails():
    """The declared exploration rule: accuracy at both ends and the loss's relative change."""
    rule = {"min_train_acc": 0.99, "max_loss_change": 0.5}
    d = pd.DataFrame({"acc_start": [1.0, 0.95, 1.0, np.nan], "acc_end": [1.0, 1.0, 1.0, np.nan],
                      "loss_change": [0.2, 0.2, 0.8, 0.1]})
    assert stats.exploration(d, rule).tolist() == [True, False, False, True]


def test_notebooks_data_jobs_and_the_dag_start_without_torch(root):
    """The package imports of the notebooks, of the data and notebook scripts and of the rules
    (parsed for every run and dry run) leave torch out: they only read and write arrays."""
    sources = [*(root / "notebooks").glob("*.py"), root / "scripts/prepare_data.py",
               root / "scripts/run_notebook.py", *(root / "workflow/rules").glob("*.smk")]
    lines = sorted({line for src in sources for line in src.read_text().splitlines()
                    if line.startswith(("from dropout_sme", "import dropout_sme"))})
    assert len(lines) > 5
    code = "\n".join(lines + ["import sys", "assert 'torch' not in sys.modules, 'torch'"])
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
