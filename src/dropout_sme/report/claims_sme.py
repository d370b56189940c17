"""Claim 1 of the reproduction report (``claims``): the SMEs' weak orders on the means (1a, 1b)
and on the fluctuations (1c), from table 2, by the rules of ``verdicts``."""

from __future__ import annotations

import pandas as pd

from ..sme.weak import FLUCTUATIONS, MONTE_CARLO, predicted
from .verdicts import UNDECIDED, _finite, _row, interval, not_run, order_status

DEFAULT_MARGINS = {"min_points": 3, "order1_band": [0.75, 1.5], "order2_band": [1.5, 2.5],
                   "factor_delta": 0.1}


def weak_order(orders: pd.DataFrame, method: str, number: str, name: str,
               margins: dict = DEFAULT_MARGINS) -> dict:
    """Claim 1: per keep_prob and test function, the fitted order's 95% interval (the weak error
    at the horizon, fitted by the declared asymptotic rule, ``sme.weak``) lies inside the band
    around the predicted order (``order<k>_band``: nearer the prediction than the alternatives),
    from at least ``min_points`` resolved learning rates in the asymptotic regime (the two-layer
    net's Monte Carlo case). Resolved points outside the regime leave the item undecided."""
    o = _monte_carlo(orders, method)
    o = o[~o.g.isin(FLUCTUATIONS)]                  # claim 1c
    expect = predicted(method)
    band = margins[f"order{expect}_band"]
    items = []
    for r in o.itertuples():
        status, reason = order_status(r.order_lo, r.order_hi, band, r.points_used,
                                      margins["min_points"], getattr(r, "points_resolved", None))
        items.append((status, f"keep_prob {r.keep_prob:g}, {r.g}: "
                      f"{interval(r.order, r.order_lo, r.order_hi)}", reason))
    return _row(f"{number}. Dropout is approximated weakly by the SME ({name})", items,
                f"the weak error at the horizon; a fit needs {margins['min_points']} resolved "
                f"learning rates in the asymptotic regime; order {expect} holds inside "
                f"[{band[0]:g}, {band[1]:g}]")


def _monte_carlo(orders: pd.DataFrame, method: str) -> pd.DataFrame:
    """A method's rows of the two-layer net (the exact reference is a check, not evidence)."""
    o = orders[orders.method == method]
    return o[o.case == MONTE_CARLO] if "case" in o else o


CLAIM1C = ("1c. The SME captures dropout's fluctuations; its noise-free drift does not "
           "(Var R_S and E|theta - E theta|^2 over paths)")


def fluctuation_order(orders: pd.DataFrame, margins: dict = DEFAULT_MARGINS) -> dict:
    """Claim 1c: per SME, keep_prob and fluctuation (``FLUCTUATIONS``), the relative error's
    order lies in the order-1 band (both SMEs: config/README.md, "Fluctuation test
    functions"), judged only where the same rule rejects the noise-free flow of that SME's drift
    on the same cells (its order resolved and its interval below the band); otherwise the item
    is undecided: the protocol has not told a flow from an SME there."""
    band = margins["order1_band"]
    flucts = orders[orders.g.isin(FLUCTUATIONS)]
    if flucts.empty:
        return not_run(CLAIM1C, "the E1 cells record no fluctuations")
    items, controls = [], []
    for method, flow in (("sme1", "gf"), ("sme2", "gf2")):
        rejected = {}
        for r in _monte_carlo(flucts, flow).itertuples():
            ok = r.points_used >= margins["min_points"] and _finite(r.order_hi) \
                and r.order_hi < band[0]
            rejected[(r.keep_prob, r.g)] = ok
            controls.append(f"{flow} {r.g} at {r.keep_prob:g}: "
                            f"{interval(r.order, r.order_lo, r.order_hi)}")
        for r in _monte_carlo(flucts, method).itertuples():
            status, reason = order_status(r.order_lo, r.order_hi, band, r.points_used,
                                          margins["min_points"], r.points_resolved)
            if not rejected.get((r.keep_prob, r.g), False):
                status, reason = UNDECIDED, f"the rule did not reject the noise-free {flow} here"
            items.append((status, f"{method}, keep_prob {r.keep_prob:g}, {r.g}: "
                          f"{interval(r.order, r.order_lo, r.order_hi)}", reason))
    return _row(CLAIM1C, items,
                f"relative error of the fluctuation at the horizon, the asymptotic rule; order 1 "
                f"holds inside [{band[0]:g}, {band[1]:g}] for both SMEs; negative controls (must "
                f"lie below {band[0]:g}): " + "; ".join(controls))
