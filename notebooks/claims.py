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
# # Reproduction report: the paper's claims against this run
#
# Written from this run's tables and noise-stage outputs every time the pipeline runs; never
# edited by hand. Each claim gets the measured evidence with its intervals, the settings where it
# holds or fails, and a verdict by a fixed rule (stated with each claim): **reproduced** (holds
# everywhere it was tested), **partly** (holds in some settings or for some data), **not
# reproduced** (holds nowhere), **not run** (no experiment of this run tests it).

# %% tags=["parameters"]
sme_orders = ""
slopes = ""
universality_table = ""
alignment = []
directions = []
out_csv = "figures/claims.csv"
out_md = "figures/claims.md"

# %%
import pandas as pd

from dropout_sme import io
from dropout_sme.report import stats

orders = pd.read_csv(sme_orders)
slope_table = pd.read_csv(slopes)
universality = pd.read_csv(universality_table)
al = pd.concat([pd.read_csv(f) for f in alignment], ignore_index=True)
dirs = pd.concat([pd.read_csv(f) for f in directions], ignore_index=True)
claims = []


def verdict(holds):
    holds = list(holds)
    if not holds:
        return "not run"
    return "reproduced" if all(holds) else "partly" if any(holds) else "not reproduced"


def interval(m, lo, hi, digits=2):
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


# %% [markdown]
# ## Claim 1: the SME approximates dropout in the weak sense (order 1; order 2 for the order-2 SME)
# Rule: for each keep_prob and test function, the fitted weak order's 95% bootstrap interval
# reaches the predicted order (its upper end >= the prediction: a faster decay is consistent with
# the bound). Unresolved fits (errors below the Monte Carlo resolution) are listed, not judged.

# %%
for method, number, name in (("sme1", "1a", "order-1 SME, weak order 1"),
                             ("sme2", "1b", "order-2 SME, weak order 2")):
    o = orders[orders.method == method]
    judged = o[o.order.notna()]
    ok = judged.order_hi >= judged.predicted
    holds = [f"keep_prob {r.keep_prob:g}, {r.g}: {interval(r.order, r.order_lo, r.order_hi)}"
             for r, good in zip(judged.itertuples(), ok) if good]
    fails = [f"keep_prob {r.keep_prob:g}, {r.g}: {interval(r.order, r.order_lo, r.order_hi)}"
             for r, good in zip(judged.itertuples(), ok) if not good]
    unresolved = [f"keep_prob {r.keep_prob:g}, {r.g}" for r in o[o.order.isna()].itertuples()]
    claims.append({"claim": f"{number}. Dropout is approximated weakly by the SME ({name})",
                   "holds": "; ".join(holds) or "—", "fails": "; ".join(fails) or "—",
                   "note": ("not resolved by the Monte Carlo: " + "; ".join(unresolved))
                   if unresolved else "", "verdict": verdict(ok)})

# %% [markdown]
# ## Claim 2: the inverse variance-flatness relation
# Rule: per setting and data kind, the slope of log sigma_i^2 against log F_i has a 95% interval
# (over seeds) entirely below 0. Measured at theta* only (one point late in training), so
# "throughout training" is not tested.

# %%
vf = slope_table[slope_table.relation.str.startswith("variance-flatness")]
ok = vf.slope_hi < 0
describe = [f"keep_prob {r.keep_prob:g}, lr {r.lr:g}, {r.relation.split(', ')[1]}: "
            f"{interval(r.slope_mean, r.slope_lo, r.slope_hi)}" for r in vf.itertuples()]
claims.append({"claim": "2. Inverse variance-flatness relation (negative log-log slope)",
               "holds": "; ".join(d for d, g in zip(describe, ok) if g) or "—",
               "fails": "; ".join(d for d, g in zip(describe, ok) if not g) or "—",
               "note": "measured at theta* (the trajectory window's start), not throughout training",
               "verdict": verdict(ok)})

# %% [markdown]
# ## Claim 3: the Hessian aligns with the dropout noise throughout training, more so after an
# initial phase
# Rule: at every checkpoint the lower end of alpha's 95% interval over seeds exceeds the 97.5%
# point of both null models, and the final alpha's interval lies above the initial one.

# %%
curve = al[~al.theta_star].copy()
curve["spectra_q975"] = curve.spectra_mean + 1.96 * curve.spectra_sd
curve["wishart_q975"] = 1.96 * curve.wishart_sd
summary = stats.summarize(curve, ["keep_prob", "lr", "step"], ["alpha_debiased"])
nulls = curve.groupby(["keep_prob", "lr", "step"])[["spectra_q975", "wishart_q975"]].max()
holds, fails, ok = [], [], []
for (p, lr), s in summary.groupby(["keep_prob", "lr"]):
    s = s.sort_values("step").set_index("step")
    null = nulls.loc[(p, lr)].max(axis=1)
    above = bool((s.alpha_debiased_lo > null.reindex(s.index)).all())
    first, last = s.iloc[0], s.iloc[-1]
    rises = bool(last.alpha_debiased_lo > first.alpha_debiased_hi)
    start = interval(first.alpha_debiased_mean, first.alpha_debiased_lo, first.alpha_debiased_hi)
    end = interval(last.alpha_debiased_mean, last.alpha_debiased_lo, last.alpha_debiased_hi)
    text = (f"keep_prob {p:g}, lr {lr:g}: alpha {start} at step {s.index[0]} -> {end} at step "
            f"{s.index[-1]}; largest null 97.5% point {null.max():.3f}")
    (holds if above and rises else fails).append(text)
    ok.append(above and rises)
claims.append({"claim": "3. Hessian-noise alignment alpha(theta_t) above random nulls throughout "
               "training, strengthening after an initial phase", "holds": "; ".join(holds) or "—",
               "fails": "; ".join(fails) or "—",
               "note": "nulls: random PSD (centred Wishart) and same spectra with Haar eigenvectors",
               "verdict": verdict(ok)})

# %% [markdown]
# ## Claim 4: the flatness factor does not matter
# Rule: per setting and data kind, the slopes' 95% intervals at all factors share a common value
# (the largest lower end is below the smallest upper end).

# %%
factors = sorted(dirs[dirs.kind == "gradient"].factor.unique())
holds, fails, ok = [], [], []
for kind in ("trajectory", "gradient"):
    per = pd.concat([stats.slopes(dirs, kind, c) for c in factors], ignore_index=True)
    for (p, lr), g in per.groupby(["keep_prob", "lr"]):
        cis = [stats.mean_ci(h.slope) for _, h in g.groupby("factor")]
        common = max(c[1] for c in cis) <= min(c[2] for c in cis)
        text = (f"keep_prob {p:g}, lr {lr:g}, {kind} data: slopes "
                + ", ".join(f"{c:.3g}: {m:.2f}" for c, (m, _, _) in zip(factors, cis)))
        (holds if common else fails).append(text)
        ok.append(common)
claims.append({"claim": "4. The variance-flatness slope does not depend on the flatness factor",
               "holds": "; ".join(holds) or "—", "fails": "; ".join(fails) or "—",
               "note": "factors " + ", ".join(f"{c:.3g}" for c in factors), "verdict": verdict(ok)})

# %% [markdown]
# ## Claim 5: the relations hold across architectures (E5)
# Rule (per architecture of table 5, its first dropout setting): the gradient-data
# variance-flatness slope's 95% interval lies below 0, the Hessian-variance slope's above 0, and
# the final alpha's above the larger null model's 97.5% point.

# %%
holds, fails, ok = [], [], []
for r in universality.itertuples():
    good = (r.slope_gradient_hi < 0 and r.slope_hessian_variance_lo > 0
            and r.alpha_final_lo > r.null_q975_final)
    def ci(name):
        return interval(*(getattr(r, f"{name}_{part}") for part in ("mean", "lo", "hi")))

    text = (f"{r.architecture}, keep_prob {r.keep_prob:g}: variance-flatness "
            f"{ci('slope_gradient')}, Hessian-variance {ci('slope_hessian_variance')}, final "
            f"alpha {ci('alpha_final')} (null {r.null_q975_final:.3f})")
    (holds if good else fails).append(text)
    ok.append(good)
archs = list(dict.fromkeys(universality.architecture))
claims.append({"claim": "5. The relations hold across architectures (the paper's appendix: "
                        "ResNet-20, VGG, transformer)",
               "holds": "; ".join(holds) or "—", "fails": "; ".join(fails) or "—",
               "note": f"{len(archs)} architectures in this run: " + ", ".join(archs)
                       + " (the paper's ResNet-20, VGG16 and transformer on Multi30k are in "
                         "config/paper.yaml)",
               "verdict": verdict(ok)})
table = pd.DataFrame(claims)
io.save_csv(out_csv, table)
lines = ["# Reproduction report", "",
         "Written by notebooks/claims.py from this run's tables; regenerated with every run.", ""]
for r in table.itertuples():
    lines += [f"## {r.claim}", "", f"**Verdict: {r.verdict}**", "", f"- holds: {r.holds}",
              f"- fails: {r.fails}"] + ([f"- note: {r.note}"] if r.note else []) + [""]
io.save_text(out_md, "\n".join(lines))
print("\n".join(lines))
