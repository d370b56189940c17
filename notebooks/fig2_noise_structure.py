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
# # Fig. 2: structure of the dropout noise at theta*
#
# One row per setting. Left and middle: PCA variance sigma_i^2 of the analysed block against the
# interval flatness F_i along the same direction (the loss reaching `flatness_factor` x L(theta*)),
# for the trajectory data (continued dropout training from theta*) and the random gradient data
# (K fresh masks at theta*). Right: along the Hessian's top eigenvectors u_i, the gradient
# noise variance u_i' Sigma u_i and the trajectory variance against the eigenvalue lambda_i.
# Points: every direction of every seed (one shade per seed); lines: least-squares fits with the
# mean slope over seeds, its 95% t-interval and psi = -slope in the legend. Trajectory data with
# the drift handled by `drift` (fluctuation: the window minus its noise-free reference path;
# exclude_pc1: the first principal component, drawn hollow, is the drift and left out of the
# fit). The trajectory panel lists the protocol's controls under the same handling (`compare`):
# SGD and isotropic noise of dropout's magnitude, the noise-free run and the positive control
# (SGD at Feng & Tu's batch and lr), which decides whether their psi ~ 4 is printed as an anchor.

# %% tags=["parameters"]
directions = []
compare = []
flatness_factor = 2.0
drift = "fluctuation"
out_pdf = "figures/fig2_noise_structure.pdf"
out_png = "figures/fig2_noise_structure.png"

# %%
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from dropout_sme.report import plotting, stats, tables

plotting.use_style()
dirs = tables.read(directions)
controls = tables.read(compare) if compare else None
rows = pd.DataFrame(tables.control_rows(controls, drift, flatness_factor))
dirs = dirs[np.isclose(dirs.factor, flatness_factor)]
per_seed = stats.relation_slopes(dirs, flatness_factor, drift=drift)
fits = stats.relations(drift)
settings = sorted({(p, lr) for p, lr in zip(dirs.keep_prob, dirs.lr)}, key=lambda s: (s[1], -s[0]))
panels = [
    (f"trajectory data (drift: {drift})", [(fits["vf_trajectory"], "C0")],
     "interval flatness F_i", "PCA variance sigma_i^2"),
    ("random gradient data", [(fits["vf_gradient"], "C2")],
     "interval flatness F_i", "PCA variance sigma_i^2"),
    ("Hessian-variance", [(fits["hv_gradient"], "C2"), (fits["hv_trajectory"], "C0")],
     "Hessian eigenvalue lambda_i", "variance along u_i"),
]


def fit_line(ax, x, y, slope, color, label):
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    lx, ly = np.log(x[ok]), np.log(y[ok])
    grid = np.linspace(lx.min(), lx.max(), 20)
    ax.plot(np.exp(grid), np.exp(ly.mean() + slope * (grid - lx.mean())), color=color,
            linewidth=1.6, label=label)


fig, axes = plt.subplots(len(settings), 4, figsize=(16, 3.7 * len(settings)), squeeze=False,
                         gridspec_kw={"width_ratios": [1, 1, 1, 0.75]})
for i, (p, lr) in enumerate(settings):
    d = dirs[(dirs.keep_prob == p) & (dirs.lr == lr)]
    seeds = sorted(d.seed.unique())
    for j, (title, series, xlabel, ylabel) in enumerate(panels):
        ax = axes[i, j]
        for (kind, x, y, relation, first), color in series:
            everything = d[d.kind == kind]
            k = everything[everything["index"] >= first]
            left_out = everything[everything["index"] < first]
            for si, seed in enumerate(seeds):
                ks = k[k.seed == seed]
                ax.scatter(ks[x], ks[y], s=7, color=color, alpha=0.25 + 0.5 * si / max(len(seeds), 1),
                           linewidths=0)
            if len(left_out):
                ax.scatter(left_out[x], left_out[y], s=22, facecolors="none", edgecolors=color,
                           linewidths=0.8, label="PC1 (drift), not fitted")
            sl = per_seed[(per_seed.keep_prob == p) & (per_seed.lr == lr)
                          & (per_seed.relation == relation)].slope
            m, lo, hi = stats.mean_ci(sl)
            flagged = int(k.flagged.sum()) if x == "width" else 0
            note = f", {flagged} flagged" if flagged else ""
            what = "u'Su (gradient)" if y == "variance" and kind == "hessian" else \
                "trajectory" if y.startswith("traj_variance") else "fit"
            psi = f", psi {-m:.2f}" if x == "width" else ""
            fit_line(ax, k[x].to_numpy(), k[y].to_numpy(), m, color,
                     f"{what}: slope {m:.2f} [{lo:.2f}, {hi:.2f}]{psi}{note}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(LogLocator(subs=(1, 2, 5)))
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
            axis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(f"{title}\nkeep_prob = {p:g}, lr = {lr:g} ({len(seeds)} seeds)")
        ax.legend(fontsize="x-small", loc="best")
    side = axes[i, 3]
    side.axis("off")
    if controls is not None:
        c = rows[(rows.keep_prob == p) & (rows.lr == lr) & (rows.drift == drift)]
        lines = [f"{tables.NOISE_LABELS[r.noise]}:\n  " + tables.ci(r, "slope",
                                                                    missing="no fluctuation")
                 for r in c.itertuples()]
        side.text(0.0, 0.5, f"controls, trajectory slope\n(drift: {drift}; keep_prob = {p:g}, "
                  f"lr = {lr:g}):\n\n" + "\n".join(lines), transform=side.transAxes,
                  fontsize="x-small", va="center")
fig.suptitle(tables.mask_note(dirs) + ".\n" + textwrap.fill(tables.anchor(controls, drift), 160),
             fontsize="small")
fig.tight_layout()
plotting.save(fig, out_pdf, out_png)
