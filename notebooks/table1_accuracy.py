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
from dropout_sme import io
from dropout_sme.report import tables

table = tables.table1(tables.final_rows(tables.read_metrics(metrics)))
io.save_csv(out_csv, table)
table


# %%
def pct(r, name):
    return tables.ci(r, name, ".1f", missing="—", scale=100)


lines = ["| keep_prob | lr | seeds | test accuracy (%) | no dropout, same lr (%) | "
         "difference (points) |", "|---|---|---|---|---|---|"]
for r in table.itertuples():
    lines.append(f"| {r.keep_prob:g} | {r.lr:g} | {r.seeds} | "
                 f"{pct(r, 'test_acc')} | {pct(r, 'no_dropout_acc')} | {pct(r, 'diff')} |")
lines.append("")
lines.append("Mean [95% t-interval] over seeds at the final GD step; the difference is paired by "
             "seed (dropout minus no dropout).")
io.save_text(out_md, "\n".join(lines) + "\n")
print("\n".join(lines))
