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
# # Table 2: fitted weak orders
#
# Slope of log weak error against log lr per method, test function and keep probability, with
# a 95% bootstrap interval over paths; only errors resolved by the Monte Carlo are fitted.

# %% tags=["parameters"]
cells = []
resolve_ratio = 3.0
bootstrap = 400
seed = 0
out_csv = "figures/table2_sme_order.csv"
out_md = "figures/table2_sme_order.md"

# %%
import numpy as np

from dropout_sme import io
from dropout_sme.sme import weak

loaded = weak.load_cells(cells)
svag = sorted({k for c in loaded for k in c["methods"] if k.startswith("svag")},
              key=lambda k: int(k[4:]))
methods = ["sme1", "sme2", *svag]
table = weak.order_table(loaded, methods, bootstrap, seed, resolve_ratio)
table.insert(1, "predicted", [2 if m == "sme2" else 1 for m in table.method])
io.save_csv(out_csv, table)
table

# %%
names = {"sme1": "order-1 SME", "sme2": "order-2 SME", **{k: f"SVAG l={k[4:]}" for k in svag}}
gs = {"train_loss": "R_S", "sq_norm": "|θ|²", "test_loss": "test loss"}
lines = ["| method | predicted | g | keep_prob | fitted order [95% CI] | lrs fitted |",
         "|---|---|---|---|---|---|"]
for r in table.itertuples():
    fit = (f"{r.order:.2f} [{r.order_lo:.2f}, {r.order_hi:.2f}]" if np.isfinite(r.order)
           else "not resolved")
    lines.append(f"| {names[r.method]} | {r.predicted} | {gs[r.g]} | {r.keep_prob:g} | {fit} | "
                 f"{r.lrs or '—'} ({r.points_used} of {r.points}) |")
lines += ["", f"Weak error max_t |E g(dropout) − E g(method)| over t ≤ T; fitted on the errors "
          f"above {resolve_ratio:g} Monte Carlo standard errors; 95% interval from {bootstrap} "
          "bootstrap resamples of the paths."]
io.save_text(out_md, "\n".join(lines) + "\n")
print("\n".join(lines))
