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

# %% tags=["parameters"]
directions = []
flatness_factor = 2.0
out_csv = "figures/table3_slopes.csv"
out_md = "figures/table3_slopes.md"

# %%
import pandas as pd

from dropout_sme import io
from dropout_sme.report import stats, tables

dirs = tables.read(directions)
per_seed = stats.relation_slopes(dirs, flatness_factor)
rows = []
for (p, lr, relation), g in per_seed.groupby(["keep_prob", "lr", "relation"], sort=False):
    m, lo, hi = stats.mean_ci(g.slope)
    rows.append({"keep_prob": p, "lr": lr, "relation": relation, "slope_mean": m, "slope_lo": lo,
                 "slope_hi": hi, "seeds": int(g.slope.notna().sum()),
                 "directions_per_seed": int(g.used.max() + g.flagged.max()),
                 "flagged_total": int(g.flagged.sum()), "flatness_factor": flatness_factor})
table = pd.DataFrame(rows).sort_values(["lr", "keep_prob"], ascending=[True, False], kind="stable")
io.save_csv(out_csv, table)
table

# %%
lines = ["| keep_prob | lr | relation | slope [95% interval] | seeds | directions | flagged |",
         "|---|---|---|---|---|---|---|"]
for r in table.itertuples():
    lines.append(f"| {r.keep_prob:g} | {r.lr:g} | {r.relation} | {r.slope_mean:.2f} "
                 f"[{r.slope_lo:.2f}, {r.slope_hi:.2f}] | {r.seeds} | {r.directions_per_seed} | "
                 f"{r.flagged_total} |")
lines += ["", f"Slope of log y against log x over the top directions of each seed, mean [95% "
          f"t-interval] over seeds; interval flatness at factor {flatness_factor:g} x L(theta*). "
          "Flagged: directions (all seeds) whose interval did not close within the cap, left out.",
          "", tables.mask_note(dirs) + "."]
io.save_text(out_md, "\n".join(lines) + "\n")
print("\n".join(lines))
