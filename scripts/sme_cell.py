"""Rule `sme_cell`: simulate dropout, the SMEs, SVAG and gradient flow for one (keep_prob, lr)."""

import torch

from dropout_sme import data, io, sme
from dropout_sme.devices import tune_allocator

with io.rule_log(snakemake.log[0]):  # noqa: F821
    sm = snakemake  # noqa: F821
    torch.set_num_threads(sm.threads)
    tune_allocator()
    spec = dict(sm.params.spec)
    arrays, info = sme.run_cell(spec, data.load(sm.input.data))
    print(f"{sm.wildcards.cell}: {info}")
    io.save_npz(sm.output.npz, **arrays)
    io.save_json(sm.output.meta, io.provenance(spec, **info))
