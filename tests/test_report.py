"""The figures' analysis: null bands, tagged readers and every verdict rule of the claims report on
tables that must pass and tables that must fail."""

import numpy as np
import pandas as pd
import pytest

from dropout_sme.report import claims, tables


def test_null_bands_are_mean_plus_minus_z_sd():
    al = pd.DataFrame({"spectra_mean": [0.1, 0.2], "spectra_sd": [0.01, 0.02],
                       "wishart_sd": [0.001, 0.001]})
    out = tables.null_bands(al)
    np.testing.assert_allclose(out.spectra_hi, [0.1 + 1.96 * 0.01, 0.2 + 1.96 * 0.02])
    np.testing.assert_allclose(out.spectra_lo, [0.1 - 1.96 * 0.01, 0.2 - 1.96 * 0.02])
    np.testing.assert_allclose(out.wishart_hi, 1.96e-3) and np.testing.assert_allclose(
        out.wishart_lo, -1.96e-3)
    assert "spectra_hi" not in al                           # a copy


def test_read_tagged_takes_the_tag_from_the_workflow_not_the_path(tmp_path):
    a, b = tmp_path / "x.csv", tmp_path / "y.csv"
    pd.DataFrame({"v": [1, 2]}).to_csv(a, index=False)
    pd.DataFrame({"v": [3]}).to_csv(b, index=False)
    out = tables.read_tagged([str(a), str(b)], {str(a): "fnn", str(b): "cnn"})
    assert out.experiment.tolist() == ["fnn", "fnn", "cnn"] and out.v.tolist() == [1, 2, 3]
    with pytest.raises(KeyError, match="no experiment given"):
        tables.read_tagged([str(a)], {})
    assert tables.read(str(a)).v.tolist() == [1, 2]


def orders(hi, predicted=1.0, order=1.0):
    return pd.DataFrame({"method": "sme1", "keep_prob": 0.5, "g": ["train_loss", "sq_norm"],
                         "order": [order, np.nan], "order_lo": [order - 0.2, np.nan],
                         "order_hi": [hi, np.nan], "predicted": predicted})


def test_weak_order_rule():
    ok = claims.weak_order(orders(1.2), "sme1", "1a", "order 1")
    assert ok["verdict"] == "reproduced" and "not resolved" in ok["note"]
    bad = claims.weak_order(orders(0.8), "sme1", "1a", "order 1")
    assert bad["verdict"] == "not reproduced" and bad["holds"] == "—"
    assert claims.weak_order(orders(1.2), "sme2", "1b", "order 2")["verdict"] == "not run"


def slope_rows(his):
    return pd.DataFrame({"relation": [f"variance-flatness, {k} data" for k in ("trajectory",
                                                                              "gradient")],
                         "keep_prob": 0.9, "lr": 0.05, "slope_mean": [h - 0.5 for h in his],
                         "slope_lo": [h - 1 for h in his], "slope_hi": his})


def test_variance_flatness_rule():
    assert claims.variance_flatness(slope_rows([-0.1, -0.2]))["verdict"] == "reproduced"
    partly = claims.variance_flatness(slope_rows([0.3, -0.2]))
    assert partly["verdict"] == "partly" and "trajectory" in partly["fails"]
    assert claims.variance_flatness(slope_rows([0.3, 0.2]))["verdict"] == "not reproduced"


def alignment_rows(values_by_step):
    rows = []
    for step, values in values_by_step.items():
        for seed, a in enumerate(values):
            rows.append({"keep_prob": 0.9, "lr": 0.05, "step": step, "seed": seed,
                         "alpha_debiased": a, "spectra_mean": 0.1, "spectra_sd": 0.01,
                         "wishart_sd": 0.001, "theta_star": False})
    return pd.DataFrame(rows)


def test_alignment_rule():
    rising = alignment_rows({0: [0.50, 0.51, 0.52], 100: [0.80, 0.81, 0.82]})
    assert claims.alignment_rises(rising)["verdict"] == "reproduced"
    flat = alignment_rows({0: [0.50, 0.51, 0.52], 100: [0.50, 0.52, 0.51]})
    assert claims.alignment_rises(flat)["verdict"] == "not reproduced"
    below_null = alignment_rows({0: [0.05, 0.06, 0.07], 100: [0.80, 0.81, 0.82]})
    assert claims.alignment_rises(below_null)["verdict"] == "not reproduced"


def directions_rows(slope_at):
    """Gradient and trajectory directions whose variance-flatness slope is slope_at[factor]."""
    rows = []
    width = np.linspace(1, 10, 12)
    for kind in ("gradient", "trajectory"):
        for factor, slopes in slope_at.items():
            for seed, s in enumerate(slopes):
                rows.append(pd.DataFrame({
                    "setting": "p0.9_lr0.05", "keep_prob": 0.9, "lr": 0.05, "seed": seed,
                    "kind": kind, "index": np.arange(12), "factor": factor, "width": width,
                    "variance": width ** s, "flagged": False}))
    return pd.concat(rows, ignore_index=True)


def test_factor_independence_rule():
    same = directions_rows({2.0: [-2.0, -2.1, -1.9], 4.0: [-2.05, -1.95, -2.0]})
    assert claims.factor_independence(same)["verdict"] == "reproduced"
    apart = directions_rows({2.0: [-2.0, -2.01, -1.99], 4.0: [-1.0, -1.01, -0.99]})
    assert claims.factor_independence(apart)["verdict"] == "not reproduced"


def universality_rows(gradient_hi, hessian_lo, alpha_lo):
    return pd.DataFrame([{
        "architecture": "FNN", "keep_prob": 0.9, **{f"slope_gradient_{k}": v for k, v in
                                                   zip(("mean", "lo", "hi"), (-2, -3,
                                                                              gradient_hi))},
        **{f"slope_hessian_variance_{k}": v for k, v in zip(("mean", "lo", "hi"),
                                                            (1, hessian_lo, 2))},
        **{f"alpha_final_{k}": v for k, v in zip(("mean", "lo", "hi"), (0.8, alpha_lo, 0.9))},
        "null_q975_final": 0.1}])


def test_universality_rule():
    assert claims.universality(universality_rows(-1, 0.5, 0.7))["verdict"] == "reproduced"
    for bad in ((0.1, 0.5, 0.7), (-1, -0.1, 0.7), (-1, 0.5, 0.05)):
        assert claims.universality(universality_rows(*bad))["verdict"] == "not reproduced"


def test_verdict_and_markdown():
    assert claims.verdict([]) == "not run" and claims.verdict([True, False]) == "partly"
    table = pd.DataFrame([claims.variance_flatness(slope_rows([-0.1, -0.2]))])
    text = claims.markdown(table)
    assert text.startswith("# Reproduction report") and "**Verdict: reproduced**" in text
