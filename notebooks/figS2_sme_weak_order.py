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
# The weak error max_t |E g(theta_N) - E g(Theta_{N lr})| against the learning rate, for the
# test functions R_S, |theta|^2 and the test loss. The theorem predicts slope 1 for the order-1
# SME (and SVAG) and slope 2 for the order-2 SME. Error bars are 1.96 Monte Carlo standard errors;
# hollow markers are errors the Monte Carlo does not resolve (below resolve_ratio standard
# errors): they are shown, and left out of the fit.

# %% tags=["parameters"]
cells = []
resolve_ratio = 3.0
bootstrap = 400
seed = 0
out_pdf = "figures/figS2_sme_weak_order.pdf"
out_png = "figures/figS2_sme_weak_order.png"

# %%
import matplotlib.pyplot as plt
import numpy as np

from dropout_sme.report import plotting
from dropout_sme.sme import weak
from dropout_sme.sme.weak import TEST_FUNCTIONS

plotting.use_style()
loaded = weak.load_cells(cells)
svag = sorted({k for c in loaded for k in c["methods"] if k.startswith("svag")},
              key=lambda k: int(k[4:]))
methods = ["sme1", "sme2", *svag]
labels = {"sme1": "order-1 SME", "sme2": "order-2 SME",
          **{k: f"SVAG, l = {k[4:]}" for k in svag}}
points = weak.error_points(loaded, methods, resolve_ratio)
orders = weak.order_table(loaded, methods, bootstrap, seed, resolve_ratio)
titles = {"train_loss": "g = $R_S$ (train loss)", "sq_norm": r"g = $\|\theta\|^2$",
          "test_loss": "g = test loss"}
ps = sorted(points.keep_prob.unique())
fig, axes = plt.subplots(len(ps), 3, figsize=(13, 3.9 * len(ps)), squeeze=False)
for i, p in enumerate(ps):
    for j, g in enumerate(TEST_FUNCTIONS):
        ax = axes[i, j]
        for k, method in enumerate(methods):
            sel = points[(points.method == method) & (points.g == g) & (points.keep_prob == p)]
            row = orders[(orders.method == method) & (orders.g == g) & (orders.keep_prob == p)]
            plotting.weak_error_curve(ax, sel, row.iloc[0], f"C{k}", labels[method])
        lrs = np.array(sorted(points.lr.unique()))
        anchor = points[(points.g == g) & (points.keep_prob == p) & (points.method == "sme1")]
        top = anchor.error.max()
        for slope, ls in ((1, ":"), (2, "--")):
            ax.plot(lrs, top * (lrs / lrs.max()) ** slope, color="0.4", linestyle=ls,
                    linewidth=1, label=f"slope {slope}")
        plotting.lr_axes(ax, lrs, "weak error", f"keep_prob = {p:g}, {titles[g]}")
paths = weak.paths_run(loaded[0])
fig.suptitle(f"Weak error against lr ({paths} paths per method; bars: 95% Monte Carlo interval; "
             f"hollow: below {resolve_ratio:g} standard errors, not fitted)")
fig.tight_layout()
plotting.save(fig, out_pdf, out_png)

# %%
orders
