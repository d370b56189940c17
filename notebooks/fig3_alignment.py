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
# # Fig. 3: alignment of the Hessian and the dropout noise over training
#
# alpha(theta_t) = Tr(H Sigma) / (|H|_F |Sigma|_F) at every checkpoint (Hessian of the
# dropout-free loss in the analysed block; Sigma from `alignment_masks` dropout gradients with the
# unbiased |Sigma|_F), mean and 95% band over seeds, one panel per setting. Grey bands: the two
# null models, mean +- 1.96 sd: the same spectra with Haar-random eigenvectors (exact moments at
# each checkpoint) and independent centred Wishart matrices G G'/B - I (symmetric, not PSD;
# around 0). Markers at
# theta*: alpha from the K masks of the random gradient data and the Monte Carlo null draws.
# Symmetric-log y axis: linear within +-1e-3.

# %% tags=["parameters"]
alignment = []
nulls = []
out_pdf = "figures/fig3_alignment.pdf"
out_png = "figures/fig3_alignment.png"

# %%
import matplotlib.pyplot as plt

from dropout_sme.report import plotting, stats, tables

plotting.use_style()
al, nu = tables.read(alignment), tables.read(nulls)
curve = tables.null_bands(al[~al.theta_star])
settings = sorted({(p, lr) for p, lr in zip(al.keep_prob, al.lr)}, key=lambda s: (s[1], -s[0]))
summary = stats.summarize(curve, ["keep_prob", "lr", "step"],
                          ["alpha_debiased", "alpha", "spectra_lo", "spectra_hi"])

fig, axes = plt.subplots(1, len(settings), figsize=(4.6 * len(settings), 3.6), sharey=True,
                         squeeze=False)
for ax, (p, lr) in zip(axes[0], settings):
    s = summary[(summary.keep_prob == p) & (summary.lr == lr)].sort_values("step")
    n = int(s.n.iloc[0])
    k = int(curve.masks.iloc[0])
    plotting.band(ax, s.step, s.alpha_debiased_mean, s.alpha_debiased_lo, s.alpha_debiased_hi,
                  label=f"alpha, {k} masks, debiased ({n} seeds)", color="C0", marker="o", ms=3)
    ax.plot(s.step, s.alpha_mean, color="C0", linestyle=":", linewidth=1,
            label="alpha, plain sample covariance")
    ax.fill_between(s.step, s.spectra_lo_mean, s.spectra_hi_mean, color="C1", alpha=0.3,
                    linewidth=0, label="null: same spectra, Haar eigenvectors (+-1.96 sd)")
    w = curve.wishart_hi.iloc[0]
    ax.fill_between(s.step, -w, w, color="0.4", alpha=0.3, linewidth=0,
                    label="null: centred Wishart GG'/B - I, not PSD (+-1.96 sd)")
    star = al[al.theta_star & (al.keep_prob == p) & (al.lr == lr)]
    ax.scatter(star.step, star.alpha, marker="*", s=60, color="C3", zorder=5,
               label=f"alpha at theta*, K = {int(star.masks.iloc[0])} masks (each seed)")
    draws = nu[(nu.keep_prob == p) & (nu.lr == lr)]
    for name, color in (("same_spectra", "C1"), ("centred_wishart", "0.2")):
        d = draws[draws.null == name]
        ax.scatter([star.step.iloc[0] + 40] * len(d), d.alpha, marker="_", s=30, color=color,
                   zorder=5, label="Monte Carlo null draws at theta*" if name == "same_spectra" else None)
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_title(f"keep_prob = {p:g}, lr = {lr:g}")
    ax.set_xlabel("GD step")
axes[0, 0].set_ylabel("alignment alpha(theta_t)")
handles, labels = axes[0, 0].get_legend_handles_labels()
fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3,
           fontsize="small")
fig.suptitle(tables.mask_note(al))
fig.tight_layout()
plotting.save(fig, out_pdf, out_png)
