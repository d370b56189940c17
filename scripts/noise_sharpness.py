"""Rule `noise_sharpness`: a dropout setting's flatness at the end of training against its
no-dropout baseline at the same lr (table 8, figS9)."""

import logging

from dropout_sme import io
from dropout_sme.devices import compute_job
from dropout_sme.noise import load_inputs, sharpness

sm = snakemake  # noqa: F821
need_mb = sm.resources.get("device_mb")           # the cost plan\'s estimate
with io.rule_job(sm, need_mb), compute_job(sm.params.spec["device"], sm.threads, need_mb) as device:
    spec = sm.params.spec
    x, y, dropout = load_inputs(sm.input.data, sm.input.checkpoints, spec["dtype"], device)
    _, _, baseline = load_inputs(sm.input.data, sm.input.baseline, spec["dtype"], device)
    summary, curves = sharpness.analyse(spec, x, y, dropout, baseline,
                                        log=logging.getLogger("noise_sharpness").info)
    io.save_csv(sm.output.summary, summary)
    io.save_csv(sm.output.landscape, curves)
