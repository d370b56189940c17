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
# # Fig. 1: dropout and its stochastic modified equations
#
# E[R_S] and E[test loss] along t = N lr for dropout GD, the order-1 and order-2 SME, SVAG and
# gradient flow on the modified loss L_S, all started at the same theta_0 (two-layer tanh student,
# teacher data). Mean over the paths with a 95% band (1.96 Monte Carlo standard errors). The
# third row shows the fluctuation E|theta - E theta|^2 over the paths (the diffusion's work: the
# noise-free gradient flow has none, and the SMEs must follow dropout's); the bottom row shows
# each method's E[R_S] minus dropout's: where the SMEs approximate dropout in the weak sense,
# their curves stay near zero (and so does the flow's: the means test the drift).

# %% tags=["parameters"]
cells = []
panels = []
out_pdf = "figures/fig1_sme.pdf"
out_png = "figures/fig1_sme.png"

# %%
import matplotlib.pyplot as plt
import numpy as np

from dropout_sme.report import plotting
from dropout_sme.sme import weak

plotting.use_style()
loaded = {(c["keep_prob"], c["lr"]): c for c in weak.load_cells(cells)}
svag = sorted(m for m in next(iter(loaded.values()))["methods"] if m.name == "svag")
methods = [(weak.DROPOUT, "dropout GD", "k", "-"), (weak.Method("sme1"), "order-1 SME", "C0", "-"),
           (weak.Method("sme2"), "order-2 SME", "C1", "-")]
if svag:
    methods.append((svag[-1], svag[-1].label, "C2", "-"))
methods.append((weak.Method("gf"), "gradient flow on $L_S$", "0.5", "--"))
rows = [(0, "E[$R_S$] (train loss)"), (2, "E[test loss]")]

fig, axes = plt.subplots(4, len(panels), figsize=(4.3 * len(panels), 11.2), squeeze=False,
                         sharex="col")
for j, (p, lr) in enumerate(panels):
    cell = loaded[(p, lr)]
    t = cell["times"]
    ref_mean, ref_se = weak.mean_se(*cell["methods"][weak.DROPOUT])
    for key, label, color, ls in methods:
        mean, se = weak.mean_se(*cell["methods"][key])
        for i, (g, ylabel) in enumerate(rows):
            plotting.band(axes[i, j], t, mean[:, g], mean[:, g] - 1.96 * se[:, g],
                          mean[:, g] + 1.96 * se[:, g], label=label, color=color, linestyle=ls,
                          marker="o", markersize=3)
            axes[i, j].set_ylabel(ylabel)
        if key in cell["fluct"]:
            spread, spread_se = (v[:, 1] for v in weak.mean_se(*cell["fluct"][key]))
            plotting.band(axes[2, j], t, spread, spread - 1.96 * spread_se,
                          spread + 1.96 * spread_se, color=color, linestyle=ls, marker="o",
                          markersize=3)
        if key != weak.DROPOUT:
            diff = mean[:, 0] - ref_mean[:, 0]
            half = 1.96 * np.hypot(se[:, 0], ref_se[:, 0])
            plotting.band(axes[3, j], t, diff, diff - half, diff + half, color=color,
                          linestyle=ls, marker="o", markersize=3)
    axes[2, j].set_ylabel(r"E$\|\theta - $E$\theta\|^2$ over paths")
    axes[3, j].axhline(0, color="k", linewidth=0.8)
    axes[3, j].set_ylabel("E[$R_S$] minus dropout's")
    axes[3, j].set_xlabel("t = N lr")
    paths = weak.paths_run(cell)
    axes[0, j].set_title(f"keep_prob = {p:g}, lr = {lr:g} ({paths} paths)")
axes[0, 0].legend(fontsize="small")
fig.suptitle("Dropout GD and its stochastic modified equations (mean, 95% band over paths)")
fig.tight_layout()
plotting.save(fig, out_pdf, out_png)
