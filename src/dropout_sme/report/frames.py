"""What the figures draw, computed once in tested code: the figure notebooks group, pair and
merge nothing themselves (the tables' builders are in ``tables``).

- ``seeds``: seeds per group;
- ``slopes_by_factor``: fig. S4's slopes per flatness factor, mean and interval over seeds;
- ``noise_comparison``: fig. S6's per-seed values of dropout beside the comparison's noises;
- ``keep_sweep``: fig. S8's per-seed slopes, alpha and Tr Sigma per keep probability, summarised;
- ``landscape_bands``, ``by_run``: fig. S9's loss curves over seeds and a seed's two runs side by
  side.
"""

from __future__ import annotations

import pandas as pd

from . import stats

SETTING = ["keep_prob", "lr"]


def seeds(frame: pd.DataFrame, by=tuple(SETTING)) -> pd.Series:
    """The number of distinct seeds per group of ``by``."""
    return frame.groupby(list(by)).seed.nunique()


def slopes_by_factor(dirs: pd.DataFrame, fits: dict, factors) -> pd.DataFrame:
    """Per data kind (``fits``: kind -> ``stats.Relation``), flatness factor and setting: the
    mean and t-interval over seeds of the variance-flatness slope, and the flagged directions."""
    rows = []
    for kind, fit in fits.items():
        for c in factors:
            s = stats.slopes(dirs, fit.kind, c, first=fit.first)
            for (p, lr), g in s.groupby(SETTING):
                m, lo, hi = stats.mean_ci(g.slope)
                rows.append({"kind": kind, "factor": c, "keep_prob": p, "lr": lr, "mean": m,
                             "lo": lo, "hi": hi, "flagged": int(g.flagged.sum())})
    return pd.DataFrame(rows)


def noise_comparison(other: pd.DataFrame, alignment: pd.DataFrame, dirs: pd.DataFrame,
                     flatness_factor: float, drift: str) -> tuple[pd.DataFrame, pd.Series]:
    """(per seed, batch): alpha and the gradient and trajectory slopes of dropout at theta*
    beside the comparison's SGD and isotropic rows for the same seeds, and the matched SGD batch
    (median over seeds) per setting."""
    star = alignment[alignment.theta_star].set_index(["setting", "seed"])
    grad = stats.slopes(dirs, "gradient", flatness_factor).set_index(["setting", "seed"])
    fit = stats.trajectory_fit(drift)
    traj = stats.slopes(dirs, fit.kind, flatness_factor, first=fit.first).set_index(
        ["setting", "seed"])
    other = other.assign(slope_trajectory=other[f"slope_trajectory_{drift}"])
    sgd = other[other.noise == "sgd"]
    drop = sgd[["setting", "keep_prob", "lr", "seed"]].assign(noise="dropout")
    keys = list(zip(drop.setting, drop.seed))
    drop["alpha"] = star.loc[keys, "alpha"].to_numpy()
    drop["slope_gradient"] = grad.loc[keys, "slope"].to_numpy()
    drop["slope_trajectory"] = traj.loc[keys, "slope"].to_numpy()
    return pd.concat([drop, other], ignore_index=True), sgd.groupby(SETTING).batch.median()


def keep_sweep(sweep: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per seed, summary): per keep probability and seed the gradient data's slope over the
    unflagged directions, alpha and Tr Sigma_p; their means and intervals per keep probability."""
    rows = []
    for (p, seed), g in sweep.groupby(["keep_prob", "seed"]):
        ok = ~g.flagged
        rows.append({"keep_prob": p, "seed": seed,
                     "slope": stats.fit_slope(g.width[ok], g.variance[ok]),
                     "alpha": g.alpha.iloc[0], "trace_s": g.trace_s.iloc[0]})
    per_seed = pd.DataFrame(rows)
    return per_seed, stats.summarize(per_seed, ["keep_prob"], ["slope", "alpha", "trace_s"])


def landscape_bands(curves: pd.DataFrame) -> pd.DataFrame:
    """Per setting, run and distance alpha: the mean and t-interval over seeds of the loss along
    the directions (each seed's loss first averaged over its directions)."""
    per_seed = curves.groupby([*SETTING, "run", "seed", "alpha"], as_index=False).loss.mean()
    rows = []
    for (p, lr, run, a), g in per_seed.groupby([*SETTING, "run", "alpha"]):
        m, lo, hi = stats.mean_ci(g.loss)
        rows.append({"keep_prob": p, "lr": lr, "run": run, "alpha": a, "mean": m, "lo": lo,
                     "hi": hi})
    return pd.DataFrame(rows)


def by_run(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` with a row per seed and a column per run (a seed's runs side by side)."""
    return frame.pivot(index="seed", columns="run", values=column)
