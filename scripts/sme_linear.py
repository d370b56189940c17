"""Rule `sme_linear`: the exactly solvable case through the cells' Monte Carlo code, one lr."""

import torch

from dropout_sme import io
from dropout_sme.sme import linear

sm = snakemake  # noqa: F821
with io.rule_job(sm):
    torch.set_num_threads(sm.threads)
    spec, lr = sm.params.spec, float(sm.wildcards.lr)
    io.save_npz(sm.output.npz, **linear.run_cell(linear.problem(spec), spec, lr))
