"""Rule `noise_keep`: the dropout noise of one keep probability at theta* (figS8)."""

import logging


from dropout_sme import io
from dropout_sme.noise import load_inputs, theta_star_noise
from dropout_sme.devices import compute_job

sm = snakemake  # noqa: F821
need_mb = sm.resources.get("device_mb")           # the cost plan\'s estimate
with io.rule_job(sm, need_mb), compute_job(sm.params.spec["device"], sm.threads, need_mb) as device:
    spec = sm.params.spec
    x, y, ckpt = load_inputs(sm.input.data, sm.input.checkpoints, spec["dtype"], device)
    frame = theta_star_noise(spec, x, y, ckpt, log=logging.getLogger("noise_keep").info)
    io.save_csv(sm.output.directions, frame)
