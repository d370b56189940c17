"""Rule `noise_compare`: SGD and Gaussian noise at dropout's magnitude, every seed of a setting."""

import logging

import pandas as pd

from dropout_sme import io
from dropout_sme.noise import compare, load_inputs
from dropout_sme.devices import compute_job

sm = snakemake  # noqa: F821
need_mb = sm.resources.get("device_mb")           # the cost plan\'s estimate
with io.rule_job(sm, need_mb), compute_job(sm.params.spec["device"], sm.threads, need_mb) as device:
    spec = sm.params.spec
    x, y, ckpt = load_inputs(sm.input.data, sm.input.checkpoints, spec["dtype"], device)
    align = pd.read_csv(sm.input.alignment)
    trace = align[align.theta_star].set_index("seed").trace_s.to_dict()
    result = compare.analyse(spec, x, y, ckpt, trace, log=logging.getLogger("compare").info)
    io.save_csv(sm.output.compare, result)
