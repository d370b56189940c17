"""Rule `noise_setting`: E2-E4 for one (experiment, setting), every seed."""

import logging
import time

import numpy as np
import pandas as pd

from dropout_sme import io
from dropout_sme.noise import analyse, load_inputs
from dropout_sme.devices import compute_job

sm = snakemake  # noqa: F821
need_mb = sm.resources.get("device_mb")           # the cost plan\'s estimate
with io.rule_job(sm, need_mb), compute_job(sm.params.spec["device"], sm.threads, need_mb) as device:
    log = logging.getLogger("noise").info
    spec = sm.params.spec
    x, y, ckpt = load_inputs(sm.input.data, sm.input.checkpoints, spec["dtype"], device)
    traj = dict(np.load(sm.input.trajectory))
    started = time.perf_counter()
    result = analyse(spec, x, y, ckpt, traj, log=log, metrics=pd.read_csv(sm.input.metrics))
    for name in ("alignment", "directions", "nulls", "diagnosis"):
        io.save_csv(sm.output[name], result[name])
    io.save_json(sm.output.meta, io.provenance(
        spec, device=str(device), seconds=time.perf_counter() - started,
        hessian_of=f"the dropout-free training loss (mean {spec['loss']} over the "
                   f"{len(x)} training samples, no masks) in block {spec['block']}",
        sigma_of=f"full-batch dropout gradients of block {spec['block']} (keep_prob "
                 f"{spec['keep_prob']}, {spec['mask']} masks)"))
