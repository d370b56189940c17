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
# # Fig. S8: the dropout noise structure against the keep probability
#
# At theta* of the first dropout setting (the landscape fixed), K full-batch dropout gradients of
# the analysed block for each keep probability p, including small p (a reviewer's request).
# Left: the inverse variance-flatness slope of the gradient data (top PCA directions of Sigma_p
# against their interval flatness), each seed and the mean with its 95% t-interval. Middle:
# alignment alpha(H, Sigma_p). Right: Tr Sigma_p (log scale); dashed: (1 - p) / p through the
# largest p, the law of a single dropout layer at small noise, which a net with two dropout layers
# outgrows.

# %% tags=["parameters"]
sweep = []
trained_keep_prob = 0.9
out_pdf = "figures/figS8_keep_sweep.pdf"
out_png = "figures/figS8_keep_sweep.png"

# %%
import matplotlib.pyplot as plt
import numpy as np

from dropout_sme.report import frames, plotting, tables

plotting.use_style()
d = tables.read(sweep)
factor = float(d.factor.iloc[0])
per_seed, summary = frames.keep_sweep(d)
block, K = d.block.iloc[0], int(d.masks.iloc[0])

fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
panels = [("slope", f"variance-flatness slope (gradient data, factor {factor:g})"),
          ("alpha", "alignment alpha(H, Sigma_p)"), ("trace_s", "Tr Sigma_p")]
for ax, (col, title) in zip(axes, panels):
    ax.scatter(per_seed.keep_prob, per_seed[col], s=12, color="0.5", alpha=0.6, label="seeds")
    m, lo, hi = (summary[f"{col}_{s}"].to_numpy() for s in ("mean", "lo", "hi"))
    ax.errorbar(summary.keep_prob, m, yerr=[m - lo, hi - m], fmt="o-", color="C0", capsize=4,
                label=f"mean and 95% interval ({int(summary.n.iloc[0])} seeds)")
    ax.axvline(trained_keep_prob, color="C3", linestyle=":", linewidth=1,
               label=f"keep_prob theta* was trained with ({trained_keep_prob:g})")
    ax.set_xlabel("keep probability p of the noise")
    ax.set_title(title)
axes[2].set_yscale("log")
p_ref = summary.keep_prob.max()
t_ref = float(summary.trace_s_mean[summary.keep_prob == p_ref].iloc[0])
grid = np.linspace(summary.keep_prob.min(), p_ref, 50)
axes[2].plot(grid, t_ref * (1 - grid) / grid * p_ref / (1 - p_ref), "--", color="0.3",
             label="(1 - p) / p, one dropout layer's law")
axes[0].set_ylabel("fitted slope")
axes[1].set_ylabel("alpha")
axes[2].set_ylabel("Tr Sigma_p")
fig.suptitle(f"theta* of the keep_prob = {trained_keep_prob:g} run; block {block}, K = {K} "
             f"dropout gradients per p and seed; {tables.mask_note(d)}", y=1.02)
for ax in axes:
    ax.legend(fontsize="x-small")
fig.tight_layout()
plotting.save(fig, out_pdf, out_png)
