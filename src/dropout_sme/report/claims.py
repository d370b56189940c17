"""The reproduction report: each claim of the paper judged from this run's tables by a fixed rule.

Every rule is a pure function of tables (the figures' CSVs and the noise stage's outputs) that
returns one row: the claim, where it holds, where it fails, a note and the verdict
(reproduced / partly / not reproduced / not run). ``report`` gathers them; ``markdown`` writes
``figures/claims.md``. The notebook ``notebooks/claims.py`` only calls these.
"""

from __future__ import annotations

import pandas as pd

from ..sme.weak import MONTE_CARLO
from . import stats, tables


def verdict(holds) -> str:
    holds = list(holds)
    if not holds:
        return "not run"
    return "reproduced" if all(holds) else "partly" if any(holds) else "not reproduced"


def interval(m, lo, hi, digits: int = 2) -> str:
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _row(claim: str, holds: list, fails: list, note: str, ok) -> dict:
    return {"claim": claim, "holds": "; ".join(holds) or "—", "fails": "; ".join(fails) or "—",
            "note": note, "verdict": verdict(ok)}


def weak_order(orders: pd.DataFrame, method: str, number: str, name: str) -> dict:
    """Claim 1: for each keep_prob and test function, the fitted weak order's 95% bootstrap
    interval reaches the predicted order (its upper end >= the prediction: a faster decay is
    consistent with the bound). Unresolved fits are listed, not judged."""
    o = orders[orders.method == method]
    if "case" in o:                                 # the exact reference is a check, not evidence
        o = o[o.case == MONTE_CARLO]
    judged = o[o.order.notna()]
    ok = list(judged.order_hi >= judged.predicted)
    text = [f"keep_prob {r.keep_prob:g}, {r.g}: {interval(r.order, r.order_lo, r.order_hi)}"
            for r in judged.itertuples()]
    unresolved = [f"keep_prob {r.keep_prob:g}, {r.g}" for r in o[o.order.isna()].itertuples()]
    note = ("not resolved by the Monte Carlo: " + "; ".join(unresolved)) if unresolved else ""
    return _row(f"{number}. Dropout is approximated weakly by the SME ({name})",
                [t for t, g in zip(text, ok) if g], [t for t, g in zip(text, ok) if not g],
                note, ok)


def variance_flatness(slopes: pd.DataFrame) -> dict:
    """Claim 2: per setting and data kind, the slope of log sigma_i^2 against log F_i has a 95%
    interval (over seeds) entirely below 0."""
    vf = slopes[slopes.relation.str.startswith("variance-flatness")]
    ok = list(vf.slope_hi < 0)
    text = [f"keep_prob {r.keep_prob:g}, lr {r.lr:g}, {r.relation.split(', ')[1]}: "
            f"{interval(r.slope_mean, r.slope_lo, r.slope_hi)}" for r in vf.itertuples()]
    return _row("2. Inverse variance-flatness relation (negative log-log slope)",
                [t for t, g in zip(text, ok) if g], [t for t, g in zip(text, ok) if not g],
                "measured at theta* (the trajectory window's start), not throughout training", ok)


def alignment_rises(alignment: pd.DataFrame) -> dict:
    """Claim 3: at every checkpoint the lower end of alpha's 95% interval over seeds exceeds the
    97.5% point of both null models, and the final alpha's interval lies above the initial one."""
    curve = tables.null_bands(alignment[~alignment.theta_star])
    summary = stats.summarize(curve, ["keep_prob", "lr", "step"], ["alpha_debiased"])
    nulls = curve.groupby(["keep_prob", "lr", "step"])[["spectra_hi", "wishart_hi"]].max()
    holds, fails, ok = [], [], []
    for (p, lr), s in summary.groupby(["keep_prob", "lr"]):
        s = s.sort_values("step").set_index("step")
        null = nulls.loc[(p, lr)].max(axis=1)
        above = bool((s.alpha_debiased_lo > null.reindex(s.index)).all())
        first, last = s.iloc[0], s.iloc[-1]
        rises = bool(last.alpha_debiased_lo > first.alpha_debiased_hi)
        start = interval(first.alpha_debiased_mean, first.alpha_debiased_lo,
                         first.alpha_debiased_hi)
        end = interval(last.alpha_debiased_mean, last.alpha_debiased_lo, last.alpha_debiased_hi)
        text = (f"keep_prob {p:g}, lr {lr:g}: alpha {start} at step {s.index[0]} -> {end} at "
                f"step {s.index[-1]}; largest null 97.5% point {null.max():.3f}")
        (holds if above and rises else fails).append(text)
        ok.append(above and rises)
    return _row("3. Hessian-noise alignment alpha(theta_t) above random nulls throughout "
                "training, strengthening after an initial phase", holds, fails,
                "nulls: random PSD (centred Wishart) and same spectra with Haar eigenvectors", ok)


def factor_independence(directions: pd.DataFrame) -> dict:
    """Claim 4: per setting and data kind, the slopes' 95% intervals at all flatness factors share
    a common value (the largest lower end is below the smallest upper end)."""
    factors = sorted(directions[directions.kind == "gradient"].factor.unique())
    holds, fails, ok = [], [], []
    for kind in ("trajectory", "gradient"):
        per = pd.concat([stats.slopes(directions, kind, c) for c in factors], ignore_index=True)
        for (p, lr), g in per.groupby(["keep_prob", "lr"]):
            cis = [stats.mean_ci(h.slope) for _, h in g.groupby("factor")]
            common = max(c[1] for c in cis) <= min(c[2] for c in cis)
            text = (f"keep_prob {p:g}, lr {lr:g}, {kind} data: slopes "
                    + ", ".join(f"{c:.3g}: {m:.2f}" for c, (m, _, _) in zip(factors, cis)))
            (holds if common else fails).append(text)
            ok.append(common)
    return _row("4. The variance-flatness slope does not depend on the flatness factor", holds,
                fails, "factors " + ", ".join(f"{c:.3g}" for c in factors), ok)


def universality(table: pd.DataFrame) -> dict:
    """Claim 5 (per architecture of table 5, its first dropout setting): the gradient-data
    variance-flatness slope's 95% interval lies below 0, the Hessian-variance slope's above 0,
    and the final alpha's above the larger null model's 97.5% point."""
    holds, fails, ok = [], [], []
    for r in table.itertuples():
        good = (r.slope_gradient_hi < 0 and r.slope_hessian_variance_lo > 0
                and r.alpha_final_lo > r.null_q975_final)

        def ci(name, r=r):
            return interval(*(getattr(r, f"{name}_{part}") for part in ("mean", "lo", "hi")))

        text = (f"{r.architecture}, keep_prob {r.keep_prob:g}: variance-flatness "
                f"{ci('slope_gradient')}, Hessian-variance {ci('slope_hessian_variance')}, "
                f"final alpha {ci('alpha_final')} (null {r.null_q975_final:.3f})")
        (holds if good else fails).append(text)
        ok.append(good)
    archs = list(dict.fromkeys(table.architecture))
    return _row("5. The relations hold across architectures (the paper's appendix: ResNet-20, "
                "VGG, transformer)", holds, fails,
                f"{len(archs)} architectures in this run: " + ", ".join(archs)
                + " (the paper's ResNet-20, VGG16 and transformer on Multi30k are in "
                  "config/paper.yaml)", ok)


def report(orders, slopes, universality_table, alignment, directions) -> pd.DataFrame:
    """Every claim's row, from table 2 (weak orders), table 3 (slopes), table 5 (architectures)
    and the noise stage's alignment and directions."""
    return pd.DataFrame([
        weak_order(orders, "sme1", "1a", "order-1 SME, weak order 1"),
        weak_order(orders, "sme2", "1b", "order-2 SME, weak order 2"),
        variance_flatness(slopes),
        alignment_rises(alignment),
        factor_independence(directions),
        universality(universality_table),
    ])


def markdown(table: pd.DataFrame) -> str:
    lines = ["# Reproduction report", "",
             "Written by notebooks/claims.py from this run's tables; regenerated with every run.",
             ""]
    for r in table.itertuples():
        lines += [f"## {r.claim}", "", f"**Verdict: {r.verdict}**", "", f"- holds: {r.holds}",
                  f"- fails: {r.fails}"] + ([f"- note: {r.note}"] if r.note else []) + [""]
    return "\n".join(lines)
