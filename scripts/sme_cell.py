"""Rule `sme_cell`: simulate dropout, the SMEs, SVAG and gradient flow for one (keep_prob, lr)."""


from dropout_sme import data, io
from dropout_sme.sme import cell
from dropout_sme.devices import compute_job

sm = snakemake  # noqa: F821
need_mb = sm.resources.get("device_mb")           # the cost plan\'s estimate
with io.rule_job(sm, need_mb), compute_job(sm.params.spec["device"], sm.threads, need_mb) as device:
    spec = {**sm.params.spec, "device": str(device)}
    arrays, info = cell.run_cell(spec, data.load(sm.input.data))
    print(f"{sm.wildcards.cell}: {info}")
    io.save_npz(sm.output.npz, **arrays)
    io.save_json(sm.output.meta, io.provenance(spec, **info))
