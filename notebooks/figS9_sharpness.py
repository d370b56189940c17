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
# # Fig. S9: flatness with and without dropout at the end of training
#
# One column per dropout setting. Top: the dropout-free training loss along random
# filter-normalised directions (Li et al. 2018; the precursor's 1-D landscape) through the final
# parameters, dropout against the no-dropout run at the same lr: mean over directions and seeds,
# band = 95% t-interval over seeds. Bottom: the whole network's top Hessian eigenvalue and trace
# per seed (lines pair a seed's two runs).

# %% tags=["parameters"]
sharpness = []
landscape = []
out_pdf = "figures/figS9_sharpness.pdf"
out_png = "figures/figS9_sharpness.png"

# %%
import matplotlib.pyplot as plt

from dropout_sme.report import frames, plotting, tables

plotting.use_style()
summary = tables.read(sharpness)
bands = frames.landscape_bands(tables.read(landscape))
settings = sorted({(p, lr) for p, lr in zip(summary.keep_prob, summary.lr)},
                  key=lambda s: (s[1], -s[0]))
colors = {"dropout": "C0", "no dropout": "C3"}
fig, axes = plt.subplots(2, len(settings), figsize=(5.2 * len(settings), 7.4), squeeze=False)
for j, (p, lr) in enumerate(settings):
    ax = axes[0, j]
    b = bands[(bands.keep_prob == p) & (bands.lr == lr)]
    for run in sorted(set(b.run)):
        g = b[b.run == run].sort_values("alpha")
        ax.plot(g.alpha, g["mean"], color=colors[run],
                label=run if run == "no dropout" else f"dropout, keep_prob = {p:g}")
        ax.fill_between(g.alpha, g.lo, g.hi, color=colors[run], alpha=0.25)
    ax.set_yscale("log")
    ax.set_xlabel("distance alpha along a filter-normalised direction")
    ax.set_ylabel("dropout-free training loss")
    ax.set_title(f"keep_prob = {p:g}, lr = {lr:g}: 1-D landscape at the last step")
    ax.legend(fontsize="x-small")
    ax = axes[1, j]
    s = summary[(summary.keep_prob == p) & (summary.lr == lr)]
    for k, (col, label) in enumerate((("top_eigenvalue", "top Hessian eigenvalue"),
                                      ("trace", "Hessian trace"))):
        wide = frames.by_run(s, col)
        for seed, row in wide.iterrows():
            ax.plot([2 * k, 2 * k + 1], [row["dropout"], row["no dropout"]], color="0.6",
                    linewidth=0.8)
        for i, run in enumerate(("dropout", "no dropout")):
            ax.scatter([2 * k + i] * len(wide), wide[run], s=14, color=colors[run], zorder=3)
    ax.set_yscale("log")
    ax.set_xticks(range(4), ["eigenvalue\ndropout", "eigenvalue\nno dropout", "trace\ndropout",
                             "trace\nno dropout"])
    ax.set_ylabel("whole-network Hessian (each seed)")
    ax.set_title(f"top eigenvalue (Lanczos) and trace (Hutchinson)\n{s.seed.nunique()} seeds, "
                 "a line pairs a seed's two runs")
fig.suptitle(tables.mask_note(summary) + " (during training; the curvature and the landscape are "
             "of the dropout-free loss)")
fig.tight_layout()
plotting.save(fig, out_pdf, out_png)
