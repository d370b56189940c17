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

from . import stats, tables
from .claims_sme import (CLAIM1C, DEFAULT_MARGINS, fluctuation_order,  # noqa: F401 (API)
                         weak_order)
from .verdicts import (FAILS, HOLDS, UNDECIDED, _finite, _row, above_status, combine,
                       interval, not_run, rise_status, sign_status)

CLAIM6 = ("6. Dropout's noise is more aligned with the Hessian than SGD's noise of the same "
          "magnitude (theta*)")
CLAIM7 = ("7. Dropout finds flatter minima (whole-network Hessian at the end of training, against "
          "no dropout at the same lr and the same training loss)")


def variance_flatness(slopes: pd.DataFrame, windows: pd.DataFrame | None = None,
                      compare: pd.DataFrame | None = None, drift: str = "fluctuation",
                      dropout: pd.DataFrame | None = None) -> dict:
    """Claim 2: per setting and data kind (gradient and trajectory), the slope of log sigma_i^2
    against log F_i has a 95% interval over seeds below 0 (table 3's main rows). Trajectory data
    are judged only where their protocol has passed its controls: a setting whose window is not
    in the exploration phase for every seed (``windows``: the diagnosis with its ``exploration``
    column) is undecided, and so is every setting where the noise-free run (``compare``'s
    ``none`` rows) passes as an inverse relation under ``drift``. With ``dropout`` (per seed:
    keep_prob, lr, seed, slope of the trajectory data under ``drift``), one item per setting:
    dropout's slope below isotropic noise's at the same magnitude, paired by seed."""
    vf = slopes[slopes.relation.str.startswith("variance-flatness")]
    if "role" in vf:
        vf = vf[vf.role == "main"]
    column = f"slope_trajectory_{drift}"
    items = []
    for r in vf.itertuples():
        status, reason = sign_status(r.slope_lo, r.slope_hi, -1)
        kind = r.relation.split(", ")[1]
        if kind == "trajectory data":
            status, reason = _trajectory_gate(status, reason, r.keep_prob, r.lr, windows,
                                              compare, column, drift)
        items.append((status, f"keep_prob {r.keep_prob:g}, lr {r.lr:g}, {kind}: "
                      f"{interval(r.slope_mean, r.slope_lo, r.slope_hi)}", reason))
    if dropout is not None and compare is not None and column in compare:
        for status, text, reason, p, lr in _below_isotropic(dropout, compare, column):
            if windows is not None:        # the same phase gate as the trajectory items
                status, reason = _trajectory_gate(status, reason, p, lr, windows, None, column,
                                                  drift)
            items.append((status, text, reason))
    note = (f"measured at theta* (the trajectory window's start); trajectory data under drift "
            f"handling {drift} (table 3: the other handlings, the controls and the windows' "
            "diagnosis)")
    if compare is not None and column in compare:
        others = [f"{tables.NOISE_LABELS.get(noise, noise)} "
                  f"{interval(*stats.mean_ci(g[column]))} (keep_prob {p:g}, lr {lr:g})"
                  for (p, lr, noise), g in compare.groupby(["keep_prob", "lr", "noise"])]
        note += ("; controls under the same handling: " + ", ".join(others)
                 + "; the " + tables.anchor(compare, drift))
    return _row("2. Inverse variance-flatness relation (negative log-log slope)", items, note)


def _trajectory_gate(status, reason, p, lr, windows, compare, column, drift):
    """Trajectory items stay undecided where the window is outside the exploration phase or
    the noise-free control passes as an inverse relation under ``drift``."""
    if windows is not None:
        w = windows[(windows.keep_prob == p) & (windows.lr == lr)]
        if len(w) and not w.exploration.all():
            return UNDECIDED, (f"the window is outside the exploration phase for "
                               f"{int((~w.exploration).sum())} of {len(w)} seeds")
    if compare is not None and column in compare:
        free = compare[(compare.noise == "none") & (compare.keep_prob == p) & (compare.lr == lr)]
        m, lo, hi = stats.mean_ci(free[column])
        if _finite(hi) and hi < 0:
            return UNDECIDED, (f"the noise-free run passes as an inverse relation under drift "
                               f"{drift} ({interval(m, lo, hi)}): the handling measures drift")
    return status, reason


def _below_isotropic(dropout: pd.DataFrame, compare: pd.DataFrame, column: str) -> list:
    """Per setting: dropout's trajectory slope minus isotropic noise's, paired by seed; holds
    when the interval lies below 0, fails above, undecided when it contains 0. Items as
    (status, text, reason, keep_prob, lr)."""
    iso = compare[compare.noise == "gaussian"].set_index(["keep_prob", "lr", "seed"])[column]
    own = dropout.set_index(["keep_prob", "lr", "seed"]).slope
    diff = (own - iso).dropna().rename("diff").reset_index()
    items = []
    for (p, lr), g in diff.groupby(["keep_prob", "lr"]):
        m, lo, hi = stats.mean_ci(g["diff"])
        status, reason = sign_status(lo, hi, -1)
        items.append((status, f"keep_prob {p:g}, lr {lr:g}, trajectory data: dropout's slope "
                      f"minus isotropic noise's at the same magnitude {interval(m, lo, hi)} "
                      f"({len(g)} seeds paired)", reason, p, lr))
    return items


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
                        margins: dict = DEFAULT_MARGINS, drift: str = "fluctuation") -> dict:
    """Claim 4, an equivalence test relative to the slope: per setting, data kind and flatness
    factor c, the paired (by seed) difference of the variance-flatness slope at c and at the
    ``reference`` factor has a 95% interval inside (-delta, delta), delta = ``factor_delta`` x
    |mean slope at the reference|; it fails when the interval lies outside, and is undecided
    when it straddles a bound. The note gives the trend: per setting and kind, the slope's
    least-squares change per unit of log c, fitted per seed (mean and interval over seeds).
    Trajectory data under the drift handling ``drift``."""
    share = margins["factor_delta"]
    factors = sorted(directions[directions.kind == "gradient"].factor.unique())
    others = [c for c in factors if not np.isclose(c, reference)]
    items, trends = [], []
    fits = {"trajectory": stats.trajectory_fit(drift), "gradient": stats.relations()["vf_gradient"]}
    for kind, fit in fits.items():
        at = {c: stats.slopes(directions, fit.kind, c, first=fit.first) for c in factors}
        if not len(at[factors[0]]):
            continue
        keys = ["keep_prob", "lr", "seed"]
        wide = pd.concat({c: f.set_index(keys).slope for c, f in at.items()}, axis=1)
        ref = wide[[c for c in factors if np.isclose(c, reference)][0]]
        for (p, lr), g in wide.groupby(level=["keep_prob", "lr"]):
            delta = share * abs(ref.loc[g.index].mean())
            for c in others:
                m, lo, hi = stats.mean_ci((g[c] - ref.loc[g.index]).dropna())
                if not _finite(lo, hi, delta):
                    status, reason = UNDECIDED, "no interval (one seed?)"
                elif -delta < lo and hi < delta:
                    status, reason = HOLDS, ""
                elif lo >= delta or hi <= -delta:
                    status, reason = FAILS, ""
                else:
                    status, reason = UNDECIDED, f"the interval reaches beyond +-{delta:.2f}"
                items.append((status, f"keep_prob {p:g}, lr {lr:g}, {kind} data, factor {c:.3g} "
                              f"against {reference:g}: slope difference "
                              f"{interval(m, lo, hi)} (margin +-{delta:.2f})", reason))
            logs = np.log(np.asarray(factors, float))
            per_seed = [np.polyfit(logs, row.to_numpy(float), 1)[0]
                        for _, row in g[factors].iterrows() if np.isfinite(row).all()]
            trends.append(f"keep_prob {p:g}, lr {lr:g}, {kind} data "
                          f"{interval(*stats.mean_ci(per_seed))}")
    return _row("4. The variance-flatness slope does not depend on the flatness factor", items,
                f"equivalence margin {share:g} x |slope at factor {reference:g}|; factors "
                + ", ".join(f"{c:.3g}" for c in factors) + "; trend of the slope per unit of "
                "log factor (fitted per seed): " + "; ".join(trends))


def universality(table: pd.DataFrame) -> dict:
    """Claim 5, per architecture of table 5 (its first dropout setting): the variance-flatness
    slope's interval below 0 for gradient and trajectory data, the Hessian-variance slope's above
    0, and the final alpha's above the larger null model's 97.5% point. The trajectory part is
    undecided where table 5 says a seed's window is outside the exploration phase (claim 2's
    gate)."""
    items = []
    for r in table.itertuples():
        trajectory = sign_status(r.slope_trajectory_lo, r.slope_trajectory_hi, -1)
        exploring, windows = (getattr(r, "window_seeds_exploring", None),
                              getattr(r, "window_seeds", None))
        if pd.notna(windows) and exploring < windows:   # claim 2's gate: the protocol does not apply
            trajectory = (UNDECIDED, f"trajectory data: the window is outside the exploration "
                                     f"phase for {windows - exploring} of {windows} seeds")
        status, reason = combine(
            sign_status(r.slope_gradient_lo, r.slope_gradient_hi, -1),
            trajectory,
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


def alignment_controls(alignment: pd.DataFrame, compare: pd.DataFrame,
                       other_mask: pd.DataFrame | None = None) -> dict:
    """Claim 6 (what distinguishes dropout's noise): at theta*, per setting and mask convention,
    the paired (by seed) difference of alpha(H, Sigma_dropout) and alpha(H, Sigma_SGD) has a 95%
    interval above 0. Sigma_SGD: the per-sample gradient covariance at dropout's trace (alpha
    does not depend on the scale). The runs' convention on every seed; the other one
    (``other_mask``: the noise_mask jobs' rows) on its seeds. Dropout's alpha is the K-mask
    estimate, whose finite-K bias lowers it (conservative). Isotropic noise is a reference in the
    note, not an item: its alpha, Tr H / (|H|_F sqrt B), is fixed by H alone and cannot fail."""
    keys = ["keep_prob", "lr", "seed"]
    star = alignment[alignment.theta_star]
    conventions = [(star["mask"].iloc[0], star.set_index(keys).alpha)]
    if other_mask is not None and len(other_mask):
        per_seed = other_mask.groupby(["setting", *keys], as_index=False).first()
        conventions.append((per_seed["mask"].iloc[0], per_seed.set_index(keys).alpha))
    sgd = compare[compare.noise == "sgd"]
    items = []
    for mask, alpha in conventions:
        for (p, lr), g in sgd.groupby(["keep_prob", "lr"], sort=False):
            ref = g.set_index(keys).alpha
            drop = alpha.reindex(ref.index).dropna()
            m, lo, hi = stats.mean_ci(drop - ref.reindex(drop.index))
            status, reason = sign_status(lo, hi, +1)
            items.append((status, f"keep_prob {p:g}, lr {lr:g}, {mask} masks: dropout "
                          f"{drop.mean():.2f} against the per-sample gradient covariance (SGD) "
                          f"{ref.reindex(drop.index).mean():.2f}, difference {interval(m, lo, hi)}"
                          f" ({len(drop)} seeds)", reason))
    iso = compare[compare.noise == "gaussian"].groupby(["keep_prob", "lr"], sort=False).alpha
    reference = "; ".join(f"keep_prob {p:g}, lr {lr:g}: {g.mean():.2f}" for (p, lr), g in iso)
    return _row(CLAIM6, items,
                "isotropic noise of the same magnitude, a reference fixed by the Hessian alone "
                f"(Tr H / (|H|_F sqrt B)): {reference}; alpha at initialisation is already about "
                "0.5 (table 4's gain column): part of the alignment is structural; this claim "
                "asks what dropout adds beyond SGD's noise" + _sgd_trained(sgd, conventions[0][1]))


def _sgd_trained(sgd: pd.DataFrame, dropout_alpha: pd.Series) -> str:
    """Claim 6's robustness row: SGD's alpha at the point SGD trained to (``alpha_sgd_trained``
    of the comparison's sgd rows), and dropout's alpha at theta* minus it, paired by seed."""
    if "alpha_sgd_trained" not in sgd:
        return ""
    parts = []
    for (p, lr), g in sgd.groupby(["keep_prob", "lr"], sort=False):
        own = g.set_index(["keep_prob", "lr", "seed"]).alpha_sgd_trained.dropna()
        drop = dropout_alpha.reindex(own.index).dropna()
        parts.append(f"keep_prob {p:g}, lr {lr:g}: {interval(*stats.mean_ci(own))}, dropout "
                     f"minus it {interval(*stats.mean_ci(drop - own.reindex(drop.index)))}")
    return ("; robustness (not an item), SGD's covariance at the point SGD trained to (from "
            "theta_0, the matched batch, theta*'s steps): " + "; ".join(parts))


def flatter_minima(sharpness: pd.DataFrame) -> dict:
    """Claim 7, judged at matched loss: per setting, the whole network's top Hessian eigenvalue
    and trace are lower with dropout than without, the baseline continued by GD to the dropout
    run's training loss (``tables.MATCHED``): the paired (by seed) difference has a 95%
    interval below 0 (holds), above 0 (fails) or containing 0 (undecided). A setting where a
    seed's baseline did not reach the loss within the cap is undecided. The comparison at the
    same step is reported in the note."""
    paired = tables.table8(sharpness)[1]
    matched = paired[paired.against == tables.MATCHED]
    items = []
    for r in matched.itertuples():
        for name, col in (("top eigenvalue", "top_eigenvalue"), ("trace", "trace")):
            m, lo, hi = (getattr(r, f"diff_{col}_{s}") for s in ("mean", "lo", "hi"))
            status, reason = sign_status(lo, hi, -1)
            if r.matched < r.pairs:
                status, reason = UNDECIDED, (f"the baseline did not reach the dropout run's loss "
                                             f"within the cap for {r.pairs - r.matched} of "
                                             f"{r.pairs} seeds")
            items.append((status, f"keep_prob {r.keep_prob:g}, lr {r.lr:g}, {name}: dropout "
                          f"minus no dropout at matched loss {interval(m, lo, hi, 3)}", reason))
    same = paired[paired.against == "no dropout"]
    def diff(r, col, digits):
        return interval(*(getattr(r, f"diff_{col}_{s}") for s in ("mean", "lo", "hi")), digits)

    at_step = "; ".join(f"keep_prob {r.keep_prob:g}, lr {r.lr:g}: top eigenvalue "
                        f"{diff(r, 'top_eigenvalue', 3)}, trace {diff(r, 'trace', 3)}, training "
                        f"loss {diff(r, 'loss', 4)}" for r in same.itertuples())
    return _row(CLAIM7, items,
                "the paper's conclusion, not one of its measurements; with cross-entropy the "
                "Hessian shrinks with the loss, so the claim is judged against the baseline "
                "continued to the dropout run's training loss (table 8); at the same step, "
                f"dropout minus no dropout: {at_step}")


def report(orders, slopes, universality_table, alignment, directions, reference_factor: float,
           margins: dict = DEFAULT_MARGINS, compare: pd.DataFrame | None = None,
           windows: pd.DataFrame | None = None, drift: str = "fluctuation",
           sharpness: pd.DataFrame | None = None,
           other_mask: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every claim's row, from table 2 (weak orders), table 3 (slopes), table 5 (architectures)
    and the noise stage's alignment, directions, comparisons, trajectory windows (the
    diagnosis with its ``exploration`` column), flatness with and without dropout and the other
    mask convention's rows at theta* (``other_mask``)."""
    rows = [
        weak_order(orders, "sme1", "1a", "order-1 SME, weak order 1", margins),
        weak_order(orders, "sme2", "1b", "order-2 SME, weak order 2", margins),
        fluctuation_order(orders, margins),
        variance_flatness(slopes, windows, compare, drift,
                          trajectory_slopes(directions, reference_factor, drift)),
        alignment_rises(alignment),
        factor_independence(directions, reference_factor, margins, drift),
        universality(universality_table),
    ]
    rows.append(alignment_controls(alignment, compare, other_mask) if compare is not None else
                not_run(CLAIM6, "no comparison with SGD and isotropic noise in this run"))
    rows.append(flatter_minima(sharpness) if sharpness is not None else
                not_run(CLAIM7, "no keep_prob = 1 runs to compare with (the noise experiment's "
                                "baseline is false)"))
    return pd.DataFrame(rows)


def trajectory_slopes(directions: pd.DataFrame, factor: float, drift: str) -> pd.DataFrame:
    """Per setting and seed: dropout's trajectory slope under ``drift`` (claim 2's pairs)."""
    fit = stats.trajectory_fit(drift)
    return stats.slopes(directions, fit.kind, factor, first=fit.first)


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
