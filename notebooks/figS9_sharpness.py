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
# parameters, dropout against the no-dropout run at the same lr, at the same step and continued
# by GD to the dropout run's training loss (matched loss): mean over directions and seeds, band =
# 95% t-interval over seeds. Bottom: the whole network's top Hessian eigenvalue and trace per
# seed (lines join a seed's runs).

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
colors = {"dropout": "C0", "no dropout": "C3", tables.MATCHED: "C2"}
styles = {"dropout": "-", "no dropout": "-", tables.MATCHED: "--"}
runs = [r for r in colors if r in set(summary.run)]
fig, axes = plt.subplots(2, len(settings), figsize=(5.2 * len(settings), 7.4), squeeze=False)
for j, (p, lr) in enumerate(settings):
    ax = axes[0, j]
    b = bands[(bands.keep_prob == p) & (bands.lr == lr)]
    for run in runs:
        g = b[b.run == run].sort_values("alpha")
        ax.plot(g.alpha, g["mean"], color=colors[run], linestyle=styles[run],
                label=f"dropout, keep_prob = {p:g}" if run == "dropout" else run)
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
        wide = frames.by_run(s, col)[runs]
        xs = [len(runs) * k + i for i in range(len(runs))]
        for seed, row in wide.iterrows():
            ax.plot(xs, row.to_numpy(), color="0.6", linewidth=0.8)
        for x, run in zip(xs, runs):
            ax.scatter([x] * len(wide), wide[run], s=14, color=colors[run], zorder=3,
                       label=run if k == 0 else None)
    ax.set_yscale("log")
    ax.set_xticks([len(runs) * k + (len(runs) - 1) / 2 for k in range(2)],
                  ["top eigenvalue", "trace"])
    ax.legend(fontsize="x-small")
    ax.set_ylabel("whole-network Hessian (each seed)")
    ax.set_title(f"top eigenvalue (Lanczos) and trace (Hutchinson)\n{s.seed.nunique()} seeds, "
                 "a line joins a seed's runs")
fig.suptitle(tables.mask_note(summary) + " (during training; the curvature and the landscape are "
             "of the dropout-free loss)")
fig.tight_layout()
plotting.save(fig, out_pdf, out_png)
