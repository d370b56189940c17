"""Rule `train_run`: train every seed of one (experiment, setting); all outputs written at the end."""

from pathlib import Path

import numpy as np

from dropout_sme import data, io, train
from dropout_sme.devices import compute_job

sm = snakemake  # noqa: F821
need_mb = sm.resources.get("device_mb")           # the cost plan\'s estimate
with io.rule_job(sm, need_mb), compute_job(sm.params.run["device"], sm.threads, need_mb) as device:
    run = {**sm.params.run, "device": str(device)}
    result = train.train(run, data.load(sm.input.data), resume_path=sm.params.resume)

    metrics = result["metrics"]
    metrics.insert(0, "experiment", run["experiment"])
    metrics.insert(1, "setting", run["setting"])
    metrics.insert(2, "keep_prob", run["keep_prob"])
    metrics.insert(3, "lr", run["lr"])
    metrics["final_step"] = run["steps"]          # readers check that the file reaches it
    io.save_csv(sm.output.metrics, metrics)
    io.save_torch(sm.output.checkpoints, result["checkpoints"])
    traj = result["trajectory"]
    io.save_npz(sm.output.trajectory, **{k: np.asarray(v) for k, v in traj.items()})
    io.save_json(sm.output.meta, io.provenance(run, **result["info"]))
    Path(sm.params.resume).unlink(missing_ok=True)
    print(f"done: {result['info']}")
