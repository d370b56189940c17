"""The reproduction report: each claim of the paper judged from this run's tables by a rule whose
margins are declared in the config (``claims:``; their reasons, and when each was set,
in config/README.md).

Every rule is a pure function of tables that judges items (a keep_prob and test function, a
setting and data kind, an architecture) as ``holds``, ``fails`` or ``undecided`` with its reason:
a question the data cannot settle (too few resolved points, one seed, an interval that contains
both answers) is undecided, never "not reproduced". A claim's verdict needs a quorum, at least
half of its items decided; with it, ``reproduced`` when every decided item holds, ``not
reproduced`` when every decided item fails, ``partly`` when both occur; without it
``undecided``; ``not run`` (with the reason) when the run has no data for it. Every verdict
line counts its items (holds, fails, undecided). ``report`` gathers the claims; ``markdown``
writes ``figures/claims.md``. The notebook only renders them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..sme.weak import MONTE_CARLO, predicted
from . import stats, tables

HOLDS, FAILS, UNDECIDED = "holds", "fails", "undecided"
DEFAULT_MARGINS = {"min_points": 3, "order1_band": [0.75, 1.5], "order2_band": [1.5, 2.5],
                   "factor_delta": 0.2}
CLAIM6 = ("6. Dropout's noise is more aligned with the Hessian than SGD's and than isotropic noise "
          "of the same magnitude (theta*)")
CLAIM7 = ("7. Dropout finds flatter minima (whole-network Hessian at the end of training, against "
          "no dropout at the same lr)")


def verdict(statuses) -> str:
    """The claim's verdict from its items' statuses: nothing to judge is ``not run``; fewer than
    half decided is ``undecided`` (no quorum); else by the decided items alone."""
    statuses = list(statuses)
    if not statuses:
        return "not run"
    decided = [s for s in statuses if s != UNDECIDED]
    if 2 * len(decided) < len(statuses):
        return "undecided"
    if all(s == HOLDS for s in decided):
        return "reproduced"
    return "not reproduced" if all(s == FAILS for s in decided) else "partly"


def counts(statuses) -> str:
    """How much was decided, in words: '1 of 6 items decided: 1 hold, 0 fail, 5 undecided'."""
    statuses = list(statuses)
    n = {k: sum(s == k for s in statuses) for k in (HOLDS, FAILS, UNDECIDED)}
    return (f"{n[HOLDS] + n[FAILS]} of {len(statuses)} items decided: {n[HOLDS]} hold, "
            f"{n[FAILS]} fail, {n[UNDECIDED]} undecided")


def interval(m, lo, hi, digits: int = 2) -> str:
    if not np.isfinite(m):
        return "no estimate"
    if not np.isfinite(lo) or not np.isfinite(hi):
        return f"{m:.{digits}f} [no interval]"
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _finite(*values) -> bool:
    return all(np.isfinite(v) for v in values)


def _row(claim: str, items: list, note: str) -> dict:
    """items: (status, text, reason) -> the claim's row."""
    def join(status):
        return "; ".join(t + (f" ({r})" if r and status == UNDECIDED else "")
                         for s, t, r in items if s == status) or "—"
    statuses = [s for s, _, _ in items]
    return {"claim": claim, "holds": join(HOLDS), "fails": join(FAILS),
            "undecided": join(UNDECIDED), "note": note, "verdict": verdict(statuses),
            "decided": counts(statuses) if items else "no items"}


def not_run(claim: str, reason: str) -> dict:
    """The row of a claim this run has no data for, saying why."""
    return _row(claim, [], f"not run: {reason}")


def order_status(lo, hi, band, points_used: int, min_points: int):
    """A fitted weak order's interval against the band around its prediction (an equivalence
    test): holds when the interval lies inside the band, fails when it lies outside it,
    undecided when it crosses an edge."""
    if points_used < min_points:
        return UNDECIDED, f"{points_used} resolved learning rates, fewer than {min_points}"
    if not _finite(lo, hi):
        return UNDECIDED, "no interval"
    low, high = band
    if low <= lo and hi <= high:
        return HOLDS, ""
    if hi < low or lo > high:
        return FAILS, ""
    return UNDECIDED, "the interval crosses " + " and ".join(
        f"{edge:g}" for edge in band if lo < edge < hi)


def sign_status(lo, hi, sign: int):
    """An interval's sign: holds when entirely of ``sign``, fails when entirely opposite."""
    if not _finite(lo, hi):
        return UNDECIDED, "no interval (one seed?)"
    if (hi < 0) if sign < 0 else (lo > 0):
        return HOLDS, ""
    if (lo > 0) if sign < 0 else (hi < 0):
        return FAILS, ""
    return UNDECIDED, "the interval contains 0"


def above_status(lo, hi, level: float):
    """An interval against a level: holds above it, fails below it."""
    if not _finite(lo, hi):
        return UNDECIDED, "no interval (one seed?)"
    if lo > level:
        return HOLDS, ""
    if hi < level:
        return FAILS, ""
    return UNDECIDED, f"the interval contains {level:.3g}"


def rise_status(first, last):
    """alpha strengthens: the final interval above the initial one; fails when below it."""
    f_lo, f_hi = first.alpha_debiased_lo, first.alpha_debiased_hi
    l_lo, l_hi = last.alpha_debiased_lo, last.alpha_debiased_hi
    if not _finite(f_lo, f_hi, l_lo, l_hi):
        return UNDECIDED, "no interval (one seed?)"
    if l_lo > f_hi:
        return HOLDS, ""
    if l_hi < f_lo:
        return FAILS, ""
    return UNDECIDED, "the initial and final intervals overlap"


def combine(*results):
    """Several conditions of one item: fails if any fails, holds if all hold, else undecided."""
    if any(s == FAILS for s, _ in results):
        return FAILS, ""
    reasons = [r for s, r in results if s == UNDECIDED]
    return (UNDECIDED, "; ".join(reasons)) if reasons else (HOLDS, "")


def weak_order(orders: pd.DataFrame, method: str, number: str, name: str,
               margins: dict = DEFAULT_MARGINS) -> dict:
    """Claim 1: per keep_prob and test function, the fitted order's 95% interval lies inside the
    band around the predicted order (``order<k>_band``: nearer the prediction than the
    alternatives), from at least ``min_points`` resolved learning rates (the two-layer net's
    Monte Carlo case)."""
    o = orders[orders.method == method]
    if "case" in o:                                 # the exact reference is a check, not evidence
        o = o[o.case == MONTE_CARLO]
    expect = predicted(method)
    band = margins[f"order{expect}_band"]
    items = []
    for r in o.itertuples():
        status, reason = order_status(r.order_lo, r.order_hi, band, r.points_used,
                                      margins["min_points"])
        items.append((status, f"keep_prob {r.keep_prob:g}, {r.g}: "
                      f"{interval(r.order, r.order_lo, r.order_hi)}", reason))
    return _row(f"{number}. Dropout is approximated weakly by the SME ({name})", items,
                f"a fit needs {margins['min_points']} resolved learning rates; order {expect} "
                f"holds inside [{band[0]:g}, {band[1]:g}]")


def variance_flatness(slopes: pd.DataFrame, windows: pd.DataFrame | None = None,
                      compare: pd.DataFrame | None = None, drift: str = "exclude_pc1") -> dict:
    """Claim 2: per setting and data kind (gradient and trajectory), the slope of log sigma_i^2
    against log F_i has a 95% interval over seeds below 0 (table 3's main rows). Trajectory data
    are judged only where Feng & Tu's protocol applies: a setting whose window is not in the
    exploration phase for every seed (``windows``: the diagnosis with its ``exploration`` column)
    is undecided. The note gives the SGD and isotropic runs' trajectory slopes under the same
    protocol (``compare``): a negative slope alone does not single out dropout."""
    vf = slopes[slopes.relation.str.startswith("variance-flatness")]
    if "role" in vf:
        vf = vf[vf.role == "main"]
    items = []
    for r in vf.itertuples():
        status, reason = sign_status(r.slope_lo, r.slope_hi, -1)
        kind = r.relation.split(", ")[1]
        if kind == "trajectory data" and windows is not None:
            w = windows[(windows.keep_prob == r.keep_prob) & (windows.lr == r.lr)]
            if len(w) and not w.exploration.all():
                status, reason = UNDECIDED, (f"the window is outside the exploration phase for "
                                             f"{int((~w.exploration).sum())} of {len(w)} seeds")
        items.append((status, f"keep_prob {r.keep_prob:g}, lr {r.lr:g}, {kind}: "
                      f"{interval(r.slope_mean, r.slope_lo, r.slope_hi)}", reason))
    note = (f"measured at theta* (the trajectory window's start); trajectory data by Feng & Tu's "
            f"protocol, drift: {drift} (table 3: the other handlings and the windows' diagnosis)")
    column = f"slope_trajectory_{drift}"
    if compare is not None and column in compare:
        others = [f"{name} {interval(*stats.mean_ci(g[column]))} (keep_prob {p:g}, lr {lr:g})"
                  for (p, lr, noise), g in compare.groupby(["keep_prob", "lr", "noise"])
                  for name in [{"sgd": "SGD", "gaussian": "isotropic noise"}.get(noise, noise)]]
        note += ("; under the same protocol at dropout's magnitude the trajectory slope is "
                 + ", ".join(others) + ": a negative trajectory slope does not single out "
                 "dropout; what does is judged in claim 6 (alignment) and by the Hessian-variance "
                 "slope of table 3")
    return _row("2. Inverse variance-flatness relation (negative log-log slope)", items, note)


def alignment_rises(alignment: pd.DataFrame) -> dict:
    """Claim 3: per setting, alpha's 95% interval over seeds lies above the larger null model's
    97.5% point at every checkpoint, and the final alpha's interval above the initial one."""
    curve = tables.null_bands(alignment[~alignment.theta_star])
    summary = stats.summarize(curve, ["keep_prob", "lr", "step"], ["alpha_debiased"])
    nulls = curve.groupby(["keep_prob", "lr", "step"])[["spectra_hi", "wishart_hi"]].max()
    items = []
    for (p, lr), s in summary.groupby(["keep_prob", "lr"]):
        s = s.sort_values("step").set_index("step")
        null = nulls.loc[(p, lr)].max(axis=1).reindex(s.index)
        above = combine(*(above_status(lo, hi, level) for lo, hi, level in
                          zip(s.alpha_debiased_lo, s.alpha_debiased_hi, null)))
        first, last = s.iloc[0], s.iloc[-1]
        status, reason = combine(above, rise_status(first, last))
        start = interval(first.alpha_debiased_mean, first.alpha_debiased_lo,
                         first.alpha_debiased_hi)
        end = interval(last.alpha_debiased_mean, last.alpha_debiased_lo, last.alpha_debiased_hi)
        items.append((status, f"keep_prob {p:g}, lr {lr:g}: alpha {start} at step {s.index[0]} "
                      f"-> {end} at step {s.index[-1]}; largest null 97.5% point "
                      f"{null.max():.3f}", reason))
    return _row("3. Hessian-noise alignment alpha(theta_t) above random nulls throughout "
                "training, strengthening after an initial phase", items,
                "nulls: centred Wishart G G'/B - I (symmetric, not PSD) and same spectra with Haar "
                "eigenvectors")


def factor_independence(directions: pd.DataFrame, reference: float,
                        margins: dict = DEFAULT_MARGINS, drift: str = "exclude_pc1") -> dict:
    """Claim 4, an equivalence test: per setting, data kind and flatness factor c, the paired
    (by seed) difference of the variance-flatness slope at c and at the ``reference`` factor has
    a 95% interval inside (-delta, delta), delta = ``factor_delta``; it fails when the interval
    lies outside, and is undecided when it straddles a bound. Trajectory data under the drift
    handling ``drift``."""
    delta = margins["factor_delta"]
    factors = sorted(directions[directions.kind == "gradient"].factor.unique())
    others = [c for c in factors if not np.isclose(c, reference)]
    items = []
    fits = {"trajectory": stats.trajectory_fit(drift), "gradient": stats.relations()["vf_gradient"]}
    for kind, fit in fits.items():
        ref = stats.slopes(directions, fit.kind, reference, first=fit.first).set_index(
            ["keep_prob", "lr", "seed"])
        for c in others:
            at = stats.slopes(directions, fit.kind, c, first=fit.first).set_index(
                ["keep_prob", "lr", "seed"])
            diff = (at.slope - ref.slope).rename("diff").reset_index()
            for (p, lr), g in diff.groupby(["keep_prob", "lr"]):
                m, lo, hi = stats.mean_ci(g["diff"])
                if not _finite(lo, hi):
                    status, reason = UNDECIDED, "no interval (one seed?)"
                elif -delta < lo and hi < delta:
                    status, reason = HOLDS, ""
                elif lo >= delta or hi <= -delta:
                    status, reason = FAILS, ""
                else:
                    status, reason = UNDECIDED, f"the interval reaches beyond +-{delta:g}"
                items.append((status, f"keep_prob {p:g}, lr {lr:g}, {kind} data, factor {c:.3g} "
                              f"against {reference:g}: slope difference "
                              f"{interval(m, lo, hi)}", reason))
    return _row("4. The variance-flatness slope does not depend on the flatness factor", items,
                f"equivalence margin delta = {delta:g} on the slope; factors "
                + ", ".join(f"{c:.3g}" for c in factors))


def universality(table: pd.DataFrame) -> dict:
    """Claim 5, per architecture of table 5 (its first dropout setting): the variance-flatness
    slope's interval below 0 for gradient and trajectory data, the Hessian-variance slope's above
    0, and the final alpha's above the larger null model's 97.5% point."""
    items = []
    for r in table.itertuples():
        status, reason = combine(
            sign_status(r.slope_gradient_lo, r.slope_gradient_hi, -1),
            sign_status(r.slope_trajectory_lo, r.slope_trajectory_hi, -1),
            sign_status(r.slope_hessian_variance_lo, r.slope_hessian_variance_hi, +1),
            above_status(r.alpha_final_lo, r.alpha_final_hi, r.null_q975_final))

        def ci(name, r=r):
            return interval(*(getattr(r, f"{name}_{part}") for part in ("mean", "lo", "hi")))

        items.append((status, f"{r.architecture}, keep_prob {r.keep_prob:g}: variance-flatness "
                      f"{ci('slope_gradient')} (gradient), {ci('slope_trajectory')} "
                      f"(trajectory), Hessian-variance {ci('slope_hessian_variance')}, final "
                      f"alpha {ci('alpha_final')} (null {r.null_q975_final:.3f})", reason))
    archs = list(dict.fromkeys(table.architecture))
    return _row("5. The relations hold across architectures (the paper's appendix: ResNet-20, "
                "VGG, transformer)", items,
                f"{len(archs)} architectures in this run: " + ", ".join(archs)
                + " (the paper's ResNet-20, VGG16 and transformer on Multi30k are in "
                  "config/paper.yaml)")


def alignment_controls(alignment: pd.DataFrame, compare: pd.DataFrame) -> dict:
    """Claim 6 (what distinguishes dropout's noise): at theta*, per setting and reference noise,
    the paired (by seed) difference of alpha(H, Sigma_dropout) and alpha(H, Sigma_ref) has a 95%
    interval above 0. References at dropout's trace (alpha does not depend on the scale): the
    per-sample gradient covariance (mini-batch SGD's noise, a Fisher-like matrix) and isotropic
    noise. Dropout's alpha is the K-mask estimate, whose finite-K bias lowers it (conservative)."""
    star = alignment[alignment.theta_star].set_index(["keep_prob", "lr", "seed"]).alpha
    names = {"sgd": "the per-sample gradient covariance (SGD)", "gaussian": "isotropic noise"}
    items = []
    for (p, lr, noise), g in compare.groupby(["keep_prob", "lr", "noise"], sort=False):
        ref = g.set_index(["keep_prob", "lr", "seed"]).alpha
        drop = star.reindex(ref.index)
        m, lo, hi = stats.mean_ci((drop - ref).dropna())
        status, reason = sign_status(lo, hi, +1)
        items.append((status, f"keep_prob {p:g}, lr {lr:g}: dropout {drop.mean():.2f} against "
                      f"{names.get(noise, noise)} {ref.mean():.2f}, difference "
                      f"{interval(m, lo, hi)}", reason))
    return _row(CLAIM6, items,
                "alpha at initialisation is already about 0.5 (table 4's gain column): part of "
                "the alignment is structural; this claim asks what dropout adds")


def flatter_minima(sharpness: pd.DataFrame) -> dict:
    """Claim 7: per setting, the whole network's top Hessian eigenvalue and trace at the end of
    training are lower with dropout than without at the same lr: the paired (by seed) difference
    has a 95% interval below 0 (holds), above 0 (fails) or containing 0 (undecided, "no
    difference")."""
    diffs = stats.paired_differences(sharpness, ["top_eigenvalue", "trace", "loss"])
    items = []
    for r in diffs.itertuples():
        for name, col in (("top eigenvalue", "top_eigenvalue"), ("trace", "trace")):
            m, lo, hi = (getattr(r, f"diff_{col}_{s}") for s in ("mean", "lo", "hi"))
            status, reason = sign_status(lo, hi, -1)
            items.append((status, f"keep_prob {r.keep_prob:g}, lr {r.lr:g}, {name}: dropout "
                          f"minus no dropout {interval(m, lo, hi, 3)}", reason))
    losses = "; ".join(f"keep_prob {r.keep_prob:g}, lr {r.lr:g}: "
                       f"{interval(r.diff_loss_mean, r.diff_loss_lo, r.diff_loss_hi, 4)}"
                       for r in diffs.itertuples())
    return _row(CLAIM7, items,
                "the paper's conclusion, not one of its measurements; training loss difference "
                f"(dropout minus no dropout) {losses}: with cross-entropy the Hessian shrinks with "
                "the loss, so the curvature compares minima of different depth")


def report(orders, slopes, universality_table, alignment, directions, reference_factor: float,
           margins: dict = DEFAULT_MARGINS, compare: pd.DataFrame | None = None,
           windows: pd.DataFrame | None = None, drift: str = "exclude_pc1",
           sharpness: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every claim's row, from table 2 (weak orders), table 3 (slopes), table 5 (architectures)
    and the noise stage's alignment, directions, comparisons, trajectory windows (the
    diagnosis with its ``exploration`` column) and flatness with and without dropout."""
    rows = [
        weak_order(orders, "sme1", "1a", "order-1 SME, weak order 1", margins),
        weak_order(orders, "sme2", "1b", "order-2 SME, weak order 2", margins),
        variance_flatness(slopes, windows, compare, drift),
        alignment_rises(alignment),
        factor_independence(directions, reference_factor, margins, drift),
        universality(universality_table),
    ]
    rows.append(alignment_controls(alignment, compare) if compare is not None else
                not_run(CLAIM6, "no comparison with SGD and isotropic noise in this run"))
    rows.append(flatter_minima(sharpness) if sharpness is not None else
                not_run(CLAIM7, "no keep_prob = 1 runs to compare with (the noise experiment's "
                                "baseline is false)"))
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    lines = ["# Reproduction report", "",
             "Written by notebooks/claims.py from this run's tables with the rules of "
             "dropout_sme.report.claims and the margins of the config's `claims:` section; "
             "regenerated with every run.", ""]
    for r in table.itertuples():
        lines += [f"## {r.claim}", "", f"**Verdict: {r.verdict}** ({r.decided})", "",
                  f"- holds: {r.holds}",
                  f"- fails: {r.fails}", f"- undecided: {r.undecided}"] \
            + ([f"- note: {r.note}"] if r.note else []) + [""]
    return "\n".join(lines)
