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
cells = []
exact_orders = ""
resolve_ratio = 3.0
bootstrap = 400
seed = 0
universality_alignment = []
universality_directions = []
universality_metrics = []
universality_diagnosis = []
labels = {}
alignment = []
directions = []
compare = []
diagnosis = []
sharpness = []
sensitivity = []
margins = {}
flatness_factor = 2.0
drift = "fluctuation"
exploration = {"min_train_acc": 0.99, "max_loss_change": 0.1}
out_csv = "figures/claims.csv"
out_md = "figures/claims.md"

# %%
import pandas as pd

from dropout_sme import io
from dropout_sme.report import claims, stats, tables
from dropout_sme.sme import weak

# the tables the claims judge, built by the same package functions as tables 2, 3 and 5
orders = weak.order_report(weak.load_cells(cells), pd.read_csv(exact_orders), bootstrap, seed,
                           resolve_ratio)
dirs, compared = tables.read(directions), tables.read(compare) if compare else None
windows = tables.read(diagnosis) if diagnosis else None
slopes = tables.table3(dirs, windows, compared, flatness_factor, drift, exploration)[0]
if windows is not None:
    windows["exploration"] = stats.exploration(windows, exploration)
universality = tables.table5(
    tables.read(universality_alignment), tables.read(universality_directions),
    tables.final_rows(tables.read_metrics(universality_metrics)), labels, flatness_factor, drift,
    tables.read(universality_diagnosis) if universality_diagnosis else None, exploration)
table = claims.report(orders, slopes, universality, tables.read(alignment), dirs, flatness_factor,
                      margins or claims.DEFAULT_MARGINS, compared, windows, drift,
                      tables.read(sharpness) if sharpness else None,
                      tables.read(sensitivity) if sensitivity else None)
io.save_csv(out_csv, table)
io.save_text(out_md, claims.markdown(table))
table
