"""Rule `noise_compare`: SGD and Gaussian noise at dropout's magnitude, every seed of a setting."""

import logging

import pandas as pd
import torch

from dropout_sme import compare, io, noise
from dropout_sme.devices import gpu_slot, tune_allocator

sm = snakemake  # noqa: F821
with io.rule_log(sm.log[0]), gpu_slot(sm.params.spec["device"]) as device:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(sm.threads)
    tune_allocator()
    spec = sm.params.spec
    x, y, ckpt = noise.load_inputs(sm.input.data, sm.input.checkpoints, spec["dtype"], device)
    align = pd.read_csv(sm.input.alignment)
    trace = align[align.theta_star].set_index("seed").trace_s.to_dict()
    result = compare.analyse(spec, x, y, ckpt, trace, log=logging.getLogger("compare").info)
    io.save_csv(sm.output.compare, result)
