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
# edited by hand. Each claim gets the measured evidence with its intervals, the items where it
# holds, fails or cannot be decided (with the reason), and a verdict: **reproduced** (every
# decided item holds), **partly**, **not reproduced** (every decided item fails), **undecided**
# (the data decide no item), **not run**. The rules are functions of the tables in
# `dropout_sme.report.claims` (tested on tables that must pass, fail and stay undecided); their
# margins are the config's `claims:` section (their reasons and history: config/README.md).

# %% tags=["parameters"]
sme_orders = ""
slopes = ""
universality_table = ""
alignment = []
directions = []
compare = []
diagnosis = []
sharpness = []
margins = {}
reference_factor = 2.0
drift = "exclude_pc1"
exploration = {"min_train_acc": 0.99, "max_loss_change": 0.5}
out_csv = "figures/claims.csv"
out_md = "figures/claims.md"

# %%
import pandas as pd

from dropout_sme import io
from dropout_sme.report import claims, stats, tables

windows = tables.read(diagnosis) if diagnosis else None
if windows is not None:
    windows["exploration"] = stats.exploration(windows, exploration)
table = claims.report(pd.read_csv(sme_orders), pd.read_csv(slopes),
                      pd.read_csv(universality_table), tables.read(alignment),
                      tables.read(directions), reference_factor, margins or claims.DEFAULT_MARGINS,
                      tables.read(compare) if compare else None, windows, drift,
                      tables.read(sharpness) if sharpness else None)
io.save_csv(out_csv, table)
io.save_text(out_md, claims.markdown(table))
table
