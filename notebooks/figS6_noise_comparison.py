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
# # Fig. S6: dropout noise against SGD and Gaussian noise of the same magnitude
#
# At theta* of every seed, mini-batch SGD (batch size solved so that Tr Sigma_SGD equals dropout's
# Tr Sigma in the block; Sigma_SGD exact for batches drawn without replacement) and isotropic
# Gaussian noise injected into every parameter's update (sigma^2 = Tr Sigma / B). Left: alignment
# alpha(H, Sigma) at theta* (dropout: K masks; isotropic noise: Tr H / (|H|_F sqrt B)). Middle:
# variance-flatness slope of the gradient data (undefined for isotropic noise: every direction has
# variance sigma^2). Right: the slope of the trajectory data, each noise run over the same window
# from theta*, through the same protocol (Feng & Tu's, the drift handled by `drift`). Points:
# seeds; bars: mean and 95% t-interval.

# %% tags=["parameters"]
compare = []
alignment = []
directions = []
flatness_factor = 2.0
drift = "exclude_pc1"
out_pdf = "figures/figS6_noise_comparison.pdf"
out_png = "figures/figS6_noise_comparison.png"

# %%
import matplotlib.pyplot as plt
import numpy as np

from dropout_sme.report import frames, plotting, stats, tables

plotting.use_style()
other = tables.read(compare)
frame, batch = frames.noise_comparison(other, tables.read(alignment), tables.read(directions),
                                       flatness_factor, drift)
names = {"dropout": "dropout", "sgd": "mini-batch\nSGD", "gaussian": "isotropic\nGaussian"}
settings = sorted({(p, lr) for p, lr in zip(frame.keep_prob, frame.lr)}, key=lambda s: (s[1], -s[0]))
panels = [("alpha", "alignment alpha(H, Sigma) at theta*"),
          ("slope_gradient", "variance-flatness slope, gradient data"),
          ("slope_trajectory", f"variance-flatness slope, trajectory data\n(Feng & Tu's protocol, "
           f"drift: {drift})")]

fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
for ax, (col, title) in zip(axes, panels):
    for j, (p, lr) in enumerate(settings):
        for i, kind in enumerate(names):
            v = frame[(frame.keep_prob == p) & (frame.lr == lr) & (frame.noise == kind)][col]
            xpos = i + (j - (len(settings) - 1) / 2) * 0.25
            m, lo, hi = stats.mean_ci(v)
            if np.isnan(m):
                ax.text(xpos, 0, "n/a", ha="center", va="bottom", fontsize="x-small", color="0.4")
                continue
            ax.scatter([xpos] * len(v), v, s=10, color=f"C{j}", alpha=0.5, linewidths=0)
            ax.errorbar([xpos], [m], yerr=[[m - lo], [hi - m]] if np.isfinite(lo) else None,
                        fmt="o", color=f"C{j}", capsize=4,
                        label=f"keep_prob = {p:g}, lr = {lr:g} (matched SGD batch "
                        f"{batch[(p, lr)]:.0f}, median)" if i == 0 else None)
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.set_xticks(range(len(names)), list(names.values()))
    ax.set_xlim(-0.5, len(names) - 0.5)
    ax.set_title(title)
axes[0].set_ylabel("value (each seed; mean and 95% interval)")
axes[0].legend(fontsize="x-small", loc="lower left")
fig.suptitle(tables.mask_note(other))
fig.tight_layout()
plotting.save(fig, out_pdf, out_png)
stats.summarize(frame, ["keep_prob", "lr", "noise"], ["alpha", "slope_gradient", "slope_trajectory"])
