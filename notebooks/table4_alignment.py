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
from dropout_sme import io
from dropout_sme.report import tables

al = tables.read(alignment)
table = tables.table4(al, tables.read(nulls))
io.save_csv(out_csv, table)
table.T


# %%
def ci(r, name):
    return tables.ci(r, name, ".3f", missing=None)


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
