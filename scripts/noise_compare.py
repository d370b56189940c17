"""Rule `noise_compare`: SGD and Gaussian noise at dropout's magnitude, every seed of a setting."""

import logging

import pandas as pd
import torch

from dropout_sme import compare, data, io
from dropout_sme.devices import gpu_slot, tune_allocator

sm = snakemake  # noqa: F821
with io.rule_log(sm.log[0]), gpu_slot(sm.params.spec["device"]) as device:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(sm.threads)
    tune_allocator()
    spec = sm.params.spec
    dtype = getattr(torch, spec["dtype"])
    arrays = data.load(sm.input.data)
    x = torch.as_tensor(arrays["x_train"], dtype=dtype, device=device)
    y = torch.as_tensor(arrays["y_train"], device=device)
    ckpt = io.load_torch(sm.input.checkpoints)
    ckpt["params"] = {k: v.to(dtype) for k, v in ckpt["params"].items()}
    align = pd.read_csv(sm.input.alignment)
    trace = align[align.theta_star].set_index("seed").trace_s.to_dict()
    result = compare.analyse(spec, x, y, ckpt, trace, log=logging.getLogger("compare").info)
    io.save_csv(sm.output.compare, result)
