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
# # Fig. S1: training with and without dropout
#
# Dropout-free training loss, test loss and test accuracy against the GD step for every
# (keep_prob, lr) setting with dropout, beside the keep_prob = 1 run at the same learning rate
# (same seeds, hence the same initialisations). Mean and 95% t-interval over seeds.

# %% tags=["parameters"]
metrics = []
out_pdf = "figures/figS1_training.pdf"
out_png = "figures/figS1_training.png"

# %%
import matplotlib.pyplot as plt

from dropout_sme.report import frames, plotting, stats, tables

plotting.use_style()
df = tables.read_metrics(metrics)
cols = ["train_loss", "train_loss_dropout", "test_loss", "test_acc"]
summary = stats.summarize(df, ["keep_prob", "lr", "step"], cols)
n_seeds = frames.seeds(df)

dropout = sorted({(p, lr) for p, lr in zip(df.keep_prob, df.lr) if p < 1}, key=lambda s: (s[1], -s[0]))
panels = dropout or sorted({(p, lr) for p, lr in zip(df.keep_prob, df.lr)})
rows = [("train_loss", "train loss (dropout-free)", True), ("test_loss", "test loss", True),
        ("test_acc", "test accuracy", False)]
has_acc = summary["test_acc_mean"].notna().any()
rows = rows if has_acc else rows[:2]

fig, axes = plt.subplots(len(rows), len(panels), figsize=(4.2 * len(panels), 2.9 * len(rows)),
                         sharex=True, squeeze=False)
for j, (p, lr) in enumerate(panels):
    runs = [(p, lr, f"dropout, keep_prob = {p:g}", "-")]
    base = summary[(summary.keep_prob == 1) & (summary.lr == lr)]
    if p < 1 and len(base):
        runs.append((1.0, lr, "no dropout (keep_prob = 1)", "--"))
    for i, (col, label, log) in enumerate(rows):
        ax = axes[i, j]
        for q, l, name, ls in runs:
            s = summary[(summary.keep_prob == q) & (summary.lr == l)].sort_values("step")
            plotting.band(ax, s.step, s[f"{col}_mean"], s[f"{col}_lo"], s[f"{col}_hi"],
                          label=f"{name} ({n_seeds[(q, l)]} seeds)", linestyle=ls)
        if col == "train_loss" and p < 1:
            s = summary[(summary.keep_prob == p) & (summary.lr == lr)].sort_values("step")
            ax.plot(s.step, s.train_loss_dropout_mean, color="0.5", linewidth=0.8, alpha=0.7,
                    label="train loss with the step's dropout mask")
        if log:
            ax.set_yscale("log")
        ax.set_ylabel(label)
        if i == 0:
            ax.set_title(f"keep_prob = {p:g}, lr = {lr:g}")
            if p < 1 and not len(base):
                ax.text(0.5, 0.5, "no keep_prob = 1 run at this lr", transform=ax.transAxes,
                        ha="center", color="crimson")
        if i == len(rows) - 1:
            ax.set_xlabel("GD step")
    axes[0, j].legend(fontsize="small")
fig.suptitle("Training with and without dropout (mean, 95% band over seeds)")
fig.tight_layout()
plotting.save(fig, out_pdf, out_png)

# %%
stats.summarize(tables.final_rows(df), ["keep_prob", "lr"], ["train_loss", "test_loss", "test_acc"])
