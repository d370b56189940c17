"""The cost plan (dropout_sme.plan): its operation counts against torch's own count, its jobs
against the DAG's, and the scheduler limits it derives."""

import pytest
import torch
import yaml
from snakemake.utils import validate
from torch.utils.flop_counter import FlopCounterMode

from dropout_sme import models, plan

MODELS = [
    ({"arch": "two_layer", "width": 8, "activation": "tanh"}, plan.Data(1, 1, 20, 1)),
    ({"arch": "fnn", "hidden": [50, 40], "activation": "relu"}, plan.Data(1, 1, 64, 10)),
    ({"arch": "cnn", "channels": [4, 8], "hidden": [32], "activation": "relu",
      "image": [1, 8, 8]}, plan.Data(1, 1, 64, 10, (1, 8, 8))),
    ({"arch": "resnet", "depth": 8, "hidden": [16], "activation": "relu", "image": [3, 16, 16]},
     plan.Data(1, 1, 768, 10, (3, 16, 16))),
    ({"arch": "transformer", "d_model": 16, "heads": 2, "d_ff": 24, "layers": 2,
      "activation": "relu"}, plan.Data(1, 1, 12, 20)),
    ({"arch": "encoder_decoder", "d_model": 16, "heads": 2, "d_k": 6, "d_ff": 24, "layers": 2,
      "activation": "relu", "src_length": 7}, plan.Data(1, 1, 12, 20)),
]


@pytest.mark.parametrize("model,data", MODELS, ids=[m["arch"] for m, _ in MODELS])
def test_forward_flops_match_torchs_count(model, data):
    """The plan's count of one sample's forward pass against torch's FlopCounterMode (matrix
    products and convolutions), within 15% (the plan also counts nothing else)."""
    params = models.init_params(model, data.features, data.outputs,
                                torch.Generator().manual_seed(0), torch.float64)
    if model["arch"] in models.SEQUENCE:
        x = torch.randint(0, data.outputs, (4, data.features)).double()
    else:
        x = torch.randn(4, data.features, dtype=torch.float64)
    with FlopCounterMode(display=False) as counter:
        models.forward(model, params, x)
    measured = counter.get_total_flops() / 4
    assert plan.forward_flops(model, data) == pytest.approx(measured, rel=0.15)


def filled(root, name):
    config = yaml.safe_load((root / "config" / name).read_text())
    config["data_dir"] = str(root)
    validate(config, str(root / "workflow/schemas/config.schema.yaml"))
    return config


def test_the_plan_lists_every_compute_job_of_the_dag(root):
    """The default DAG's compute jobs (tests/test_workflow.py counts them from a dry run)."""
    counts = {}
    for job in plan.jobs(filled(root, "config.yaml")):
        counts[job.rule] = counts.get(job.rule, 0) + 1
        assert job.flops > 0 and job.memory > 0 and job.seconds("cpu") > plan.START["cpu"]
    assert counts == {"train_run": 8, "sme_cell": 29, "noise_setting": 4, "noise_compare": 2,
                      "noise_keep": 4, "noise_mask": 2, "noise_sharpness": 2}
    paper = {j.rule for j in plan.jobs(filled(root, "paper.yaml"))}
    assert "noise_setting" in paper and "train_run" in paper


def test_limits_scale_with_the_estimate_and_keep_the_floors():
    small = plan.Job("train_run", "x", 1e9, 1e6)
    assert plan.limits(small, "cpu", 120, 4000) == {"runtime": 120, "mem_mb": 4000,
                                                    "device_mb": 1}
    big = plan.Job("train_run", "x", 1e9 * plan.CPU_RATE["train_run"] * 3600, 2 ** 33)
    lim = plan.limits(big, "cpu", 120, 4000)
    assert lim["runtime"] >= 3 * 1e9 * 60 and lim["mem_mb"] == 2 * 8192 + 1024
    assert plan.limits(big, "cuda", 120, 4000)["mem_mb"] == 4000   # GPU memory is not mem_mb


def test_the_command_prints_each_job_and_the_total(root, capsys):
    plan.main(["--configfile", str(root / "config/config.yaml")])
    out = capsys.readouterr().out
    assert "noise_setting    fnn/p0.8_lr0.1" in out and "total              51 jobs" in out
    plan.main(["--configfile", str(root / "config/paper.yaml")])      # no data_dir needed
    assert "of cuda time" in capsys.readouterr().out
