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
    flagged direction (NaN width) is left out and counted, and the factor selects the rows."""
    ev = np.geomspace(1e-3, 1.0, 20)
    rows = []
    for seed in (0, 1):
        for kind in ("trajectory", "gradient", "hessian"):
            for factor in (2.0, 4.0):
                width = 5 * ev ** -0.5 * factor
                width[3] = np.nan
                rows.append(pd.DataFrame({
                    "setting": "p0.8_lr0.1", "keep_prob": 0.8, "lr": 0.1, "seed": seed,
                    "kind": kind, "index": np.arange(20), "factor": factor,
                    "eigenvalue": ev, "variance": 2 * ev ** 1.5 if kind == "hessian"
                    else 0.1 * width ** -2.0, "traj_variance": 3 * ev ** 0.7,
                    "width": width, "flagged": np.isnan(width)}))
    dirs = pd.concat(rows, ignore_index=True)
    out = stats.relation_slopes(dirs, 2.0).set_index(["relation", "seed"])
    expected = dict(zip((r.name for r in stats.RELATIONS.values()), (-2.0, -2.0, 1.5, 0.7, -0.5)))
    for name, slope in expected.items():
        assert out.loc[(name, 1), "slope"] == pytest.approx(slope)
    assert (out.used == 19).all() and (out.flagged == 1).all() and len(out) == 10
    top = stats.slopes(dirs, "hessian", 4.0, x="eigenvalue", y="width", top=10)
    assert (top.used == 9).all() and top.slope.to_numpy() == pytest.approx([-0.5, -0.5])


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
