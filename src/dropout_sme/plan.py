"""A cost plan before a run: every compute job of a config's DAG with its estimated device time
and memory, per rule and in total (``python -m dropout_sme.plan --configfile config/paper.yaml``),
and the rules' scheduler resources from the same model (``limits``). Each job is priced from the
params its rule gives it (``cost``; the jobs and their params: ``config.compute_jobs``), so the
plan and the workflow describe a job once. Without torch: the DAG builds with it. The model
counts floating-point operations from the architectures (a gradient is three forward passes)
times the job's sizes, at one measured rate per rule and device plus a start-up cost; memory from
the activations a gradient keeps and the arrays a job holds. An estimate to size a cluster run
and its time limits, not a promise.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

from . import architectures
from .memory import (RUNTIME_BYTES, Data, activations, closed_form_hessian, dense_hessian_pays,
                     device_bytes, hessian_columns, hvp_column_bytes, line_point_bytes,
                     line_points)

# Effective FLOP/s per rule: on one CPU thread the median over the rule's jobs of counted
# operations / measured time (default config); on a GPU the slowest measured (paper config, an
# H200). The measurements: docs/performance.md and docs/cluster.md.
CPU_RATE = {"train_run": 1.5e10, "sme_cell": 4e9, "noise_setting": 5e10, "noise_compare": 5e10,
            "noise_keep": 7e10, "noise_mask": 1e11, "noise_sharpness": 4e10}
GPU_RATE = {"train_run": 4.5e12, "sme_cell": 4.5e12}
GPU_RATE_NOISE = 6.5e11
START = {"cpu": 2.0, "cuda": 15.0}          # seconds: imports, data, device start-up
NOTEBOOK_SECONDS = 5.0
LINE_EVALUATIONS = 24                        # loss evaluations per direction and factor


def data_of(spec: dict, target=None) -> Data:
    """The sizes of a dataset spec (``datasets.<name>``), as the loaders produce them."""
    source = spec["source"]
    out = 1 if target else None
    if source == "digits":
        n = round(1797 * (1 - spec.get("test_fraction", 0.25)))
        return Data(n, 1797 - n, 64, out or 10, (1, 8, 8))
    if source == "synthetic_teacher":
        return Data(spec["n_train"], spec["n_test"], spec["d"], 1)
    if source == "synthetic_sequence":
        return Data(spec["n_train"], spec["n_test"], 2 * spec["length"], spec["symbols"])
    if source == "mnist":
        return Data(spec.get("n_train") or 60000, spec.get("n_test") or 10000, 784, out or 10,
                    (1, 28, 28))
    if source in ("cifar10", "cifar100"):
        return Data(spec.get("n_train") or 50000, spec.get("n_test") or 10000, 3072,
                    10 if source == "cifar10" else 100, (3, 32, 32))
    if source == "multi30k":
        return Data(spec["n_train"], spec["n_test"], spec["src_length"] + spec["tgt_length"],
                    spec["vocab"])
    raise ValueError(f"no cost model for data source {source!r}")


def forward_flops(model: dict, data: Data, head_only: bool = False) -> float:
    """Floating-point operations of one sample's forward pass (``head_only``: the FNN head of a
    cnn or resnet alone, as the noise stage runs it for head blocks)."""
    return architectures.of(model).flops(model, data, head_only)


def block_size(model: dict, data: Data, block: str) -> int:
    """Parameters in an analysed block (FNN-head weights and biases, ``all``, or an estimate)."""
    return architectures.of(model).block_size(model, data, block)


@dataclass
class Job:
    rule: str
    name: str
    flops: float
    memory: float                               # bytes

    def seconds(self, device: str) -> float:
        rate = GPU_RATE.get(self.rule, GPU_RATE_NOISE) if device == "cuda" else CPU_RATE[self.rule]
        return START[device] + self.flops / rate


def _data(config: dict, spec: dict, target=None) -> Data:
    return data_of(config["datasets"][spec["dataset"]], target)


def train_run(spec: dict, config: dict, device: str) -> tuple[float, float]:
    """(operations, bytes) of a training job from its params (``config.run_spec``)."""
    data = _data(config, spec)
    F = forward_flops(spec["model"], data)
    params = F / 2 / max(data.features, 1)
    seeds, steps = len(spec["seeds"]), spec["steps"] + 1
    batch = spec.get("batch_size") or data.n
    evals = steps / spec["eval_every"] * (data.n + data.n_test) * F
    together = 1 if spec.get("seed_batching") == "loop" else seeds
    held = min(batch, spec.get("chunk") or batch)       # samples in one graph
    kept = 4 * 2 * held * activations(spec["model"], data) * together
    return (seeds * (steps * batch * 3 * F + evals),
            RUNTIME_BYTES + kept + 4 * params * seeds * (len(spec["checkpoints"]) + 4))


def sme_cell(spec: dict, config: dict, device: str) -> tuple[float, float]:
    """An E1 cell (``config.sme_spec``): its paths' network evaluations and batched arrays."""
    from .config import sme_spec_cost

    data = _data(config, spec, spec.get("target"))
    F = forward_flops({"arch": "two_layer", **spec["model"]}, data)
    m, d, item = spec["model"]["width"], data.features, 8 if spec["dtype"] == "float64" else 4
    per_path = 8 * item * data.n * m           # the batched forward, gradient and tangent
    memory = spec["chunk"] * per_path
    if dense_hessian_pays(m, d, data.n, spec["chunk"]):    # the tangent's formed Hessian
        P = m * (d + 1)
        memory += P * per_path + item * P * P
    return sme_spec_cost(spec) * 1000 * data.n * 3 * F, RUNTIME_BYTES + memory


def _noise_cost(model, data, block, K, seeds, extra_masks=0, kinds=1, chunk=None, batch=64,
                hessian="full", device="cpu"):
    """K mask gradients, their covariance and spectrum, the Hessian and the flatness lines
    (graphs of ``batch`` masks over ``chunk`` rows of data at a time where the config sets it;
    a full Hessian in vmapped columns, as many as fit the device: ``hessian_columns``)."""
    head = architectures.of(model).head(model, block) is not None
    F = forward_flops(model, data, head_only=head)
    B = block_size(model, data, block)
    per_seed = ((K + extra_masks) * data.n * 3 * F + 2 * K * B * B + 2 * data.n * B * B
                + 20 * B ** 3 + kinds * 50 * LINE_EVALUATIONS * data.n * F)
    rows = min(data.n, chunk or data.n)
    kept = 4 * 2 * batch * rows * activations(model, data, head)
    budget = device_bytes(device)
    point = line_point_bytes(model, data, rows, head)
    batches = [kept, line_points(point, budget) * point]
    if hessian == "full" and not closed_form_hessian(model, block):
        column = hvp_column_bytes(model, data, rows, head)
        batches.append(hessian_columns(B, column, budget) * column)
    matrices = 8 * 4 * B * B if hessian == "full" else 0
    return seeds * per_seed, RUNTIME_BYTES + 4 * K * B + matrices + max(batches)


def _run(config: dict, spec: dict) -> dict:
    """The training run a noise job reads (its seeds, checkpoints and window)."""
    from .config import run_spec

    return run_spec(config, spec["experiment"], spec["setting"])


def noise_setting(spec: dict, config: dict, device: str) -> tuple[float, float]:
    """The noise stage of one setting (``config.noise_spec``), every seed and checkpoint."""
    run, data = _run(config, spec), _data(config, spec)
    seeds, ckpts = len(run["seeds"]), len(run["checkpoints"])
    flops, memory = _noise_cost(spec["model"], data, spec["block"], spec["masks"], seeds,
                                ckpts * spec["alignment_masks"], 10, spec["chunk"], spec["batch"],
                                spec.get("hessian", "full"), device)
    window = spec["trajectory"]["length"] // spec["trajectory"]["stride"]
    # dropout's mean-field reference path: reference_masks passes of the data a step
    F = forward_flops(spec["model"], data)
    flops += seeds * spec["trajectory"]["length"] * spec["reference_masks"] * data.n * 3 * F
    return flops, memory + 8 * window * block_size(spec["model"], data, spec["block"]) * seeds


def noise_compare(spec: dict, config: dict, device: str) -> tuple[float, float]:
    """SGD and isotropic noise from theta* (GD windows), their full-batch reference and the
    positive control (SGD at Feng & Tu's batch: burn-in, window, reference), with the stage's
    analysis of each window."""
    run, data = _run(config, spec), _data(config, spec)
    seeds, length = len(run["seeds"]), spec["trajectory"]["length"]
    control = spec["positive_control"]
    flops, memory = _noise_cost(spec["model"], data, spec["block"], 0, seeds, kinds=12,
                                chunk=spec["chunk"], hessian=spec["hessian"], device=device)
    F = forward_flops(spec["model"], data)
    steps = 3 * length * data.n + (control["burn_in"] + length) * control["batch"] \
        + length * data.n
    return flops + seeds * (data.n + steps) * 3 * F, memory


def noise_at_theta_star(spec: dict, config: dict, device: str) -> tuple[float, float]:
    """K mask gradients at theta* and their analysis, for the seeds of ``spec``: the other mask
    convention (``config.mask_sensitivity_spec``) or another keep probability
    (``config.keep_sweep_spec``)."""
    return _noise_cost(spec["model"], _data(config, spec), spec["block"], spec["masks"],
                       len(spec["seeds"]), chunk=spec["chunk"], hessian=spec["hessian"],
                       device=device)


def noise_sharpness(spec: dict, config: dict, device: str) -> tuple[float, float]:
    """Lanczos, Hutchinson and the 1-D landscape of a dropout run, its baseline and the baseline
    continued to the dropout run's loss (at most ``match_cap`` GD steps)."""
    data, s = _data(config, spec), spec["sharpness"]
    F = forward_flops(spec["model"], data)
    seeds = len(_run(config, spec)["seeds"])
    per_run = (60 + s["probes"]) * data.n * 4 * F + s["directions"] * s["points"] * data.n * F
    memory = RUNTIME_BYTES + 4 * 4 * min(data.n, spec["chunk"] or data.n) * activations(
        spec["model"], data)
    return seeds * (3 * per_run + s["match_cap"] * data.n * 3 * F), memory


COSTS = {"train_run": train_run, "sme_cell": sme_cell, "noise_setting": noise_setting,
         "noise_compare": noise_compare, "noise_mask": noise_at_theta_star,
         "noise_sharpness": noise_sharpness, "noise_keep": noise_at_theta_star}


def cost(rule: str, spec: dict, config: dict, device: str = "cpu", name: str = "") -> Job:
    """A compute job's estimate from the params its rule gives it (``spec``)."""
    return Job(rule, name, *COSTS[rule](spec, config, device))


def jobs(config: dict, device: str = "cpu") -> list[Job]:
    """Every compute job of the config's DAG (``config.compute_jobs``) with its operation count
    and memory on ``device`` (the vmapped Hessian columns fill a share of its memory)."""
    from .config import compute_jobs

    return [cost(rule, spec, config, device, name) for rule, name, spec in compute_jobs(config)]


# Each rule's resource floors (minutes, MB): the limits the rules had before the plan.
FLOORS = {"train_run": (120, 4000), "sme_cell": (60, 4000), "noise_setting": (60, 6000),
          "noise_compare": (30, 4000), "noise_keep": (30, 3000), "noise_mask": (30, 3000),
          "noise_sharpness": (30, 3000)}


def limits(job: Job, device: str, floor_minutes: int | None = None,
           floor_mb: int | None = None) -> dict:
    """A job's resources, never below the rule's floors (``FLOORS`` unless given): 3x its
    estimated time on ``device``; on the CPU 2x its memory + 1 GiB (a GPU's memory is not
    ``mem_mb``); ``device_mb``, the estimate the job checks against its device before it
    starts."""
    if floor_minutes is None:
        floor_minutes, floor_mb = FLOORS[job.rule]
    memory = 2 * job.memory + 2 ** 30 if device == "cpu" else 0
    return {"runtime": max(floor_minutes, math.ceil(3 * job.seconds(device) / 60)),
            "mem_mb": max(floor_mb, math.ceil(memory / 2 ** 20)),
            "device_mb": math.ceil(job.memory / 2 ** 20)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dropout_sme.plan", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--configfile", default="config/config.yaml")
    parser.add_argument("--device", choices=("cpu", "cuda"),
                        help="default: cuda when the config declares gpus, else cpu")
    args = parser.parse_args(argv)
    from .config import check, load

    config = load(args.configfile)
    config["data_dir"] = config["data_dir"] or "."               # the plan reads no data
    check(config)
    device = args.device or ("cuda" if config.get("gpus") else "cpu")
    rows = [(j.rule, j.name, j.flops, j.seconds(device), j.memory) for j in jobs(config, device)]
    where = "GPU memory" if device == "cuda" else "memory"
    print(f"{'rule':<16} {'job':<44} {'TFLOP':>9} {'time':>10} {where:>10}")
    totals: dict = {}
    for rule, name, flops, seconds, memory in rows:
        print(f"{rule:<16} {name:<44} {flops / 1e12:9.3f} {_time(seconds):>10} "
              f"{memory / 2 ** 30:9.2f}G")
        t = totals.setdefault(rule, [0, 0.0])
        t[0], t[1] = t[0] + 1, t[1] + seconds
    print()
    for rule, (n, seconds) in totals.items():
        print(f"{rule:<16} {n:4d} jobs  {_time(seconds):>10}")
    total = sum(t[1] for t in totals.values())
    print(f"{'total':<16} {len(rows):4d} jobs  {_time(total):>10} of {device} time "
          f"(plus about {NOTEBOOK_SECONDS:g} s per figure and table)")


def _time(seconds: float) -> str:
    return (f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min" if seconds < 7200
            else f"{seconds / 3600:.1f} h")


if __name__ == "__main__":
    main()
