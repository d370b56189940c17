"""Rule `sme_cell`: simulate dropout, the SMEs, SVAG and gradient flow for one (keep_prob, lr)."""

import torch

from dropout_sme import data, io, sme
from dropout_sme.devices import gpu_slot, tune_allocator

sm = snakemake  # noqa: F821
with io.rule_log(sm.log[0]), gpu_slot(sm.params.spec["device"]) as device:
    torch.set_num_threads(sm.threads)
    tune_allocator()
    spec = {**sm.params.spec, "device": str(device)}
    arrays, info = sme.run_cell(spec, data.load(sm.input.data))
    print(f"{sm.wildcards.cell}: {info}")
    io.save_npz(sm.output.npz, **arrays)
    io.save_json(sm.output.meta, io.provenance(spec, **info))
