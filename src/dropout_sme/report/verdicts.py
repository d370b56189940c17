"""The verdict rules' primitives: an item's status (``holds``, ``fails``, ``undecided``) from an
interval against a band, a sign or a level, and a claim's row and verdict from its items'
statuses (``claims``: the claims themselves)."""

from __future__ import annotations

import numpy as np

HOLDS, FAILS, UNDECIDED = "holds", "fails", "undecided"


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


def order_status(lo, hi, band, points_used: int, min_points: int,
                 points_resolved: int | None = None):
    """A fitted weak order's interval against the band around its prediction (an equivalence
    test): holds when the interval lies inside the band, fails when it lies outside it,
    undecided when it crosses an edge, or when fewer than ``min_points`` learning rates were
    fitted: too few resolved (``points_resolved``, default ``points_used``) or too few of those
    in the asymptotic regime."""
    resolved = points_used if points_resolved is None else points_resolved
    if resolved < min_points:
        return UNDECIDED, f"{resolved} resolved learning rates, fewer than {min_points}"
    if points_used < min_points:
        return UNDECIDED, (f"outside the asymptotic regime: {points_used} of {resolved} resolved "
                           f"learning rates in it")
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
