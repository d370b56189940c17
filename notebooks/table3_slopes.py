# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Table 3: fitted slopes of the noise-structure relations
#
# For every dropout setting: the least-squares slope of log y against log x over the top
# directions of one seed, then the mean and 95% t-interval over seeds. Variance-flatness: PCA
# variance sigma_i^2 against the interval flatness F_i (the paper and Feng & Tu predict a negative
# slope); Hessian-variance: the variance along the Hessian's eigenvector u_i against its eigenvalue
# (predicted positive). Directions whose flatness interval was not closed within the cap are
# left out of the fit and counted.
#
# Trajectory data follow Feng & Tu's protocol (docs/spec.md §1.6): the drift direction is handled
# by `drift` (the main rows); the other two handlings are robustness rows. psi = -slope, beside
# Feng & Tu's psi ~ 4 for SGD's trajectory data and psi_D ~ 2 for the noise's own variance (the
# gradient data's relation).
#
# Below the slopes, each setting's trajectory window: is it stationary, and in Feng & Tu's
# exploration phase (training loss small and flat, every weight vector along it a valid
# solution)? Mean [95% t-interval] over seeds: the fraction of the window's variance a linear
# trend in time explains, the first component's share of the variance and |cos| between it and
# the net displacement, the dropout-free training loss's relative change and the training accuracy
# over the window, the norm of the block's gradient at theta*, and the seeds whose window passes
# the declared exploration rule (`exploration`). The SGD and isotropic runs of the noise
# comparison (same window from theta*) get the same diagnosis; the trajectory rows of the CSV
# carry their setting's.

# %% tags=["parameters"]
directions = []
flatness_factor = 2.0
drift = "exclude_pc1"
diagnosis = []
compare = []
exploration = {"min_train_acc": 0.99, "max_loss_change": 0.5}
out_csv = "figures/table3_slopes.csv"
out_md = "figures/table3_slopes.md"

# %%
from dropout_sme import io
from dropout_sme.report import tables

dirs = tables.read(directions)
table, windows = tables.table3(dirs, tables.read(diagnosis),
                               tables.read(compare) if compare else None, flatness_factor, drift,
                               exploration)
io.save_csv(out_csv, table)
table

# %%
ci = tables.ci
lines = ["| keep_prob | lr | relation | drift | slope [95% interval] | psi = -slope | seeds | "
         "directions | flagged |", "|---|---|---|---|---|---|---|---|---|"]
for r in table.itertuples():
    vf = r.relation.startswith("variance-flatness")
    psi = tables.interval(-r.slope_mean, -r.slope_hi, -r.slope_lo) if vf else ""
    what = f"{r.drift} ({r.role})" if r.drift else ""
    lines.append(f"| {r.keep_prob:g} | {r.lr:g} | {r.relation} | {what} | {ci(r, 'slope')} | "
                 f"{psi} | {r.seeds} | "
                 f"{r.directions_per_seed} | {r.flagged_total} |")
lines += ["", f"Slope of log y against log x over the top directions of each seed, mean [95% "
          f"t-interval] over seeds; interval flatness at factor {flatness_factor:g} x L(theta*). "
          "Flagged: directions (all seeds) whose interval did not close within the cap, left out.",
          "", "Trajectory data: Feng & Tu's protocol. Drift handling exclude_pc1: the window's "
          "first principal component is the drift and the fit uses components i >= 2; detrend: "
          "each coordinate minus its linear trend in time, all components; none: the raw window, "
          f"all components. Main rows use {drift}; the others are robustness rows. Anchor "
          "(Feng & Tu, SGD on MNIST): psi ~ 4 on trajectory data = psi_D ~ 2 from the noise's "
          "own variance (what gradient data measure) + psi_tau ~ 1.8 from the correlation time; "
          "the paper reports no value for dropout.", "", "Trajectory windows:", "",
          "| keep_prob | lr | noise | window (samples) | trend share of variance | PC1 share | "
          "\\|cos(PC1, displacement)\\| | training loss change | train acc. (start, end) | "
          "\\|grad\\| at theta* | exploration phase |", "|---|---|---|---|---|---|---|---|---|---|---|"]
for r in windows.itertuples():
    drop = r.noise == "dropout"
    lines.append(
        f"| {r.keep_prob:g} | {r.lr:g} | {r.noise} | "
        + (f"{r.window} ({int(r.samples)})" if drop else "same") + " | "
        f"{ci(r, 'trend_fraction')} | {ci(r, 'pc1_fraction')} | {ci(r, 'pc1_displacement_cos', '.3f')} | "
        f"{ci(r, 'loss_change')} | "
        + (f"{ci(r, 'acc_start', '.3f')}, {ci(r, 'acc_end', '.3f')}" if drop else "") + " | "
        f"{ci(r, 'grad_norm_block', '.4f')} | "
        + (f"{int(r.exploration_seeds)} of {r.seeds} seeds" if drop else "") + " |")
lines += ["", "Trend share: 1 - (variance left after removing each coordinate's least-squares line "
          "in time) / (window variance). Training loss: the dropout-free loss at the evaluations "
          "nearest the window's ends, |change| / start. Exploration phase (declared rule): train "
          f"accuracy >= {exploration['min_train_acc']:g} at both ends and loss change <= "
          f"{exploration['max_loss_change']:g}. SGD and isotropic: the noise comparison's runs "
          "over the same window from theta*.", "", tables.mask_note(dirs) + "."]
io.save_text(out_md, "\n".join(lines) + "\n")
print("\n".join(lines))
