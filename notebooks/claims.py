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
# reproduced** (holds nowhere), **not run** (no experiment of this run tests it). The rules are
# functions of the tables in `dropout_sme.report.claims`, each with tests that must pass and fail.

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
from dropout_sme.report import claims, tables

table = claims.report(pd.read_csv(sme_orders), pd.read_csv(slopes),
                      pd.read_csv(universality_table), tables.read(alignment),
                      tables.read(directions))
io.save_csv(out_csv, table)
io.save_text(out_md, claims.markdown(table))
table
