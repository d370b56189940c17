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
# # Fig. S3: weak error of the order-1 SME over (lr / p, keep_prob)
#
# A reviewer asked how the SME approximation depends on the learning rate and on the keep
# probability, small ones included. The grid is scaled by the noise: the modified loss's curvature
# and the noise grow like 1 + s = 1/p (s = (1 - p)/p), so each row runs lr = x p to the horizon
# T = scaled_horizon p, the same number of steps whatever p (config/README.md).
# Each cell is |E g(dropout) - E g(order-1 SME)| at the horizon T, with its value; the colour (log10) is
# drawn for resolved cells only, so that the scale is set by errors the Monte Carlo measured.
# Hatched cells are not resolved (below resolve_ratio standard errors, marked "?"; the value is
# printed, not coloured) or diverged: some paths of dropout or of the SME blew up (non-finite, or
# beyond 1e6 times their start; counts given as dropout / SME: at least that many paths, the
# simulation of a method stops at its first blow-up), so E g does not exist there.

# %% tags=["parameters"]
cells = []
resolve_ratio = 3.0
out_pdf = "figures/figS3_sme_heatmap.pdf"
out_png = "figures/figS3_sme_heatmap.png"

# %%
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from dropout_sme.report import plotting
from dropout_sme.sme import weak
from dropout_sme.sme.weak import TEST_FUNCTIONS

plotting.use_style()
loaded = weak.load_cells(cells)
points = weak.error_points(loaded, [weak.Method("sme1")], resolve_ratio)
points["x"] = (points.lr / points.keep_prob).round(10)     # lr / p
ps = sorted(points.keep_prob.unique())
n_paths, horizon = {}, {}   # per keep_prob row (a diverged cell stops early)
for cell in loaded:
    n_paths[cell["keep_prob"]] = max(weak.paths_run(cell), n_paths.get(cell["keep_prob"], 0))
    horizon[cell["keep_prob"]] = cell["times"][-1]
lrs = sorted(points.x.unique())
titles = {"train_loss": "g = $R_S$", "sq_norm": r"g = $\|\theta\|^2$", "test_loss": "g = test loss"}
fig, axes = plt.subplots(1, 3, figsize=(14, 0.6 * len(ps) + 2.2), squeeze=False)
for j, g in enumerate(TEST_FUNCTIONS):
    ax = axes[0, j]
    grid = np.full((len(ps), len(lrs)), np.nan)
    for r in points[(points.g == g) & points.resolved].itertuples():
        grid[ps.index(r.keep_prob), lrs.index(r.x)] = np.log10(r.error)
    ax.set_facecolor("0.85")
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    for r in points[points.g == g].itertuples():
        i, k = ps.index(r.keep_prob), lrs.index(r.x)
        if not r.resolved:
            ax.add_patch(Rectangle((k - 0.5, i - 0.5), 1, 1, fill=False, hatch="//",
                                   edgecolor="0.55", linewidth=0))
        if r.diverged:
            text = (f"diverged\n≥{r.diverged_paths_dropout} / ≥{r.diverged_paths_method}"
                    if r.diverged_paths_dropout + r.diverged_paths_method else "diverged")
        else:
            text = f"{r.error:.1e}" + ("" if r.resolved else " ?") + f"\nlr {r.lr:g}"
        ax.text(k, i, text, ha="center", va="center", fontsize="x-small",
                color="w" if r.resolved else "k")
    ax.set_xticks(range(len(lrs)), [f"{v:g}" for v in lrs])
    ax.set_yticks(range(len(ps)), [f"{v:g}\n(T = {horizon[v]:.3g}, {n_paths[v]:,} paths)"
                                   for v in ps])
    ax.set_xlabel("lr / p = lr (1 + s), s = (1 - p)/p")
    ax.set_ylabel("keep_prob p")
    sel = points[points.g == g]
    ax.set_title(f"{titles[g]}: {int(sel.resolved.sum())} of {len(sel)} cells resolved, "
                 f"{int((~sel.resolved & ~sel.diverged).sum())} unresolved, "
                 f"{int(sel.diverged.sum())} diverged", fontsize="small")
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="log10 weak error")
fig.suptitle("Weak error of the order-1 SME against dropout, noise-scaled grid: lr = x p, "
             f"T = {horizon[ps[0]] / ps[0]:.3g} p\n"
             f"(? = below {resolve_ratio:g} Monte Carlo standard errors; diverged: at least "
             "that many dropout / SME paths blew up; hatched: unresolved or diverged, not coloured)")
fig.tight_layout()
plotting.save(fig, out_pdf, out_png)

# %%
points[["g", "keep_prob", "lr", "x", "error", "resolved", "diverged"]]
