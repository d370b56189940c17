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
# Weak order per method, test function and keep probability: the weak error at the horizon T,
# fitted by the declared asymptotic rule (log error = a + q log lr + c lr over the resolved
# learning rates in the regime |c| lr <= 0.25, config/README.md), with a 95% bootstrap interval
# over paths; beside it the plain power-law slope and the local slopes between consecutive
# learning rates. Only errors resolved by the Monte Carlo are fitted. Beside
# the SMEs and SVAG, the two noise-free controls (gradient flow on L_S and the order-2 drift
# without diffusion), and the exactly solvable reference (linear regression with input dropout:
# exact weak errors, no Monte Carlo) at its own small learning rates and at the two-layer cells',
# with the same model run through the cells' Monte Carlo code beside it (sme.linear: the
# pipeline's fits must recover the exact orders). The fluctuation rows (Var R_S and E‖θ − Eθ‖² over paths,
# relative errors |V(dropout) − V(method)| / V(dropout)) test what the means cannot: the
# diffusion. There the noise-free flows are predicted order 0 and both SMEs order 1
# (config/README.md, "Fluctuation test functions").

# %% tags=["parameters"]
cells = []
exact_orders = ""
linear_cells = []
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
                          resolve_ratio, weak.load_cells(linear_cells))
io.save_csv(out_csv, table)
table

# %%
gs = {"train_loss": "R_S", "sq_norm": "‖θ‖²", "test_loss": "test loss",
      "train_loss_var": "Var R_S (relative)", "spread": "E‖θ − Eθ‖² (relative)"}
lines = ["| case | method | predicted | g | keep_prob | order, asymptotic rule [95% CI] | "
         "lrs in the regime (of resolved, of all) | plain power law [95% CI] | local slopes | "
         "paths saved by the control variate |", "|---|---|---|---|---|---|---|---|---|---|"]


def ci(value, lo, hi, digits=2):
    return f"{value:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


for r in table.itertuples():
    if r.case in (weak.EXACT, weak.EXACT_AT_MC):
        # rounded first: a flow's exact order 0 comes out as -1e-13
        fit = (f"{round(r.order, 3) + 0:.3f} (exact)" if np.isfinite(r.order)
               else "outside the regime")
        power = f"{round(r.order_power, 3) + 0:.3f} (exact)"
    else:
        if np.isfinite(r.order):
            fit = ci(r.order, r.order_lo, r.order_hi)
            if r.bootstrap_fitted < 1:      # some resamples left fewer than three points
                fit += f" ({100 * r.bootstrap_fitted:.0f}% of resamples fitted)"
        elif r.points_resolved >= 3:
            fit = "outside the asymptotic regime"
        else:
            fit = "not resolved"
        power = (ci(r.order_power, r.order_power_lo, r.order_power_hi)
                 if np.isfinite(r.order_power_lo) else "—")
    dropped = f"; {r.outside_regime} outside" if isinstance(r.outside_regime, str) \
        and r.outside_regime else ""
    local = r.local_slopes.replace("nan", "—") if isinstance(r.local_slopes, str) else "—"
    saved = (f"{r.variance_ratio_min:.0f}–{r.variance_ratio_max:.0f}×"
             if np.isfinite(r.variance_ratio_min) else "—")
    lines.append(f"| {r.case} | {weak.Method(r.method, r.l).label} | {r.predicted} | {gs[r.g]} | "
                 f"{r.keep_prob:g} | {fit} | {r.lrs if isinstance(r.lrs, str) and r.lrs else '—'} "
                 f"({r.points_used} of "
                 f"{r.points_resolved}, of {r.points}{dropped}) | {power} | {local} | {saved} |")
lines += ["", f"Weak error |E g(dropout) − E g(method)| at the horizon T (the maximum over t ≤ T "
          f"is in the csv, `error_max` at `t_max`). Asymptotic rule: log error = a + q log lr + "
          f"c lr fitted over the resolved lrs; while a kept lr has |c| lr > {weak.REGIME:g} the "
          f"largest is dropped and the fit redone; fewer than {weak.FIT_POINTS} lrs: no order. "
          f"Local slopes between consecutive lrs, from the smallest up (— where a point is not "
          f"resolved). Two-layer net: errors above {resolve_ratio:g} Monte Carlo standard "
          f"errors, 95% intervals from {bootstrap} bootstrap resamples of the paths, each "
          f"applying both rules to its own errors (the interval includes which points pass); "
          f"linear regression: exact errors. Paths saved: the variance of the weak-error "
          f"difference at t = T without the control variate over that with it (sme.control), "
          f"range over the lrs. Fluctuations (relative): variances over the paths of each batch "
          f"of paths (unbiased; extrapolated after they are formed), the error divided by "
          f"dropout's, its standard error by the delta method; no control variate."]
io.save_text(out_md, "\n".join(lines) + "\n")
print("\n".join(lines))
