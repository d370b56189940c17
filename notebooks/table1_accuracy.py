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
# # Table 1: test accuracy with and without dropout
#
# Final-step test accuracy per setting, mean and 95% t-interval over seeds, beside the no-dropout
# (keep_prob = 1) run at the same learning rate, and their paired difference (a dropout run and
# its baseline share the seed, hence the initialisation).

# %% tags=["parameters"]
metrics = []
out_csv = "figures/table1_accuracy.csv"
out_md = "figures/table1_accuracy.md"

# %%
import numpy as np
import pandas as pd

from dropout_sme import io
from dropout_sme.report import stats, tables

final = tables.final_rows(tables.read_metrics(metrics))
rows = []
for (p, lr), g in final.groupby(["keep_prob", "lr"]):
    acc = g.set_index("seed").test_acc
    row = {"keep_prob": p, "lr": lr, "step": int(g.step.iloc[0]), "seeds": len(acc)}
    row["test_acc_mean"], row["test_acc_lo"], row["test_acc_hi"] = stats.mean_ci(acc)
    base = final[(final.keep_prob == 1) & (final.lr == lr)].set_index("seed").test_acc
    paired = (acc - base).dropna() if p < 1 and len(base) else pd.Series(dtype=float)
    row["no_dropout_acc_mean"], row["no_dropout_acc_lo"], row["no_dropout_acc_hi"] = \
        stats.mean_ci(base) if p < 1 else (np.nan,) * 3
    row["diff_mean"], row["diff_lo"], row["diff_hi"] = stats.mean_ci(paired)
    rows.append(row)
table = pd.DataFrame(rows).sort_values(["lr", "keep_prob"], ascending=[True, False])
io.save_csv(out_csv, table)
table


# %%
def pct(m, lo, hi):
    if np.isnan(m):
        return "—"
    interval = "" if np.isnan(lo) else f" [{100 * lo:.1f}, {100 * hi:.1f}]"
    return f"{100 * m:.1f}{interval}"


lines = ["| keep_prob | lr | seeds | test accuracy (%) | no dropout, same lr (%) | "
         "difference (points) |", "|---|---|---|---|---|---|"]
for r in table.itertuples():
    lines.append(f"| {r.keep_prob:g} | {r.lr:g} | {r.seeds} | "
                 f"{pct(r.test_acc_mean, r.test_acc_lo, r.test_acc_hi)} | "
                 f"{pct(r.no_dropout_acc_mean, r.no_dropout_acc_lo, r.no_dropout_acc_hi)} | "
                 f"{pct(r.diff_mean, r.diff_lo, r.diff_hi)} |")
lines.append("")
lines.append("Mean [95% t-interval] over seeds at the final GD step; the difference is paired by "
             "seed (dropout minus no dropout).")
io.save_text(out_md, "\n".join(lines) + "\n")
print("\n".join(lines))
