"""The workflow itself: lint, dry runs (targets build only their upstream), a tiny end-to-end run."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from collections import Counter
from fixtures import TEST_CONFIG, make_mnist, smk

from dropout_sme import config as cfg
from dropout_sme import plan

pytestmark = pytest.mark.workflow
ROOT = Path(__file__).resolve().parents[1]


def job_counts(output: str) -> dict:
    """Rule -> job count from the 'Job stats' table of a dry run."""
    table = output.split("Job stats:")[1].split("total")[0]
    return {m[0]: int(m[1]) for m in re.findall(r"^(\w+)\s+(\d+)\s*$", table, flags=re.M)}


def test_lint_is_clean(tmp_path):
    out = smk("--lint", cwd=tmp_path)
    assert "Lints for" not in out.stdout + out.stderr


def test_snakefmt_is_clean():
    proc = subprocess.run([sys.executable, "-m", "snakefmt", "--check", "Snakefile", "workflow"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_figure_and_table_has_its_named_target(tmp_path):
    """The aliases come from the figure registry: one per figure and table, and the groups."""
    out = smk("--list-rules", cwd=tmp_path).stdout.split()
    for name in ("fig1", "fig2", "fig3", "figS1", "figS2", "figS3", "figS4", "figS5", "figS6",
                 "figS7", "figS8", "figS9", "table1", "table2", "table3", "table4", "table5",
                 "table7", "table8", "claims",
                 "sme", "noise", "universality", "data", "train"):
        assert name in out, name


def test_default_dag(tmp_path):
    counts = job_counts(smk("-n", "--cores", "1", cwd=tmp_path).stdout)
    # 32 E1 cells (8 of the order study, 12 of the map, 12 of the activation sweep), the exact
    # case and its 4 Monte Carlo jobs; E5: the CNN and the transformer (with and without
    # dropout, one noise job each); the keep_prob sweep (4 p); the other mask convention and the
    # flatness against no dropout per fnn dropout setting
    assert counts == {"prepare_data": 3, "train_run": 8, "sme_cell": 32, "sme_exact": 1,
                      "sme_linear": 4, "noise_setting": 4, "noise_compare": 2, "noise_keep": 4,
                      "noise_mask": 2, "noise_sharpness": 2, "figure": 12, "table": 8, "all": 1}


def test_figS1_builds_only_its_upstream(tmp_path):
    counts = job_counts(smk("-n", "--cores", "1", "figS1", cwd=tmp_path).stdout)
    # digits only (not the teacher data), the four fnn settings, one notebook; no table
    assert counts == {"prepare_data": 1, "train_run": 4, "figure": 1, "figS1": 1}


def test_fig1_builds_only_the_data_and_sme_upstream(tmp_path):
    counts = job_counts(smk("-n", "--cores", "1", "fig1", cwd=tmp_path).stdout)
    # the teacher data and the 8 cells of the order study; no training, no heatmap-only cells
    assert counts == {"prepare_data": 1, "sme_cell": 8, "figure": 1, "fig1": 1}


def test_sme_target(tmp_path):
    counts = job_counts(smk("-n", "--cores", "1", "sme", cwd=tmp_path).stdout)
    assert counts == {"prepare_data": 1, "sme_cell": 32, "sme_exact": 1, "sme_linear": 4,
                      "figure": 4, "table": 1, "sme": 1}


def test_noise_target_and_fig3_build_only_their_upstream(tmp_path):
    counts = job_counts(smk("-n", "--cores", "1", "noise", cwd=tmp_path).stdout)
    # digits, the two dropout settings and their baselines (the flatness comparison), 6 figures,
    # 4 tables
    assert counts == {"prepare_data": 1, "train_run": 4, "noise_setting": 2, "noise_compare": 2,
                      "noise_keep": 4, "noise_mask": 2, "noise_sharpness": 2, "figure": 6,
                      "table": 4, "noise": 1}
    counts = job_counts(smk("-n", "--cores", "1", "fig3", cwd=tmp_path).stdout)
    assert counts == {"prepare_data": 1, "train_run": 2, "noise_setting": 2, "figure": 1, "fig3": 1}


def test_universality_target(tmp_path):
    counts = job_counts(smk("-n", "--cores", "1", "universality", cwd=tmp_path).stdout)
    # digits and the sequence task; every run of fnn, cnn and transformer (table5 compares each
    # dropout setting with the keep_prob = 1 run at its lr)
    assert counts == {"prepare_data": 2, "train_run": 8, "noise_setting": 4, "figure": 1,
                      "table": 1, "universality": 1}


def test_data_target_builds_every_dataset(tmp_path):
    counts = job_counts(smk("-n", "--cores", "1", "data", cwd=tmp_path).stdout)
    assert counts == {"prepare_data": 3, "data": 1}


def test_paper_config_with_idx_fixtures(tmp_path):
    make_mnist(tmp_path / "mnist_files")
    out = smk("-n", "--cores", "1", "--configfile", str(ROOT / "config/paper.yaml"),
              "--config", f"data_dir={tmp_path / 'mnist_files'}", cwd=tmp_path).stdout
    counts = job_counts(out)
    # mnist, mnist_sme, cifar100(_full), cifar10_2048, cifar10_full, multi30k; E5: ResNet-20 and
    # VGG16 and the transformer as the precursor and the paper ran them, and cheaper
    assert counts["train_run"] == 16 and counts["prepare_data"] == 7
    for run in ("resnet20/p0.8_lr0.1", "vgg16/p0.5_lr0.02", "transformer_multi30k/p0.9_lr0.1",
                "resnet20_precursor/p0.8_lr0.01", "vgg16_full/p0.5_lr0.02",
                "transformer_precursor/p0.9_lr0.002236"):
        assert f"results/noise/{run}/alignment.csv" in out
    # 3 x 5 order cells + 6 x 4 heatmap cells (their own: noise-scaled); 3 activations x 4 lrs
    assert counts["sme_cell"] == 51
    assert "results/runs/fnn_mnist/p0.8_lr0.1/metrics.csv" in out
    # every compute job shows its resources, a GPU included
    jobs = out.split("\nrule ")[1:]
    assert counts["noise_setting"] == 8 and counts["noise_compare"] == 2
    assert counts["noise_keep"] == 6
    assert counts["noise_mask"] == 2 and counts["noise_sharpness"] == 2
    compute = [j for j in jobs if j.startswith(("train_run:", "sme_cell:", "noise_setting:",
                                                "noise_compare:", "noise_keep:", "noise_mask:",
                                                "noise_sharpness:"))]
    assert len(compute) == 87 and all("gpu=1" in j and "runtime=" in j for j in compute)
    # each job's resources are the plan's estimate of that job, from the params its rule builds
    config = cfg.load(ROOT / "config/paper.yaml")
    config.update(data_dir=str(tmp_path / "mnist_files"), gpus=1)
    planned = Counter(
        (job.rule, *(plan.limits(job, "cuda")[k]
                     for k in ("runtime", "mem_mb", "device_mb")))
        for job in plan.jobs(config, "cuda"))
    shown = Counter((j.split(":")[0], *(int(re.search(rf"\b{k}=(\d+)", j).group(1))
                                        for k in ("runtime", "mem_mb", "device_mb")))
                    for j in compute)
    assert shown == planned


def test_paper_config_without_data_dir_names_the_key(tmp_path):
    out = smk("-n", "--cores", "1", "--configfile", str(ROOT / "config/paper.yaml"), cwd=tmp_path,
              check=False)
    assert out.returncode != 0
    assert "config key data_dir is missing" in out.stdout + out.stderr


def test_bad_keep_prob_stops_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(TEST_CONFIG).read_text().replace("keep_prob: 0.8", "keep_prob: 1.5", 1))
    out = smk("-n", "--cores", "1", "--configfile", str(bad), cwd=tmp_path, check=False)
    assert out.returncode != 0
    assert "config key experiments.fnn.settings[0].keep_prob: got 1.5; allowed: a number in " \
           "(0, 1]" in out.stdout + out.stderr


def test_tiny_end_to_end_run(tiny_run):
    tmp_path = tiny_run                     # (the session's one run of the tiny config)
    for name in ("figS1_training", "fig1_sme", "figS2_sme_weak_order", "figS3_sme_heatmap",
                 "fig2_noise_structure", "fig3_alignment", "figS4_flatness_factor",
                 "figS6_noise_comparison", "figS7_activations", "figS5_universality",
                 "figS8_keep_sweep", "figS9_sharpness"):
        for ext in ("pdf", "png"):
            assert (tmp_path / "figures" / f"{name}.{ext}").stat().st_size > 0
    for name in ("table1_accuracy", "table2_sme_order", "table3_slopes", "table4_alignment",
                 "table5_universality", "table7_mask_convention", "table8_sharpness", "claims"):
        for ext in ("csv", "md"):
            assert (tmp_path / "figures" / f"{name}.{ext}").stat().st_size > 0
    orders = pd.read_csv(tmp_path / "figures/table2_sme_order.csv")
    assert set(zip(orders.method, orders.l)) == {("sme1", 0), ("sme2", 0), ("svag", 2), ("gf", 0),
                                                 ("gf2", 0)}
    exact = orders[orders.case == "linear regression (exact)"]
    assert set(exact.method) == {"sme1", "sme2", "gf", "gf2"} and exact.order.notna().all()
    linear = orders[orders.case == "linear regression (Monte Carlo)"]      # its 4 sme_linear jobs
    assert set(linear.method) == {"sme1", "sme2", "svag", "gf", "gf2"}
    assert {"train_loss_var", "spread"} <= set(orders.g)                   # the fluctuations
    table = pd.read_csv(tmp_path / "figures/table1_accuracy.csv")
    assert table.keep_prob.tolist() == [1.0, 0.8]
    assert table.test_acc_mean.between(0.3, 1).all()  # 60 steps of a small net learn something
    claims = pd.read_csv(tmp_path / "figures/claims.csv")
    assert set(claims.verdict) <= {"reproduced", "partly", "not reproduced", "undecided",
                                   "not run"}
    assert len(claims) == 9
    universality = pd.read_csv(tmp_path / "figures/table5_universality.csv")
    assert universality.experiment.tolist() == ["fnn", "cnn", "transformer"]
    assert universality.test_acc_no_dropout_mean.notna().all()      # the keep_prob = 1 runs
    sweep = pd.read_csv(tmp_path / "results/noise/fnn/p0.8_lr0.1/keep_sweep/p0.5.csv")
    assert set(sweep.seed) == {0, 1} and (sweep.keep_prob == 0.5).all() and sweep.masks.eq(200).all()
    slopes = pd.read_csv(tmp_path / "figures/table3_slopes.csv")
    # dropout: 5 relations and 3 robustness rows of the trajectory data, 2 seeds each; the
    # controls (SGD, isotropic, noise-free, positive control) under the 4 drift handlings; the
    # window's diagnosis on the main trajectory row
    dropout = slopes[slopes.noise == "dropout"]
    assert len(dropout) == 8 and dropout.seeds.eq(2).all()
    control = slopes[slopes.role == "control"]
    assert len(control) == 4 * 4 and set(control.noise) == {"sgd", "gaussian", "none",
                                                            "positive_control"}
    free = control[control.noise == "none"].set_index("drift")
    assert free.loc["fluctuation", "seeds"] == 0 and free.loc["none", "seeds"] == 2
    assert slopes.trend_fraction_mean.notna().sum() == 1
    align = pd.read_csv(tmp_path / "results/noise/fnn/p0.8_lr0.1/alignment.csv")
    # checkpoints 0, 30, 40 (theta*, the trajectory start), 60 for both seeds, + theta* with K
    assert sorted(set(align.step)) == [0, 30, 40, 60] and len(align) == 10
    assert align.alpha.between(-1, 1).all()
    other = pd.read_csv(tmp_path / "results/noise/fnn/p0.8_lr0.1/compare.csv")
    assert set(other.noise) == {"sgd", "gaussian", "none", "positive_control"}
    assert len(other) == 8
    ratio = other.trace / other.trace_dropout                # matched magnitude (SGD: whole b)
    assert ratio[other.noise == "gaussian"].sub(1).abs().max() < 1e-9
    assert ratio[other.noise == "sgd"].between(0.5, 2).all()
    run = tmp_path / "results/runs/fnn/p0.8_lr0.1"
    metrics = pd.read_csv(run / "metrics.csv")
    assert set(metrics.seed) == {0, 1} and metrics.step.max() == 60
    assert not (run / "resume.pt").exists()
    assert (tmp_path / "results/notebooks/figS1_training.ipynb").exists()
    assert (tmp_path / "results/data/digits.json").exists()
    # nothing left to do, and the report renders every figure and table
    assert "Nothing to be done" in smk("-n", "--configfile", TEST_CONFIG, cwd=tmp_path).stdout
    out = smk("--configfile", TEST_CONFIG, "--report", str(tmp_path / "report.html"), cwd=tmp_path)
    assert (tmp_path / "report.html").stat().st_size > 10_000
    assert "substitution" not in out.stdout + out.stderr      # captions render as reST


def test_an_edited_method_reruns_exactly_the_jobs_that_run_it(tmp_path):
    """The DAG tracks the package code each rule runs: editing the noise stage reruns the noise
    jobs and what reads them, not training or E1; editing nothing reruns nothing."""
    import shutil

    repo = tmp_path / "repo"
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for part in ("workflow", "scripts", "src", "notebooks", "config", "tests/config"):
        shutil.copytree(ROOT / part, repo / part, ignore=skip)
    shutil.copy(ROOT / "Snakefile", repo / "Snakefile")
    work = tmp_path / "work"
    work.mkdir()
    config = str(repo / "tests/config/test.yaml")

    def run(*args, check=True):
        cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(work),
               "--configfile", config, "--cores", "1", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "PYTHONPATH": str(repo / "src")})
        assert proc.returncode == 0 or not check, proc.stdout + proc.stderr
        return proc.stdout

    # every output present and recorded as up to date (its params, the code hash among them)
    summary = run("--summary")
    for line in summary.splitlines()[1:]:
        path = work / line.split("\t")[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    run("--touch")
    assert "Nothing to be done" in run("-n")

    edited = repo / "src/dropout_sme/noise/flatness.py"
    original = edited.read_text()
    edited.write_text(original + "\n# an edit of the method\n")
    counts = job_counts(run("-n"))
    assert counts.pop("noise_setting") == 3 and counts.pop("noise_compare") == 1
    assert counts.pop("noise_keep") == 2
    assert counts.pop("noise_mask") == 1 and counts.pop("noise_sharpness") == 1
    assert set(counts) <= {"figure", "table", "all"}           # what reads them, nothing else
    edited.write_text(original)
    assert "Nothing to be done" in run("-n")

    # the weak errors are the figures' analysis: E1's simulations stay
    weak = repo / "src/dropout_sme/sme/weak.py"
    original = weak.read_text()
    weak.write_text(original + "\n# an edit of the analysis\n")
    counts = job_counts(run("-n"))
    assert set(counts) == {"figure", "table", "all"} and counts["table"] == 2    # table2, claims
    weak.write_text(original)

    # the statistics over seeds are the figures' too: no noise job reruns
    summaries = repo / "src/dropout_sme/report/stats.py"
    summaries.write_text(summaries.read_text() + "\n# an edit of the summaries\n")
    assert set(job_counts(run("-n"))) == {"figure", "table", "all"}



def test_a_shared_cache_serves_a_second_checkout(tmp_path):
    """Two clean copies share SNAKEMAKE_OUTPUT_CACHE: the second trains and simulates nothing;
    after an edit of the noise stage it recomputes the noise job only (the cache key holds the
    code hash of the package modules each rule runs)."""
    import shutil

    cache = tmp_path / "cache"
    cache.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")

    def checkout(name):
        repo = tmp_path / name
        for part in ("workflow", "scripts", "src", "notebooks", "config", "tests/config"):
            shutil.copytree(ROOT / part, repo / part, ignore=skip)
        shutil.copy(ROOT / "Snakefile", repo / "Snakefile")
        return repo

    def run(repo, targets=("fig3", "fig1"), check=True):
        cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d",
               str(repo / "work"), "--configfile", str(repo / "tests/config/test.yaml"),
               "--cores", "2", *targets, "--cache"]
        env = {**os.environ, "PYTHONPATH": str(repo / "src"), "MPLBACKEND": "Agg",
               "SNAKEMAKE_OUTPUT_CACHE": str(cache)}
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
        assert proc.returncode == 0 or not check, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc

    def computed(repo, kind):
        """Jobs of a kind that ran here: a job taken from the cache leaves an empty log, one
        that ran ends its log with its time and memory."""
        return [p for p in (repo / "work/results/logs" / kind).rglob("*.log")
                if p.stat().st_size]

    first = checkout("a")
    run(first)
    assert computed(first, "train") and computed(first, "sme") and computed(first, "noise")
    second = checkout("b")
    run(second)
    assert not computed(second, "train") and not computed(second, "sme")
    assert not computed(second, "noise")
    assert (second / "work/results/runs/fnn/p0.8_lr0.1/checkpoints.pt").is_symlink()  # the cache's
    assert (second / "work/figures/fig3_alignment.png").stat().st_size > 0
    edited = second / "src/dropout_sme/noise/flatness.py"
    edited.write_text(edited.read_text() + "\n# an edit of the method\n")
    shutil.rmtree(second / "work")
    run(second)
    assert not computed(second, "train") and not computed(second, "sme")
    assert computed(second, "noise")                              # the edit misses the cache

    # a damaged cache entry: the next reader stops with the file's name, no table is written
    damaged = second / "work/results/noise/fnn/p0.8_lr0.1/alignment.csv"
    entry = damaged.resolve()
    assert entry.is_relative_to(cache)
    entry.chmod(0o644)
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size * 6 // 10])
    proc = run(second, ["table4"], check=False)
    assert proc.returncode != 0 and not (second / "work/figures/table4_alignment.csv").exists()
    log = (second / "work/results/logs/table/table4_alignment.log").read_text()
    assert "DamagedFile: results/noise/fnn/p0.8_lr0.1/alignment.csv" in log
    assert "the cache entry is damaged" in log
