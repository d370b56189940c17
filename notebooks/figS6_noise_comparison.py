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
# from theta*, through the same protocol (the drift handled by `drift`), beside the protocol's two
# controls: the noise-free run (full-batch GD from theta*, the reference of SGD and isotropic
# noise: under `fluctuation` it has no fluctuation, "n/a") and the positive control (SGD at Feng
# & Tu's batch size and lr after a burn-in, psi ~ 4 where the protocol recovers it). Points:
# seeds; bars: mean and 95% t-interval.

# %% tags=["parameters"]
compare = []
alignment = []
directions = []
flatness_factor = 2.0
drift = "fluctuation"
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
names = {"dropout": "dropout", "sgd": "mini-batch\nSGD", "gaussian": "isotropic\nGaussian",
         "none": "noise-free\nGD", "positive_control": "positive control:\nSGD, Feng & Tu"}
settings = sorted({(p, lr) for p, lr in zip(frame.keep_prob, frame.lr)}, key=lambda s: (s[1], -s[0]))
panels = [("alpha", "alignment alpha(H, Sigma) at theta*"),
          ("slope_gradient", "variance-flatness slope, gradient data"),
          ("slope_trajectory", f"variance-flatness slope, trajectory data\n(drift: {drift}; "
           "dashed: -4, Feng & Tu's SGD)")]

fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
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
    if col == "slope_trajectory":
        ax.axhline(-tables.ANCHOR_PSI, color="0.5", linewidth=0.8, linestyle="--")
    ax.set_xticks(range(len(names)), list(names.values()), fontsize="x-small")
    ax.set_xlim(-0.5, len(names) - 0.5)
    ax.set_title(title)
axes[0].set_ylabel("value (each seed; mean and 95% interval)")
axes[0].legend(fontsize="x-small", loc="upper right")
control = other[other.noise == "positive_control"]
fig.suptitle(tables.mask_note(other) + (f"; positive control: SGD batch {control.batch.iloc[0]:.0f}, "
                                        f"lr {control.control_lr.iloc[0]:g} after "
                                        f"{control.burn_in.iloc[0]:.0f} steps" if len(control)
                                        else ""))
fig.tight_layout()
plotting.save(fig, out_pdf, out_png)
stats.summarize(frame, ["keep_prob", "lr", "noise"], ["alpha", "slope_gradient", "slope_trajectory"])
