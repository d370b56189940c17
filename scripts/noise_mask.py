"""Rule `noise_mask`: a dropout setting's noise at theta* with the other mask convention (table 7)."""

import logging

from dropout_sme import io
from dropout_sme.devices import compute_job
from dropout_sme.noise import load_inputs, theta_star_noise

sm = snakemake  # noqa: F821
need_mb = sm.resources.get("device_mb")           # the cost plan\'s estimate
with io.rule_job(sm, need_mb), compute_job(sm.params.spec["device"], sm.threads, need_mb) as device:
    spec = sm.params.spec
    x, y, ckpt = load_inputs(sm.input.data, sm.input.checkpoints, spec["dtype"], device)
    frame = theta_star_noise(spec, x, y, ckpt, purpose="mask_sensitivity",
                             log=logging.getLogger("noise_mask").info)
    io.save_csv(sm.output.directions, frame.assign(setting=spec["setting"], lr=spec["lr"]))
