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
# dropout (negative: flatter with dropout). With cross-entropy the curvature shrinks with the
# loss, so the no-dropout run is also continued by GD at the same lr until its training loss
# reaches the dropout run's ("matched loss"; at most the declared cap of steps): claim 7 is
# judged on that comparison.

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


lines = ["| keep_prob | lr | run | seeds | extra GD steps | top Hessian eigenvalue | Hessian trace "
         "| training loss |", "|---|---|---|---|---|---|---|---|"]
for r in table.itertuples():
    lines.append(f"| {r.keep_prob:g} | {r.lr:g} | {r.run} | {r.n} | {ci(r, 'extra_steps', '.0f')} "
                 f"| {ci(r, 'top_eigenvalue')} | {ci(r, 'trace')} | {ci(r, 'loss')} |")
lines += ["", "| keep_prob | lr | dropout minus | seeds (matched) | top eigenvalue | trace | "
          "training loss |", "|---|---|---|---|---|---|---|"]
for r in paired.itertuples():
    seeds = f"{r.pairs}" + (f" ({int(r.matched)} reached the loss)" if r.against == tables.MATCHED
                            else "")
    lines.append(f"| {r.keep_prob:g} | {r.lr:g} | {r.against} | {seeds} | "
                 f"{ci(r, 'diff_top_eigenvalue')} | {ci(r, 'diff_trace')} | {ci(r, 'diff_loss')} |")
probes = int(frame.probes.iloc[0])
cap = int(frame.match_cap.iloc[0])
lines += ["", f"Whole network ({int(frame.parameters.iloc[0])} parameters) at the last step "
          f"({int(frame.step.min())}): top eigenvalue by Lanczos, trace by Hutchinson with "
          f"{probes} Rademacher vectors (the same for every run of a seed), dropout-free training "
          "loss. Mean [95% t-interval] over seeds; differences paired by seed. With cross-entropy "
          "the Hessian shrinks with the loss, so a run that fits the training set more tightly "
          "can look flatter for that reason alone. Matched loss: the no-dropout run continued by "
          "full-batch GD at the same lr from its last checkpoint until its training loss is at "
          f"most the dropout run's (extra GD steps; at most {cap}, the declared cap: a seed past "
          "it is not matched and claim 7's items are undecided)."]
io.save_text(out_md, "\n".join(lines) + "\n")
print("\n".join(lines))
