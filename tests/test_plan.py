"""The cost plan (dropout_sme.plan): its operation counts against torch's own count, its jobs
against the DAG's, and the scheduler limits it derives."""

import pytest
import torch
import yaml
from snakemake.utils import validate
from torch.utils.flop_counter import FlopCounterMode

from dropout_sme import memory, models, plan

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
    assert counts == {"train_run": 8, "sme_cell": 32, "noise_setting": 4, "noise_compare": 2,
                      "noise_keep": 4, "noise_mask": 2, "noise_sharpness": 2}
    paper = {j.rule for j in plan.jobs(filled(root, "paper.yaml"))}
    assert "noise_setting" in paper and "train_run" in paper


def test_every_paper_job_fits_the_h200_and_the_precursors_hessian_is_cut_to_it(root):
    """By the plan, no job of the paper config needs more than the H200's 139 GB; the precursor
    ResNet-20's 2,304-column block Hessian over chunks of 2,500 images is vmapped a few columns
    at a time (500 at once, the former fixed chunk, would hold terabytes)."""
    config = filled(root, "paper.yaml")
    jobs = plan.jobs(config, "cuda")
    assert max(j.memory for j in jobs) <= memory.DEVICE_BYTES["cuda"]
    model = config["experiments"]["resnet20_precursor"]["model"]
    data = plan.data_of(config["datasets"]["cifar100_full"])
    column = plan.hvp_column_bytes(model, data, rows=2500)
    columns = plan.hessian_columns(2304, column, memory.DEVICE_BYTES["cuda"])
    assert 1 <= columns < 10 and 500 * column > 2 ** 40


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
    assert "noise_setting    fnn/p0.8_lr0.1" in out and "total              54 jobs" in out
    plan.main(["--configfile", str(root / "config/paper.yaml")])      # no data_dir needed
    assert "of cuda time" in capsys.readouterr().out


def test_vmapped_batches_fit_a_share_of_the_device():
    column = plan.hvp_column_bytes(MODELS[3][0], MODELS[3][1], rows=100)
    assert column == 4 * 100 * plan.activations(MODELS[3][0], MODELS[3][1]) * 4
    assert plan.hessian_columns(2304, column, budget=10 * column) == int(10 * memory.VMAP_SHARE)
    point = plan.line_point_bytes(MODELS[3][0], MODELS[3][1], rows=100)
    assert memory.vmap_chunk(128, point, budget=100 * point, most=128) == int(100 * memory.VMAP_SHARE)
    assert plan.hessian_columns(2304, column, budget=column / 10) == 1        # never none
    assert plan.hessian_columns(40, 1.0, budget=1e12) == 40                   # never more than B
    assert plan.hessian_columns(2304, 1.0, budget=1e12) == memory.HESSIAN_COLUMNS


@pytest.mark.parametrize("arch", ["resnet", "encoder_decoder"])
def test_a_vmapped_column_holds_at_most_what_the_plan_says(arch):
    """Measured in two fresh processes that differ only in the number of vmapped columns of
    Hessian-vector products of a block (2 and 34; each process's start-up peak cancels; the peak
    is the process's own, not the forking pytest's, which getrusage would report): the
    peak memory per added column is at most the plan's count for a column (the plan's factor 4
    covers the ResNet's measured 3.3), and for the ResNet, whose 32 columns far exceed the
    start-up peak, more than a tenth of it."""
    import subprocess
    import sys

    model, data = next((m, d) for m, d in MODELS if m["arch"] == arch)
    script = f"""
import sys, torch
from torch.func import vmap
from dropout_sme import io, models, plan
from dropout_sme.noise.hessian import hvp_fn
from dropout_sme.noise.problem import Problem
model, data, rows = {model!r}, plan.{data!r}, 64
params = models.init_params(model, data.features, data.outputs,
                            torch.Generator().manual_seed(0), torch.float32)
if model["arch"] in models.SEQUENCE:
    x = torch.randint(4, data.outputs, (rows, data.features))
    y = x.clone()
else:
    x, y = torch.randn(rows, data.features), torch.randint(0, data.outputs, (rows,))
block = [k for k in params if k.endswith("_w") and params[k].numel() > 100][1]
problem = Problem.of(model, params, x, y, "cross_entropy", block)
hvp, eye = vmap(hvp_fn(problem.loss_fn(), problem.theta)), torch.eye(problem.theta.numel())
hvp(eye[:int(sys.argv[1])])
print(io.peak_rss_mib() * 2 ** 20, plan.hvp_column_bytes(model, data, rows))
"""

    def peak(columns):
        out = subprocess.run([sys.executable, "-c", script, str(columns)], capture_output=True,
                             text=True, check=True).stdout.split()
        return float(out[0]), float(out[1])

    (few, planned), (many, _) = peak(2), peak(34)
    per_column = (many - few) / 32
    assert per_column <= planned
    if arch == "resnet":
        assert per_column > planned / 10
