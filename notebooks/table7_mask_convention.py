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
from dropout_sme import io
from dropout_sme.report import tables

al = tables.read(alignment)
table = tables.table7(tables.read(sensitivity), al, tables.read(directions), flatness_factor)
io.save_csv(out_csv, table)
table


# %%
def ci(r, name, fmt=".3g"):
    return tables.ci(r, name, fmt)


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
