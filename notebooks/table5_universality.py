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
# # Table 5: universality across architectures (E5)
#
# Per architecture and dropout setting (mean and 95% t-interval over seeds): the inverse
# variance-flatness slope of the random gradient data and of the trajectory data at theta*, the
# Hessian-variance slope (u'Sigma u against lambda), alpha at the final checkpoint (debiased
# |Sigma|_F) and at theta* (K masks), and the final test accuracy with dropout and without it
# (the keep_prob = 1 run at the same lr; token accuracy over the target positions for the
# transformer); and how many seeds' trajectory windows lie in the exploration phase (the declared
# rule, config/README.md: where one does not, claim 5's trajectory part is undecided). The group's
# precursor reports (with / without dropout) FNN/MNIST 98.7 / 98.1,
# VGG-9/CIFAR-10 60.6 / 59.2, ResNet-20/CIFAR-100 54.7 / 34.1, transformer/Multi30k 49.3 / 34.7.

# %% tags=["parameters"]
alignment = []
directions = []
metrics = []
diagnosis = []
labels = {}
flatness_factor = 2.0
drift = "fluctuation"
exploration = {"min_train_acc": 0.99, "max_loss_change": 0.1}
out_csv = "figures/table5_universality.csv"
out_md = "figures/table5_universality.md"

# %%
from dropout_sme import io
from dropout_sme.report import tables

al, dirs = tables.read(alignment), tables.read(directions)
final = tables.final_rows(tables.read_metrics(metrics))
windows = tables.read(diagnosis) if diagnosis else None
table = tables.table5(al, dirs, final, labels, flatness_factor, drift, windows, exploration)
io.save_csv(out_csv, table)
table.T


# %%
def ci(r, name, digits=2):
    return tables.ci(r, name, f".{digits}f", missing="n/a")


def exploring(r):
    seeds = getattr(r, "window_seeds", float("nan"))
    return "n/a" if seeds != seeds else f"{r.window_seeds_exploring:.0f} of {seeds:.0f}"


lines = ["| architecture | keep_prob | lr | block (size) | seeds | variance-flatness slope, gradient "
         "data | trajectory data | Hessian-variance slope | alpha, final | alpha at theta* | "
         "null 97.5% | test acc. with dropout | without | windows in the exploration phase |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
for r in table.itertuples():
    lines.append(f"| {r.architecture} | {r.keep_prob:g} | {r.lr:g} | {r.block} ({r.block_size}) | "
                 f"{r.seeds} | {ci(r, 'slope_gradient')} | {ci(r, 'slope_trajectory')} | "
                 f"{ci(r, 'slope_hessian_variance')} | {ci(r, 'alpha_final', 3)} | "
                 f"{ci(r, 'alpha_theta_star', 3)} | {r.null_q975_final:.3f} | "
                 f"{ci(r, 'test_acc_dropout', 3)} | "
                 f"{ci(r, 'test_acc_no_dropout', 3)} | {exploring(r)} |")
lines += ["", f"Mean [95% t-interval] over seeds. Slopes: least squares of log variance against "
          f"log interval flatness (factor {flatness_factor:g}) over the top directions, or of log "
          f"u'Sigma u against log lambda; trajectory data by Feng & Tu's protocol (drift: "
          f"{drift}); alpha at the final checkpoint with the debiased "
          f"|Sigma|_F, at theta* from K masks; null 97.5%: the larger of the two null models' "
          f"97.5% points at the final checkpoint (same spectra with Haar eigenvectors; centred "
          f"Wishart, not PSD). Test accuracy at the last step; 'without': keep_prob = 1 at the "
          f"same lr (n/a: not trained). Windows: seeds whose trajectory window passes the "
          f"exploration rule (min train accuracy {exploration['min_train_acc']:g}, relative "
          f"loss change at most {exploration['max_loss_change']:g}).", "",
          tables.mask_note(dirs) + "."]
io.save_text(out_md, "\n".join(lines) + "\n")
print("\n".join(lines))
