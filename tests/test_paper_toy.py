"""The paper config at toy scale (``dropout_sme.toy``) through Snakemake, end to end: every job
of config/paper.yaml runs on fixture files in the real formats, every figure, table and the claims
report are written, and no compute job's measured peak memory exceeds its cost plan."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dropout_sme import toy
from dropout_sme.config import load

pytestmark = pytest.mark.workflow
ROOT = Path(__file__).resolve().parents[1]
# A job's measured peak (the process's, torch included) against the plan's estimate for it: the
# plan may undercount by at most UNDER (the memory check and SLURM's mem_mb rely on it) and
# overcount by at most OVER (a plan that asks for far more than it uses wastes a cluster).
UNDER, OVER = 1.5, 3.0


@pytest.fixture(scope="module")
def paper():
    return load(ROOT / "config/paper.yaml")


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory, paper):
    out = tmp_path_factory.mktemp("paper_toy")
    config = toy.toy_config(paper, out / "data")
    toy.write_fixtures(config, out / "data")
    (out / "toy.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(out / "work"),
           "--configfile", str(out / "toy.yaml"), "--cores", "all"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3000,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return out / "work", config, proc.stdout + proc.stderr


def test_the_toy_config_keeps_every_experiment_architecture_and_option(paper, tmp_path):
    config = toy.toy_config(paper, tmp_path)
    assert set(config["experiments"]) == set(paper["experiments"])
    assert set(config["datasets"]) == set(paper["datasets"])
    for name, exp in paper["experiments"].items():
        small = config["experiments"][name]
        for key in ("dataset", "loss", "mask", "settings", "baseline", "dtype", "seed_batching"):
            assert small[key] == exp[key], (name, key)
        assert small["optimizer"]["name"] == exp["optimizer"]["name"]
        assert bool(small.get("chunk")) == bool(exp.get("chunk"))
        for key in ("arch", "activation", "norm", "conv_dropout", "init", "bias", "layers",
                    "heads", "image"):
            assert small["model"].get(key) == exp["model"].get(key), (name, key)
        assert small["trajectory"]["block"] == exp["trajectory"]["block"]
    assert set(config["universality"]["experiments"]) == set(paper["universality"]["experiments"])
    assert config["sme"]["activations"]["names"] == paper["sme"]["activations"]["names"]
    assert config["claims"] == paper["claims"] and config["figures"] == paper["figures"]
    # no change of method: with the ResNets' channels narrowed every block's Hessian is formed
    # whole, as the paper config forms it (the toy rule's Lanczos fallback never fires)
    changed = {k for k, v in config["universality"]["experiments"].items() if "hessian" in v}
    assert changed == set()
    precursor = config["experiments"]["resnet20_precursor"]["model"]
    assert precursor["widths"] == [2, 4, 8] and precursor["groups"] == 2


def test_every_job_of_the_paper_config_runs_at_toy_scale(toy_run):
    work, config, output = toy_run
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", output.split("Job stats:")[1].split("total")[0],
                           flags=re.M))
    assert int(jobs["train_run"]) == 16 and int(jobs["noise_setting"]) == 8
    for rule in ("prepare_data", "sme_cell", "sme_exact", "noise_compare", "noise_keep",
                 "noise_mask", "noise_sharpness", "figure", "table"):
        assert int(jobs.get(rule, 0)) > 0, rule
    figures = work / "figures"
    for name in ("fig1_sme", "fig2_noise_structure", "fig3_alignment", "figS1_training",
                 "figS2_sme_weak_order", "figS3_sme_heatmap", "figS4_flatness_factor",
                 "figS5_universality", "figS6_noise_comparison", "figS7_activations",
                 "figS8_keep_sweep", "figS9_sharpness"):
        assert (figures / f"{name}.png").stat().st_size > 0, name
    for name in ("table1_accuracy", "table2_sme_order", "table3_slopes", "table4_alignment",
                 "table5_universality", "table7_mask_convention", "table8_sharpness", "claims"):
        assert (figures / f"{name}.md").stat().st_size > 0, name
    table5 = (figures / "table5_universality.csv").read_text()
    for experiment in config["universality"]["experiments"]:
        assert experiment in table5


def peaks(work):
    """compute job log -> (the plan's estimate, the measured peak), MiB."""
    out = {}
    for log in (work / "results/logs").rglob("*.log"):
        text = log.read_text()
        planned = re.search(r"the cost plan's memory estimate (\d+) MiB", text)
        peak = re.search(r"peak memory (\d+) MiB", text)
        if planned and peak:
            out[str(log.relative_to(work / "results/logs"))] = (int(planned[1]), int(peak[1]))
    return out


def test_each_compute_jobs_peak_memory_is_within_its_plan(toy_run):
    work, _, _ = toy_run
    found = peaks(work)
    assert len(found) >= 16 + 8 + 2                # every training, noise and comparison job
    for job, (planned, peak) in found.items():
        assert peak <= UNDER * planned, f"{job}: measured {peak} MiB, planned {planned}"
        assert planned <= OVER * peak, f"{job}: planned {planned} MiB, measured {peak}"
