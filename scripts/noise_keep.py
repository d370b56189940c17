"""Rule `noise_keep`: the dropout noise of one keep probability at theta* (figS8)."""

import logging

import torch

from dropout_sme import io, noise
from dropout_sme.devices import gpu_slot, tune_allocator

sm = snakemake  # noqa: F821
with io.rule_log(sm.log[0]), gpu_slot(sm.params.spec["device"]) as device:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(sm.threads)
    tune_allocator()
    spec = sm.params.spec
    x, y, ckpt = noise.load_inputs(sm.input.data, sm.input.checkpoints, spec["dtype"], device)
    frame = noise.keep_sweep(spec, x, y, ckpt, log=logging.getLogger("noise_keep").info)
    io.save_csv(sm.output.directions, frame)
