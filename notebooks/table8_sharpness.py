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
# # Table 8: does dropout find flatter minima?
#
# The paper reads its relations as the mechanism by which dropout finds flatter minima. At the
# last checkpoint, each dropout setting against the no-dropout run at the same lr, paired by seed:
# the whole network's top Hessian eigenvalue (Lanczos), its trace (Hutchinson) and the dropout-free
# training loss, mean [95% t-interval] over seeds, and the paired difference dropout minus no
# dropout (negative: flatter with dropout).

# %% tags=["parameters"]
sharpness = []
out_csv = "figures/table8_sharpness.csv"
out_md = "figures/table8_sharpness.md"

# %%
from dropout_sme import io
from dropout_sme.report import tables

frame = tables.read(sharpness)
table, paired = tables.table8(frame)
io.save_csv(out_csv, table)
table


# %%
def ci(r, name, fmt=".3g"):
    return tables.ci(r, name, fmt, missing=None)


lines = ["| keep_prob | lr | run | seeds | top Hessian eigenvalue | Hessian trace | training loss |",
         "|---|---|---|---|---|---|---|"]
for r in table.itertuples():
    lines.append(f"| {r.keep_prob:g} | {r.lr:g} | {r.run} | {r.n} | {ci(r, 'top_eigenvalue')} | "
                 f"{ci(r, 'trace')} | {ci(r, 'loss')} |")
lines += ["", "| keep_prob | lr | dropout - no dropout: top eigenvalue | trace | training loss |",
          "|---|---|---|---|---|"]
for r in paired.itertuples():
    lines.append(f"| {r.keep_prob:g} | {r.lr:g} | {ci(r, 'diff_top_eigenvalue')} | "
                 f"{ci(r, 'diff_trace')} | {ci(r, 'diff_loss')} |")
probes = int(frame.probes.iloc[0])
lines += ["", f"Whole network ({int(frame.parameters.iloc[0])} parameters) at step "
          f"{int(frame.step.iloc[0])}: top eigenvalue by Lanczos, trace by Hutchinson with "
          f"{probes} Rademacher vectors (the same for both runs of a seed), dropout-free training "
          "loss. Mean [95% t-interval] over seeds; differences paired by seed. With cross-entropy "
          "the Hessian shrinks with the loss, so a run that fits the training set more tightly "
          "can look flatter for that reason alone: read the loss column beside the curvature."]
io.save_text(out_md, "\n".join(lines) + "\n")
print("\n".join(lines))
