"""What the notebooks read, the tables they render, and the null bands they draw, each in one
place: the notebooks group, pair and merge nothing themselves.

- ``read``: the CSVs of several jobs as one frame;
- ``read_metrics``, ``final_rows``: training metrics, refused when a file ends before its run's
  final step (``final_step``, written by the training job), and their rows at that step;
- ``mask_note``: which dropout mask convention produced a frame, in words, for every E2-E5
  figure and table;
- ``null_bands``: the two null models of alpha as bands, mean +- ``NULL_Z`` standard deviations
  of the exact moments (the same-spectra null: ``spectra_mean`` / ``spectra_sd``; the centred
  Wishart null: mean 0, ``wishart_sd``); the upper end is the null's 97.5% point;
- ``interval``, ``ci``: the one formatter of a mean and its 95% interval;
- ``table1`` ... ``table8``: each table's rows (means and intervals over seeds, pairings by seed)
  from the frames its notebook read; ``claims`` judges these same objects.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..io import DamagedFile
from . import stats

NULL_Z = 1.96          # the two-sided 95% point of a normal distribution


def read(files) -> pd.DataFrame:
    """The CSVs ``files`` concatenated (a single path counts as one file)."""
    files = [files] if isinstance(files, str) else list(files)
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)


def read_metrics(files) -> pd.DataFrame:
    """Training metrics CSVs concatenated; a file in which a seed's rows end before the run's
    final step stops the reader with the file's name: its last rows are not the final ones."""
    files = [files] if isinstance(files, str) else list(files)
    frames = []
    for f in files:
        m = pd.read_csv(f)
        if m.empty or "final_step" not in m or m.final_step.isna().any():
            raise DamagedFile(f"{f}: no rows or no final_step: not a complete metrics file")
        last = m.groupby("seed").step.max()
        short = last[last < m.final_step.max()]
        if len(short):
            raise DamagedFile(f"{f}: seed {short.index[0]} ends at step {short.iloc[0]}, before "
                              f"the run's final step {m.final_step.max()}: the file ends early")
        frames.append(m)
    return pd.concat(frames, ignore_index=True)


def final_rows(metrics: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``read_metrics`` at each run's final step (never the largest step present)."""
    return metrics[metrics.step == metrics.final_step]


def null_bands(alignment: pd.DataFrame) -> pd.DataFrame:
    """A copy of alignment rows with the bands of both null models: ``spectra_lo``,
    ``spectra_hi``, ``wishart_lo``, ``wishart_hi`` (the ``_hi`` columns are the 97.5% points)."""
    out = alignment.copy()
    out["spectra_hi"] = out.spectra_mean + NULL_Z * out.spectra_sd
    out["spectra_lo"] = out.spectra_mean - NULL_Z * out.spectra_sd
    out["wishart_hi"] = NULL_Z * out.wishart_sd
    out["wishart_lo"] = -out["wishart_hi"]
    return out


MASKS = {"per_sample": "per_sample (one mask per example, as nn.Dropout)",
         "per_step": "per_step (one mask per step shared by the batch, the theory's)"}


def mask_note(frame: pd.DataFrame) -> str:
    """'Dropout masks: ...' for the mask conventions in ``frame`` (its ``mask`` column)."""
    found = sorted(set(frame["mask"])) if "mask" in frame else []
    return "Dropout masks: " + (", ".join(MASKS.get(m, m) for m in found) or "not recorded")



def interval(mean, lo, hi, fmt: str = ".2f", missing: str | None = "", scale: float = 1.0) -> str:
    """'mean [lo, hi]' in ``fmt``, times ``scale``; the mean alone where the interval is not
    finite (one seed); ``missing`` where the mean is not finite (None: format it anyway)."""
    if missing is not None and not math.isfinite(mean):
        return missing
    text = f"{scale * mean:{fmt}}"
    return f"{text} [{scale * lo:{fmt}}, {scale * hi:{fmt}}]" if math.isfinite(lo) else text


def ci(row, name: str, fmt: str = ".2f", missing: str | None = "", scale: float = 1.0) -> str:
    """``interval`` of a table row's ``<name>_mean``, ``_lo`` and ``_hi`` (absent: missing)."""
    m, lo, hi = (getattr(row, f"{name}_{s}", float("nan")) for s in ("mean", "lo", "hi"))
    return interval(m, lo, hi, fmt, missing, scale)


def _with_ci(row: dict, name: str, values) -> None:
    row[f"{name}_mean"], row[f"{name}_lo"], row[f"{name}_hi"] = stats.mean_ci(values)


def _by_setting(table: pd.DataFrame, *extra) -> pd.DataFrame:
    """Rows by learning rate, then keep probability from the largest (the tables' order)."""
    return table.sort_values(["lr", "keep_prob", *extra], ascending=[True, False, *[True] * len(
        extra)], kind="stable")


def table1(final: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy at the final step per (keep_prob, lr), beside the no-dropout run of the same
    lr and the difference paired by seed (``final``: ``final_rows`` of the metrics)."""
    rows = []
    for (p, lr), g in final.groupby(["keep_prob", "lr"]):
        acc = g.set_index("seed").test_acc
        row = {"keep_prob": p, "lr": lr, "step": int(g.step.iloc[0]), "seeds": len(acc)}
        _with_ci(row, "test_acc", acc)
        base = final[(final.keep_prob == 1) & (final.lr == lr)].set_index("seed").test_acc
        paired = (acc - base).dropna() if p < 1 and len(base) else pd.Series(dtype=float)
        _with_ci(row, "no_dropout_acc", base if p < 1 else [])
        _with_ci(row, "diff", paired)
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["lr", "keep_prob"], ascending=[True, False])


NOISE_LABELS = {"dropout": "dropout", "sgd": "SGD (matched magnitude)",
                "gaussian": "isotropic noise (matched magnitude)", "none": "noise-free GD",
                "positive_control": "positive control: SGD at Feng & Tu's batch and lr"}
ANCHOR_PSI = 4.0          # Feng & Tu's psi for SGD's trajectory data (docs/spec.md §1.6)


def table3(dirs: pd.DataFrame, diagnosis: pd.DataFrame, compare: pd.DataFrame | None,
           flatness_factor: float, drift: str, exploration: dict
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(slopes, windows). Slopes: per setting and relation, the mean and t-interval over seeds of
    each seed's fitted slope; the main rows use ``drift`` for trajectory data, the other drift
    handlings are robustness rows, and the comparison's runs (``compare``: SGD and isotropic
    noise, the noise-free run, the positive control) are control rows under every handling
    (column ``noise``); the main trajectory rows carry their window's diagnosis.
    Windows: per setting and noise, the diagnosis of the trajectory window, and for dropout the
    seeds in the exploration phase."""
    main = stats.relation_slopes(dirs, flatness_factor, drift=drift).assign(drift="", role="main")
    main.loc[main.relation == stats.trajectory_fit(drift).name, "drift"] = drift
    robust = []
    for other in (d for d in stats.DRIFTS if d != drift):
        fit = stats.trajectory_fit(other)
        s = stats.slopes(dirs, fit.kind, flatness_factor, first=fit.first)
        robust.append(s.assign(relation=fit.name, drift=other, role="robustness"))
    per_seed = pd.concat([main, *robust], ignore_index=True).assign(noise="dropout")
    rows = []
    for (p, lr, relation, d, role), g in per_seed.groupby(
            ["keep_prob", "lr", "relation", "drift", "role"], sort=False):
        row = {"keep_prob": p, "lr": lr, "noise": "dropout", "relation": relation, "drift": d,
               "role": role}
        _with_ci(row, "slope", g.slope)
        row.update(seeds=int(g.slope.notna().sum()),
                   directions_per_seed=int(g.used.max() + g.flagged.max()),
                   flagged_total=int(g.flagged.sum()), flatness_factor=flatness_factor)
        rows.append(row)
    rows += control_rows(compare, drift, flatness_factor)
    table = _by_setting(pd.DataFrame(rows))

    diag = diagnosis.assign(noise="dropout")
    diag["exploration"] = stats.exploration(diag, exploration)
    columns = ["trend_fraction", "pc1_fraction", "pc1_displacement_cos",
               "fluctuation_trend_fraction"]
    frames = [diag]
    if compare is not None and len(compare):
        frames.append(compare.reindex(columns=["keep_prob", "lr", "seed", "noise", *columns]))
    window_rows = []
    for (p, lr, noise), g in pd.concat(frames, ignore_index=True).groupby(
            ["keep_prob", "lr", "noise"], sort=False):
        row = {"keep_prob": p, "lr": lr, "noise": noise, "seeds": len(g)}
        for c in columns + (["loss_change", "acc_start", "acc_end", "grad_norm_block"]
                            if noise == "dropout" else []):
            _with_ci(row, c, g[c] if c in g else [])
        if noise == "dropout":
            row["window"] = f"{int(g.window_start.iloc[0])}-{int(g.window_end.iloc[0])}"
            row["samples"] = int(g.samples.iloc[0])
            row["exploration_seeds"] = int(g.exploration.sum())
        window_rows.append(row)
    windows = pd.DataFrame(window_rows)
    own = windows[windows.noise == "dropout"].drop(columns=["noise", "seeds"])
    trajectory = (table.relation == stats.trajectory_fit(drift).name) & (table.role == "main")
    table = pd.concat([table[trajectory].merge(own, on=["keep_prob", "lr"], how="left"),
                       table[~trajectory]], ignore_index=True)
    return _by_setting(table), windows


def control_rows(compare: pd.DataFrame | None, drift: str, flatness_factor: float) -> list:
    """Table 3's control rows: per setting, run of the comparison (``noise``) and drift handling
    (the configured one first), the trajectory slope's mean and interval over seeds."""
    if compare is None or not len(compare):
        return []
    rows = []
    order = [drift, *(d for d in stats.DRIFTS if d != drift)]
    name = stats.trajectory_fit(drift).name
    for (p, lr, noise), g in compare.groupby(["keep_prob", "lr", "noise"], sort=False):
        for d in order:
            row = {"keep_prob": p, "lr": lr, "noise": noise, "relation": name, "drift": d,
                   "role": "control"}
            slope = g[f"slope_trajectory_{d}"]
            _with_ci(row, "slope", slope)
            row.update(seeds=int(slope.notna().sum()), directions_per_seed=np.nan,
                       flagged_total=int(g[f"flagged_trajectory_{d}"].sum()),
                       flatness_factor=flatness_factor)
            rows.append(row)
    return rows


def anchor(compare: pd.DataFrame | None, drift: str) -> str:
    """What the positive control (the comparison's ``positive_control`` rows, their slope under
    ``drift``) says about Feng & Tu's psi ~ 4 on this data: the sentence the figures and tables
    print instead of the bare anchor."""
    pc = compare[compare.noise == "positive_control"] if compare is not None else []
    if not len(pc):
        return (f"Feng & Tu's psi ~ {ANCHOR_PSI:g} (SGD on MNIST) is not checked on this data "
                "(no positive control in this run)")
    parts, recovered = [], []
    for (p, lr), g in pc.groupby(["keep_prob", "lr"], sort=False):
        m, lo, hi = stats.mean_ci(-g[f"slope_trajectory_{drift}"])
        recovered.append(bool(lo <= ANCHOR_PSI <= hi))
        parts.append(f"psi {interval(m, lo, hi)} from theta* of keep_prob {p:g}, lr {lr:g}")
    verdict = ("recovers Feng & Tu's psi ~ 4 on this data" if all(recovered) else
               f"does not recover Feng & Tu's psi ~ 4 on this data ({sum(recovered)} of "
               f"{len(recovered)} intervals contain 4)")
    return (f"positive control (SGD at Feng & Tu's batch {int(pc.batch.iloc[0])} and lr "
            f"{pc.control_lr.iloc[0]:g}), drift {drift}: " + "; ".join(parts) + f": it {verdict}")


def table4(alignment: pd.DataFrame, nulls: pd.DataFrame) -> pd.DataFrame:
    """Per setting: alpha at the final checkpoint (debiased and plain), its gain since step 0
    paired by seed, alpha at theta* from K masks, and both null models (exact moments at the final
    step, the Monte Carlo draws at theta*)."""
    al, nu = alignment, nulls
    rows = []
    for (p, lr), g in null_bands(al[~al.theta_star]).groupby(["keep_prob", "lr"]):
        final = g[g.step == g.step.max()]
        star = al[al.theta_star & (al.keep_prob == p) & (al.lr == lr)]
        n = nu[(nu.keep_prob == p) & (nu.lr == lr)]
        row = {"keep_prob": p, "lr": lr, "seeds": final.seed.nunique(),
               "final_step": int(final.step.max()), "alignment_masks": int(final.masks.iloc[0]),
               "theta_star_step": int(star.step.iloc[0]),
               "theta_star_masks": int(star.masks.iloc[0])}
        initial = g[g.step == g.step.min()].set_index("seed").alpha_debiased
        gain = final.set_index("seed").alpha_debiased - initial          # paired by seed
        for name, values in (("alpha_final", final.alpha_debiased),
                             ("alpha_final_plain", final.alpha), ("alpha_theta_star", star.alpha),
                             ("alpha_gain", gain.dropna())):
            _with_ci(row, name, values)
        row["spectra_null_mean"] = final.spectra_mean.mean()
        row["spectra_null_q975"] = final.spectra_hi.max()
        row["spectra_null_mc_max"] = n[n.null == "same_spectra"].alpha.max()
        row["wishart_null_q975"] = final.wishart_hi.iloc[0]
        row["wishart_null_mc_max_abs"] = n[n.null == "centred_wishart"].alpha.abs().max()
        row["null_draws"] = int(n[n.null == "same_spectra"].draw.nunique())
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["lr", "keep_prob"], ascending=[True, False])


def table5(alignment: pd.DataFrame, directions: pd.DataFrame, final: pd.DataFrame,
           labels: dict, flatness_factor: float, drift: str,
           diagnosis: pd.DataFrame | None = None, exploration: dict | None = None
           ) -> pd.DataFrame:
    """Per experiment (``experiment`` column of each frame) and dropout setting: the three
    slopes, alpha at the final checkpoint and at theta*, the nulls' 97.5% point, and the final
    test accuracy with and without dropout (``final``: ``final_rows`` of the metrics). With the
    trajectory windows' ``diagnosis`` and the ``exploration`` rule: how many seeds' windows lie in
    the exploration phase (``window_seeds_exploring`` of ``window_seeds``)."""
    al, met = alignment, final
    fits = stats.relations(drift)
    rows = []
    for (e, setting), d in directions.groupby(["experiment", "setting"], sort=False):
        a = al[(al.experiment == e) & (al.setting == setting)]
        p, lr = float(d.keep_prob.iloc[0]), float(d.lr.iloc[0])
        last = null_bands(a[~a.theta_star])
        last = last[last.step == last.step.max()]
        star = a[a.theta_star]
        row = {"experiment": e, "architecture": labels.get(e, e), "keep_prob": p, "lr": lr,
               "seeds": int(d.seed.nunique()), "block": a.block.iloc[0],
               "block_size": int(a.block_size.iloc[0]),
               "theta_star_masks": int(star.masks.iloc[0]), "final_step": int(last.step.max())}
        for name, fit in (("slope_gradient", fits["vf_gradient"]),
                          ("slope_trajectory", fits["vf_trajectory"]),
                          ("slope_hessian_variance", fits["hv_gradient"])):
            s = stats.slopes(d, fit.kind, flatness_factor, x=fit.x, y=fit.y, first=fit.first)
            _with_ci(row, name, s.slope)
        _with_ci(row, "alpha_final", last.alpha_debiased)
        _with_ci(row, "alpha_theta_star", star.alpha)
        row["null_q975_final"] = float(max(last.spectra_hi.max(), last.wishart_hi.max()))
        if diagnosis is not None and exploration is not None:
            w = diagnosis[(diagnosis.experiment == e) & (diagnosis.setting == setting)]
            row["window_seeds"] = len(w)
            row["window_seeds_exploring"] = int(stats.exploration(w, exploration).sum())
        for name, run in (("test_acc_dropout", setting), ("test_acc_no_dropout", f"p1_lr{lr:g}")):
            m = met[(met.experiment == e) & (met.setting == run)]
            _with_ci(row, name, m.test_acc if len(m) else [])
        rows.append(row)
    return pd.DataFrame(rows)


def table7(other: pd.DataFrame, alignment: pd.DataFrame, directions: pd.DataFrame,
           flatness_factor: float) -> pd.DataFrame:
    """Per setting and mask convention: Tr Sigma, alpha and the gradient data's slope at theta*
    under the runs' convention and the other one (``other``: the noise_mask jobs' rows), and the
    other's Tr Sigma over the run's, paired by seed."""
    star = alignment[alignment.theta_star].set_index(["setting", "seed"])
    slopes = stats.slopes(directions, "gradient", flatness_factor).set_index(["setting", "seed"])
    per_seed = []
    for (setting, seed), g in other.groupby(["setting", "seed"]):
        run = star.loc[(setting, seed)]
        same = {"setting": setting, "keep_prob": run.keep_prob, "lr": run.lr, "seed": seed}
        per_seed.append({**same, "mask": run["mask"], "masks": int(run.masks),
                         "trace_s": run.trace_s, "alpha": run.alpha,
                         "slope": slopes.loc[(setting, seed), "slope"]})
        per_seed.append({**same, "mask": g["mask"].iloc[0], "masks": int(g.masks.iloc[0]),
                         "trace_s": g.trace_s.iloc[0], "alpha": g.alpha.iloc[0],
                         "slope": stats.fit_slope(g.width, g.variance),
                         "trace_ratio": g.trace_s.iloc[0] / run.trace_s})
    table = stats.summarize(pd.DataFrame(per_seed), ["keep_prob", "lr", "mask", "masks"],
                            ["trace_s", "alpha", "slope", "trace_ratio"])
    return _by_setting(table)


MATCHED = "no dropout, matched loss"


def table8(sharpness: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per run, paired): the whole network's top eigenvalue, trace, training loss and the
    baseline's extra steps per setting and run; the dropout-minus-baseline differences paired by
    seed against the baseline at the same step (``against`` "no dropout") and continued to the
    dropout run's loss (``against`` MATCHED, with the seeds that reached it, ``matched``)."""
    columns = ["top_eigenvalue", "trace", "loss"]
    runs = stats.summarize(sharpness, ["keep_prob", "lr", "run"], [*columns, "extra_steps"])
    paired = []
    for against in ("no dropout", MATCHED):
        if against not in set(sharpness.run):
            continue
        d = stats.paired_differences(sharpness, columns, against).assign(against=against)
        m = sharpness[sharpness.run == against].groupby(["keep_prob", "lr"]).matched
        d["matched"] = [int(m.get_group(k).sum()) if against == MATCHED else np.nan
                        for k in zip(d.keep_prob, d.lr)]
        paired.append(d)
    paired = _by_setting(pd.concat(paired, ignore_index=True), "against")
    return _by_setting(runs, "run"), paired
