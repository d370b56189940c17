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
# # Table 4: Hessian-noise alignment and its null models
#
# alpha = Tr(H Sigma) / (|H|_F |Sigma|_F) of the dropout-free loss's Hessian block and the dropout
# noise covariance, per setting (mean and 95% t-interval over seeds):
# - at the final checkpoint, from `alignment_masks` masks with the unbiased |Sigma|_F (the value
#   of Fig. 3) and with the plain sample |S|_F;
# - at theta* (the trajectory's start) from the K masks of the random gradient data (plain).
#
# Nulls: the paper's random matrices, as centred Wishart matrices G G'/B - I (symmetric, not
# positive semi-definite: centring makes E alpha = 0; mean 0, its 97.5% quantile is
# 1.96 sd, sd = sqrt(2 / (B (B + 1)))) and the reviewer's same-spectra null (Haar-random
# eigenvectors; exact mean and sd from the spectra's traces and norms), with the largest of the
# Monte Carlo draws at theta*.

# %% tags=["parameters"]
alignment = []
nulls = []
out_csv = "figures/table4_alignment.csv"
out_md = "figures/table4_alignment.md"

# %%
import numpy as np
import pandas as pd

from dropout_sme import io
from dropout_sme.report import stats, tables

al, nu = tables.read(alignment), tables.read(nulls)
curve = tables.null_bands(al[~al.theta_star])
rows = []
for (p, lr), g in curve.groupby(["keep_prob", "lr"]):
    final = g[g.step == g.step.max()]
    star = al[al.theta_star & (al.keep_prob == p) & (al.lr == lr)]
    n = nu[(nu.keep_prob == p) & (nu.lr == lr)]
    row = {"keep_prob": p, "lr": lr, "seeds": final.seed.nunique(), "final_step": int(final.step.max()),
           "alignment_masks": int(final.masks.iloc[0]), "theta_star_step": int(star.step.iloc[0]),
           "theta_star_masks": int(star.masks.iloc[0])}
    initial = g[g.step == g.step.min()].set_index("seed").alpha_debiased
    gain = final.set_index("seed").alpha_debiased - initial          # paired by seed
    for name, values in (("alpha_final", final.alpha_debiased), ("alpha_final_plain", final.alpha),
                         ("alpha_theta_star", star.alpha), ("alpha_gain", gain.dropna())):
        row[f"{name}_mean"], row[f"{name}_lo"], row[f"{name}_hi"] = stats.mean_ci(values)
    row["spectra_null_mean"] = final.spectra_mean.mean()
    row["spectra_null_q975"] = final.spectra_hi.max()
    row["spectra_null_mc_max"] = n[n.null == "same_spectra"].alpha.max()
    row["wishart_null_q975"] = final.wishart_hi.iloc[0]
    row["wishart_null_mc_max_abs"] = n[n.null == "centred_wishart"].alpha.abs().max()
    row["null_draws"] = int(n[n.null == "same_spectra"].draw.nunique())
    rows.append(row)
table = pd.DataFrame(rows).sort_values(["lr", "keep_prob"], ascending=[True, False])
io.save_csv(out_csv, table)
table.T


# %%
def ci(r, name, digits=3):
    m, lo, hi = (getattr(r, f"{name}_{s}") for s in ("mean", "lo", "hi"))
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]" if np.isfinite(lo) else f"{m:.{digits}f}"


lines = ["| keep_prob | lr | alpha, final step | gain since step 0 | alpha, final, plain S | "
         "alpha at theta*, K masks | same-spectra null: mean / 97.5% / MC max | "
         "centred Wishart null (not PSD): 97.5% / MC max abs |",
         "|---|---|---|---|---|---|---|---|"]
for r in table.itertuples():
    lines.append(f"| {r.keep_prob:g} | {r.lr:g} | {ci(r, 'alpha_final')} | {ci(r, 'alpha_gain')} | "
                 f"{ci(r, 'alpha_final_plain')} | {ci(r, 'alpha_theta_star')} | "
                 f"{r.spectra_null_mean:.4f} / {r.spectra_null_q975:.4f} / {r.spectra_null_mc_max:.4f} | "
                 f"{r.wishart_null_q975:.1e} / {r.wishart_null_mc_max_abs:.1e} |")
r0 = table.iloc[0]
lines += ["", f"Mean [95% t-interval] over {int(r0.seeds)} seeds. Final step "
          f"{int(r0.final_step)}, {int(r0.alignment_masks)} masks per checkpoint (|Sigma|_F "
          f"debiased; 'plain': the sample covariance's norm; gain: final minus step 0, paired by "
          f"seed); theta* = step "
          f"{int(r0.theta_star_step)} with K = {int(r0.theta_star_masks)} masks. Nulls: exact "
          f"moments at the final step, {int(r0.null_draws)} Monte Carlo draws per seed at theta*.",
          "", tables.mask_note(al) + "."]
io.save_text(out_md, "\n".join(lines) + "\n")
print("\n".join(lines))
