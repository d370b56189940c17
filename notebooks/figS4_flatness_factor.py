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
# # Fig. S4: does the flatness factor matter?
#
# The paper measures interval flatness where the loss doubles (factor 2) and says the factor does
# not matter (Feng & Tu use e). Slope of the variance-flatness relation (log sigma_i^2 against
# log F_i) for each factor, mean and 95% t-interval over seeds, per setting and data kind
# (trajectory data: Feng & Tu's protocol, the drift handled by `drift`).

# %% tags=["parameters"]
directions = []
drift = "fluctuation"
out_pdf = "figures/figS4_flatness_factor.pdf"
out_png = "figures/figS4_flatness_factor.png"

# %%
import matplotlib.pyplot as plt
import numpy as np

from dropout_sme.report import frames, plotting, stats, tables

plotting.use_style()
dirs = tables.read(directions)
kinds = ["trajectory", "gradient"]
fits = {"trajectory": stats.trajectory_fit(drift), "gradient": stats.relations()["vf_gradient"]}
factors = sorted(dirs[dirs.kind == "gradient"].factor.unique())
table = frames.slopes_by_factor(dirs, fits, factors)

fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6), squeeze=False)
for ax, kind in zip(axes[0], kinds):
    t = table[table.kind == kind]
    for j, (p, lr) in enumerate(sorted(set(zip(t.keep_prob, t.lr)))):
        g = t[(t.keep_prob == p) & (t.lr == lr)].sort_values("factor")
        shift = (j - 0.5) * 0.04
        ax.errorbar(g.factor + shift, g["mean"], yerr=[g["mean"] - g.lo, g.hi - g["mean"]],
                    marker="o", capsize=3, label=f"keep_prob = {p:g}, lr = {lr:g}")
        for r in g[g.flagged > 0].itertuples():
            ax.annotate(f"{r.flagged} flagged", (r.factor + shift, r.hi), fontsize="x-small")
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.set_xticks(factors, [f"{c:.3g}" if not np.isclose(c, np.e) else "e" for c in factors])
    ax.set_xlabel("flatness factor c (loss reaches c x L(theta*))")
    ax.set_ylabel("variance-flatness slope")
    ax.set_title(f"{kind} data" + (f" (drift: {drift})" if kind == "trajectory" else ""))
    ax.legend(fontsize="x-small")
fig.suptitle(tables.mask_note(dirs))
fig.tight_layout()
plotting.save(fig, out_pdf, out_png)
table
