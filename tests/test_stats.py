import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from dropout_sme import stats


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
