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
drift = "exclude_pc1"
out_pdf = "figures/figS4_flatness_factor.pdf"
out_png = "figures/figS4_flatness_factor.png"

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from dropout_sme.report import plotting, stats, tables

plotting.use_style()
dirs = tables.read(directions)
kinds = ["trajectory", "gradient"]
fits = {"trajectory": stats.trajectory_fit(drift), "gradient": stats.relations()["vf_gradient"]}
factors = sorted(dirs[dirs.kind == "gradient"].factor.unique())
rows = []
for kind in kinds:
    for c in factors:
        s = stats.slopes(dirs, fits[kind].kind, c, first=fits[kind].first)
        for (p, lr), g in s.groupby(["keep_prob", "lr"]):
            m, lo, hi = stats.mean_ci(g.slope)
            rows.append({"kind": kind, "factor": c, "keep_prob": p, "lr": lr, "mean": m, "lo": lo,
                         "hi": hi, "flagged": int(g.flagged.sum())})
table = pd.DataFrame(rows)

fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6), squeeze=False)
for ax, kind in zip(axes[0], kinds):
    t = table[table.kind == kind]
    for j, ((p, lr), g) in enumerate(t.groupby(["keep_prob", "lr"])):
        g = g.sort_values("factor")
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
