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
# # Fig. S7: the order-1 SME's weak order for other activations
#
# The weak error |E g(dropout) - E g(order-1 SME)| at the horizon T against the learning rate for the
# two-layer net with each activation (the theory assumes a smooth one: tanh, softplus and GELU
# are; ReLU is not, and its sigma'' = 0 almost everywhere makes the SME blind to the kink).
# Error bars: 1.96 Monte Carlo standard errors; hollow markers: not resolved by the Monte Carlo,
# left out of the fit; legend: fitted order with its 95% bootstrap interval.

# %% tags=["parameters"]
cells = []
resolve_ratio = 3.0
bootstrap = 400
seed = 0
out_pdf = "figures/figS7_activations.pdf"
out_png = "figures/figS7_activations.png"

# %%
import matplotlib.pyplot as plt
import numpy as np

from dropout_sme.report import plotting
from dropout_sme.sme import weak
from dropout_sme.sme.weak import TEST_FUNCTIONS

plotting.use_style()
groups = {}
for cell in weak.load_cells(cells):
    groups.setdefault(cell["activation"], []).append(cell)
titles = {"train_loss": "g = $R_S$ (train loss)", "sq_norm": r"g = $\|\theta\|^2$",
          "test_loss": "g = test loss"}
results = {}
for act, loaded in sorted(groups.items()):
    n_paths = weak.paths_run(loaded[0])
    results[f"{act} ({n_paths:,} paths)"] = (
        weak.error_points(loaded, [weak.Method("sme1")], resolve_ratio),
        weak.order_table(loaded, [weak.Method("sme1")], bootstrap, seed, resolve_ratio))
ps = sorted({p for pts, _ in results.values() for p in pts.keep_prob.unique()})
fig, axes = plt.subplots(len(ps), 3, figsize=(13, 5.0 * len(ps)), squeeze=False)
for i, p in enumerate(ps):
    for j, g in enumerate(TEST_FUNCTIONS):
        ax = axes[i, j]
        for k, (act, (points, orders)) in enumerate(results.items()):
            sel = points[(points.g == g) & (points.keep_prob == p)]
            row = orders[(orders.g == g) & (orders.keep_prob == p)]
            if not sel.empty and not row.empty:
                plotting.weak_error_curve(ax, sel, row.iloc[0], f"C{k}", act)
        lrs = np.array(sorted({lr for pts, _ in results.values() for lr in pts.lr.unique()}))
        top = max(pts[(pts.g == g) & (pts.keep_prob == p)].error.max()
                  for pts, _ in results.values())
        ax.plot(lrs, top * lrs / lrs.max(), color="0.4", linestyle=":", linewidth=1,
                label="slope 1")
        plotting.lr_axes(ax, lrs, "weak error, order-1 SME", f"keep_prob = {p:g}, {titles[g]}")
fig.tight_layout()
plotting.save(fig, out_pdf, out_png)
