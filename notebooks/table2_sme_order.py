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
# a 95% bootstrap interval over paths; only errors resolved by the Monte Carlo are fitted. Beside
# the SMEs and SVAG, the two noise-free controls (gradient flow on L_S and the order-2 drift
# without diffusion), and the exactly solvable reference (linear regression with input dropout:
# exact weak errors, no Monte Carlo).

# %% tags=["parameters"]
cells = []
exact_orders = ""
resolve_ratio = 3.0
bootstrap = 400
seed = 0
out_csv = "figures/table2_sme_order.csv"
out_md = "figures/table2_sme_order.md"

# %%
import numpy as np
import pandas as pd

from dropout_sme import io
from dropout_sme.sme import weak

table = weak.order_report(weak.load_cells(cells), pd.read_csv(exact_orders), bootstrap, seed,
                          resolve_ratio)
io.save_csv(out_csv, table)
table

# %%
gs = {"train_loss": "R_S", "sq_norm": "‖θ‖²", "test_loss": "test loss"}
lines = ["| case | method | predicted | g | keep_prob | fitted order [95% CI] | lrs fitted | "
         "paths saved by the control variate |", "|---|---|---|---|---|---|---|---|"]
for r in table.itertuples():
    if not np.isfinite(r.order):
        fit = "not resolved"
    elif r.case == weak.EXACT:
        fit = f"{r.order:.3f} (exact)"
    else:
        fit = f"{r.order:.2f} [{r.order_lo:.2f}, {r.order_hi:.2f}]"
        if r.bootstrap_fitted < 1:      # some resamples resolved fewer than two points
            fit += f" ({100 * r.bootstrap_fitted:.0f}% of resamples fitted)"
    saved = (f"{r.variance_ratio_min:.0f}–{r.variance_ratio_max:.0f}×"
             if np.isfinite(r.variance_ratio_min) else "—")
    lines.append(f"| {r.case} | {weak.Method(r.method, r.l).label} | {r.predicted} | {gs[r.g]} | "
                 f"{r.keep_prob:g} | {fit} | {r.lrs or '—'} ({r.points_used} of {r.points}) | "
                 f"{saved} |")
lines += ["", f"Weak error max_t |E g(dropout) − E g(method)| over t ≤ T; two-layer net: fitted "
          f"on the errors above {resolve_ratio:g} Monte Carlo standard errors, 95% interval from "
          f"{bootstrap} bootstrap resamples of the paths, each fitted on the points it resolves "
          f"(the interval includes which points pass); linear regression: exact errors, every "
          f"lr fitted. Paths saved: the variance of the weak-error difference at t = T without "
          f"the control variate over that with it (sme.control), range over the lrs."]
io.save_text(out_md, "\n".join(lines) + "\n")
print("\n".join(lines))
