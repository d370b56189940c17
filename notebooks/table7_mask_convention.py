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
# # Table 7: does the mask convention matter?
#
# The theory's dropout shares one mask across the batch at each step (`per_step`); torch's
# `nn.Dropout` draws one per sample (`per_sample`), which the E2-E4 runs use. At theta* of each
# dropout setting, on the same seeds and with the same K masks, both conventions' noise: Tr Sigma,
# the alignment alpha(H, Sigma) (from the K-mask covariance) and the variance-flatness slope of
# the gradient data. Mean [95% t-interval] over seeds; the trace ratio is paired by seed.

# %% tags=["parameters"]
sensitivity = []
alignment = []
directions = []
flatness_factor = 2.0
out_csv = "figures/table7_mask_convention.csv"
out_md = "figures/table7_mask_convention.md"

# %%
import pandas as pd

from dropout_sme import io
from dropout_sme.report import stats, tables

other = tables.read(sensitivity)
al = tables.read(alignment)
dirs = tables.read(directions)
star = al[al.theta_star].set_index(["setting", "seed"])
slopes = stats.slopes(dirs, "gradient", flatness_factor).set_index(["setting", "seed"])
per_seed = []
for (setting, seed), g in other.groupby(["setting", "seed"]):
    run = star.loc[(setting, seed)]
    per_seed.append({"setting": setting, "keep_prob": run.keep_prob, "lr": run.lr, "seed": seed,
                     "mask": run["mask"], "masks": int(run.masks), "trace_s": run.trace_s,
                     "alpha": run.alpha, "slope": slopes.loc[(setting, seed), "slope"]})
    per_seed.append({"setting": setting, "keep_prob": run.keep_prob, "lr": run.lr, "seed": seed,
                     "mask": g["mask"].iloc[0], "masks": int(g.masks.iloc[0]),
                     "trace_s": g.trace_s.iloc[0], "alpha": g.alpha.iloc[0],
                     "slope": stats.fit_slope(g.width, g.variance),
                     "trace_ratio": g.trace_s.iloc[0] / run.trace_s})
per_seed = pd.DataFrame(per_seed)
table = stats.summarize(per_seed, ["keep_prob", "lr", "mask", "masks"],
                        ["trace_s", "alpha", "slope", "trace_ratio"])
table = table.sort_values(["lr", "keep_prob"], ascending=[True, False], kind="stable")
io.save_csv(out_csv, table)
table


# %%
def ci(r, name, fmt=".3g"):
    m, lo, hi = (getattr(r, f"{name}_{s}") for s in ("mean", "lo", "hi"))
    if m != m:
        return ""
    return f"{m:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]" if lo == lo else f"{m:{fmt}}"


runs = set(al["mask"])
lines = ["| keep_prob | lr | masks | K | seeds | Tr Sigma | Tr Sigma / the run's | alpha(H, Sigma) | "
         "variance-flatness slope, gradient data |", "|---|---|---|---|---|---|---|---|---|"]
for r in table.itertuples():
    used = " (the runs')" if r.mask in runs else ""
    lines.append(f"| {r.keep_prob:g} | {r.lr:g} | {r.mask}{used} | {r.masks} | {r.n} | "
                 f"{ci(r, 'trace_s')} | {ci(r, 'trace_ratio')} | {ci(r, 'alpha', '.3f')} | "
                 f"{ci(r, 'slope', '.2f')} |")
lines += ["", "Mean [95% t-interval] over the seeds both conventions were measured on; alpha "
          "from the K-mask covariance (the same K for both, so the same finite-K bias); slope: "
          f"interval flatness at factor {flatness_factor:g} over the top PCA directions."]
io.save_text(out_md, "\n".join(lines) + "\n")
print("\n".join(lines))
