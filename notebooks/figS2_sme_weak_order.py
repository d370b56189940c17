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
# # Fig. S2: weak order of the SMEs
#
# The weak error |E g(theta_N) - E g(Theta_T)| at the horizon T = N lr against the learning
# rate, for the test functions R_S, |theta|^2 and the test loss; legend: the order of the
# declared asymptotic rule (config/README.md) with its 95% bootstrap interval, "outside the
# regime" where fewer than three resolved lrs are in it. The theorem predicts slope 1 for the order-1
# SME (and SVAG) and slope 2 for the order-2 SME. Error bars are 1.96 Monte Carlo standard errors;
# hollow markers are errors the Monte Carlo does not resolve (below resolve_ratio standard
# errors): they are shown, and left out of the fit. Dashed: the noise-free controls (gradient flow
# on L_S, the order-2 drift without diffusion): where an SME beats its control, the diffusion
# matters. Bottom row: the exactly solvable reference (linear regression with dropout on its
# inputs), whose weak errors are exact (no Monte Carlo): orders 1 and 2 must appear there.
# Right two columns: the fluctuations (Var R_S and E|theta - E theta|^2 over paths) as relative
# errors, where the noise-free flows miss everything (relative error 1, order 0) and both SMEs
# are predicted order 1 (config/README.md, "Fluctuation test functions").

# %% tags=["parameters"]
cells = []
exact_points = ""
exact_orders = ""
linear_cells = []
resolve_ratio = 3.0
bootstrap = 400
seed = 0
out_pdf = "figures/figS2_sme_weak_order.pdf"
out_png = "figures/figS2_sme_weak_order.png"

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from dropout_sme.report import plotting
from dropout_sme.sme import weak
from dropout_sme.sme.weak import FLUCTUATIONS, TEST_FUNCTIONS

plotting.use_style()
loaded = weak.load_cells(cells)
methods = weak.methods_of(loaded)
points = pd.concat([weak.error_points(loaded, methods, resolve_ratio, kind) for kind in weak.KINDS])
orders = pd.concat([weak.order_table(loaded, methods, bootstrap, seed, resolve_ratio, kind)
                    for kind in weak.KINDS])
titles = {"train_loss": "g = $R_S$ (train loss)", "sq_norm": r"g = $\|\theta\|^2$",
          "test_loss": "g = test loss", "train_loss_var": "Var $R_S$ over paths (relative)",
          "spread": r"E$\|\theta - $E$\theta\|^2$ (relative)"}
columns = [*TEST_FUNCTIONS, *FLUCTUATIONS]
colors = {m: f"C{k}" for k, m in enumerate(methods)}
ps = sorted(points.keep_prob.unique())
fig, axes = plt.subplots(len(ps) + 1, len(columns), figsize=(4.4 * len(columns),
                                                              5.4 * (len(ps) + 1)), squeeze=False)


def reference_slopes(ax, lrs, top):
    for slope, ls in ((1, ":"), (2, "--")):
        ax.plot(lrs, top * (lrs / lrs.max()) ** slope, color="0.4", linestyle=ls, linewidth=1,
                label=f"slope {slope}")


for i, p in enumerate(ps):
    for j, g in enumerate(columns):
        ax = axes[i, j]
        for method in methods:
            sel = weak.select(points, method)
            sel = sel[(sel.g == g) & (sel.keep_prob == p)]
            row = weak.select(orders, method)
            row = row[(row.g == g) & (row.keep_prob == p)]
            plotting.weak_error_curve(ax, sel, row.iloc[0], colors[method], method.label,
                                      linestyle="--" if method.name in ("gf", "gf2") else "-")
        lrs = np.array(sorted(points.lr.unique()))
        anchor = points[(points.g == g) & (points.keep_prob == p) & (points.method == "sme1")]
        reference_slopes(ax, lrs, anchor.error.max())
        ylabel = "relative error" if g in FLUCTUATIONS else "weak error"
        plotting.lr_axes(ax, lrs, ylabel, f"two-layer net, keep_prob = {p:g},\n{titles[g]}")
ex_points, ex_orders = pd.read_csv(exact_points), pd.read_csv(exact_orders)
if "grid" not in ex_points:
    ex_points["grid"], ex_orders["grid"] = "exact", "exact"
linear = weak.load_cells(linear_cells)
lin_points = pd.concat([weak.error_points(linear, methods, resolve_ratio, kind)
                        for kind in weak.KINDS]) if linear else None
p_exact = float(ex_points.keep_prob.iloc[0])
for j, g in ((0, "train_loss"), (1, "sq_norm"), (4, "spread")):
    ax = axes[-1, j]
    for method in ex_points[ex_points.g == g].method.unique():
        color = colors.get(weak.Method(method), "C5")
        rows = ex_points[(ex_points.g == g) & (ex_points.method == method)]
        fit = ex_orders[(ex_orders.method == method) & (ex_orders.g == g)
                        & (ex_orders.grid == "exact")].order.iloc[0]
        for grid in ("exact", "monte_carlo"):   # one line over the small lrs, one over the cells'
            label = (f"{weak.Method(method).label}: order {fit if abs(fit) >= 5e-4 else 0:.3f}"
                     if grid == "exact" else None)
            ax.plot(rows[rows.grid == grid].lr, rows[rows.grid == grid].error, color=color,
                    label=label, linestyle="--" if method in ("gf", "gf2") else "-")
        if lin_points is not None:
            mc = weak.select(lin_points, weak.Method(method))
            mc = mc[mc.g == g]
            ax.errorbar(mc.lr, mc.error, yerr=1.96 * mc.se, fmt="none", color=color, capsize=2)
            for resolved, fill in ((True, color), (False, "white")):
                sel = mc[mc.resolved == resolved]
                ax.plot(sel.lr, sel.error, "o", color=color, mfc=fill, markersize=4)
    lrs = np.array(sorted(ex_points.lr.unique()))
    reference_slopes(ax, lrs, ex_points[ex_points.g == g].error.max())
    plotting.lr_axes(ax, lrs[::2], "relative error (exact)" if g in FLUCTUATIONS else "weak error "
                     "(exact)", f"exact reference, keep_prob = {p_exact:g},\n{titles[g]}")
axes[-1, 2].axis("off")
axes[-1, 3].axis("off")
axes[-1, 2].text(0, 0.5, "Exact reference: linear regression with\ndropout on its inputs, "
                 "f(x) = sum_j eta_j w_j x_j, MSE;\n"
                 "moments of dropout GD, the SMEs and the\nflows in closed form (all masks "
                 "enumerated):\nweak errors without Monte Carlo (lines;\nthe legend: orders at "
                 "the small lrs).\nMarkers with 95% bars: the same model\nthrough the Monte Carlo "
                 "code of the\ncells above (sme.linear).", va="center", fontsize="small")
paths = weak.paths_run(loaded[0])
cv = ", control variate: the tangent process" if loaded[0]["uncorrected"] else ""
fig.suptitle(f"Weak error at the horizon T against lr ({paths:,} paths per method{cv}; bars: 95% Monte Carlo "
             f"interval; hollow: below {resolve_ratio:g} standard errors, not fitted; per-step "
             f"masks)")
fig.tight_layout(rect=(0, 0, 1, 0.99))   # (room for the suptitle)
plotting.save(fig, out_pdf, out_png)

# %%
orders
