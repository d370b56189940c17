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
# # Fig. S5: universality of the noise structure across architectures (E5)
#
# One column per architecture (its first dropout setting; the analysed block in the title).
# Top: inverse variance-flatness relation of the random gradient data at theta* (variance of the
# top PCA directions against their interval flatness, every seed, log-log) with the fitted slope
# (mean and 95% t-interval over seeds). Middle: Hessian-variance relation, u_i' Sigma u_i against
# the Hessian eigenvalue lambda_i of the block. Bottom: alignment alpha(theta_t) over training
# (debiased |Sigma|_F, mean and 95% band over seeds) with the same-spectra null (mean +- 1.96 sd).

# %% tags=["parameters"]
alignment = []
directions = []
labels = {}
flatness_factor = 2.0
out_pdf = "figures/figS5_universality.pdf"
out_png = "figures/figS5_universality.png"

# %%

import matplotlib.pyplot as plt
import numpy as np

from dropout_sme.report import plotting, stats, tables

plotting.use_style()


al = tables.read(alignment)
dirs = tables.read(directions)
experiments = list(dict.fromkeys(al.experiment))
first = {e: dirs[dirs.experiment == e].sort_values(["lr", "keep_prob"]).setting.iloc[0]
         for e in experiments}


def ci_text(values):
    m, lo, hi = stats.mean_ci(values)
    return f"{m:.2f} [{lo:.2f}, {hi:.2f}]" if np.isfinite(lo) else f"{m:.2f}"


fig, axes = plt.subplots(3, len(experiments), figsize=(4.3 * len(experiments), 10.5),
                         squeeze=False)
MARKERS = "o^sDvP<>"   # a marker as well as a colour per seed (palette neighbours look alike)
for j, e in enumerate(experiments):
    d = dirs[(dirs.experiment == e) & (dirs.setting == first[e])
             & np.isclose(dirs.factor, flatness_factor)]
    a = al[(al.experiment == e) & (al.setting == first[e])]
    p, lr = d.keep_prob.iloc[0], d.lr.iloc[0]
    seeds = sorted(d.seed.unique())
    grad = d[(d.kind == "gradient") & ~d.flagged]
    hess = d[d.kind == "hessian"]
    s_grad = stats.slopes(dirs[(dirs.experiment == e) & (dirs.setting == first[e])], "gradient",
                          flatness_factor)
    s_hess = stats.slopes(dirs[(dirs.experiment == e) & (dirs.setting == first[e])], "hessian",
                          flatness_factor, x="eigenvalue", y="variance")
    ax = axes[0, j]
    for i, s in enumerate(seeds):
        g = grad[grad.seed == s]
        ax.scatter(g.width, g.variance, s=8, alpha=0.6, color=f"C{i}",
                   marker=MARKERS[i % len(MARKERS)], label=f"seed {s}")
    plotting.log_log(ax) if len(grad) else ax.text(0.5, 0.5, "every direction flagged",
                                                   transform=ax.transAxes, ha="center")
    ax.set_xlabel(f"interval flatness F_i (factor {flatness_factor:g})")
    ax.set_ylabel("PCA variance sigma_i^2 (gradient data)")
    ax.set_title(f"{labels.get(e, e)}\nkeep_prob = {p:g}, lr = {lr:g}, {d['mask'].iloc[0]} masks\n"
                 f"slope {ci_text(s_grad.slope)} ({len(seeds)} seeds)")
    ax.legend(fontsize="x-small")
    ax = axes[1, j]
    for i, s in enumerate(seeds):
        h = hess[(hess.seed == s) & (hess.eigenvalue > 0)]
        ax.scatter(h.eigenvalue, h.variance, s=8, alpha=0.6, color=f"C{i}",
                   marker=MARKERS[i % len(MARKERS)])
    positive = (hess.eigenvalue > 0).any()
    plotting.log_log(ax) if positive else ax.text(0.5, 0.5, "no positive eigenvalue",
                                                  transform=ax.transAxes, ha="center")
    ax.set_xlabel("Hessian eigenvalue lambda_i (block)")
    ax.set_ylabel("u_i' Sigma u_i")
    ax.set_title(f"Hessian-variance slope {ci_text(s_hess.slope)}")
    ax = axes[2, j]
    curve = tables.null_bands(a[~a.theta_star])
    summ = stats.summarize(curve, ["step"], ["alpha_debiased", "spectra_lo", "spectra_hi"])
    plotting.band(ax, summ.step, summ.alpha_debiased_mean, summ.alpha_debiased_lo,
                  summ.alpha_debiased_hi, color="C0", marker="o", ms=3,
                  label=f"alpha, {int(curve.masks.iloc[0])} masks, debiased")
    ax.fill_between(summ.step, summ.spectra_lo_mean, summ.spectra_hi_mean, color="C1", alpha=0.3,
                    linewidth=0, label="null: same spectra (+-1.96 sd)")
    star = a[a.theta_star]
    ax.scatter(star.step, star.alpha, marker="*", s=60, color="C3", zorder=5,
               label=f"theta*, K = {int(star.masks.iloc[0])} masks")
    ax.set_ylim(min(-0.05, float(summ.spectra_lo_mean.min())), 1.0)
    ax.set_xlabel("GD step")
    ax.set_ylabel("alignment alpha(theta_t)")
    final = curve[curve.step == curve.step.max()].alpha_debiased
    ax.set_title(f"final alpha {ci_text(final)}")
    ax.legend(fontsize="x-small", loc="center right")   # between alpha (high) and the null (low)
fig.tight_layout()
plotting.save(fig, out_pdf, out_png)
