"""The workflow on a real SLURM cluster (single node, localhost) through the SLURM profile.

Starts the cluster of tests/slurm/cluster.sh (root and Debian's munge/SLURM packages needed;
.ci/run installs them), runs the tiny test config through tests/slurm/profile (the SLURM profile
with only the one-node changes), checks that its outputs are byte-identical to a local run (the
session's ``tiny_run``), that a failing job is retried once and then reported as failed with a
non-zero exit, and stops the daemons. The failing run starts first, and the local run is built
while it waits on the scheduler's status checks; then the SLURM run has the cluster to itself.

The SLURM run builds every compute job of the tiny DAG (each array-job rule, each resource plan)
but only the notebooks of ``TARGETS``: the other 16 figures and tables run the same two rules
(``figure``, ``table``) on the same kind of node, and would cost a batch job each.
Skipped where SLURM cannot run, unless DROPOUT_SME_REQUIRE_SLURM=1 (as in CI).
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures import TEST_CONFIG

from dropout_sme.config import setting_name

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "tests/slurm/cluster.sh"
PROFILE = ROOT / "tests/slurm/profile"
pytestmark = pytest.mark.slurm
# The claims (a table that reads every compute rule's output but the keep sweep's and the E1
# heatmap and activation cells') and the three figures that read those: every compute job, both
# notebook rules.
TARGETS = ["figures/claims.md", "figures/figS3_sme_heatmap.png", "figures/figS7_activations.png",
           "figures/figS8_keep_sweep.png"]
COMPUTED = ("data", "runs", "sme", "noise")     # the compute rules' folders under results/


def _available() -> str | None:
    """Why SLURM cannot run here, or None."""
    if os.geteuid() != 0:
        return "the test cluster's daemons need root"
    missing = [c for c in ("slurmctld", "slurmd", "sbatch", "munged") if not shutil.which(c)]
    if missing:
        return f"not installed: {', '.join(missing)} (tests/slurm/cluster.sh install)"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm is not installed"
    return None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    why = _available()
    if why:
        if os.environ.get("DROPOUT_SME_REQUIRE_SLURM") == "1":
            pytest.fail(f"SLURM test required but cannot run: {why}")
        pytest.skip(why)
    folder = tmp_path_factory.mktemp("slurm")
    subprocess.run(["bash", str(CLUSTER), "start", str(folder)], check=True, timeout=120)
    try:
        yield {**os.environ, "SLURM_CONF": str(folder / "slurm.conf"), "MPLBACKEND": "Agg"}
    finally:
        subprocess.run(["bash", str(CLUSTER), "stop", str(folder)], check=False, timeout=60)


@contextlib.contextmanager
def started(workdir, *args, env, timeout=900):
    """Snakemake in the background, its output in workdir.log: yields (process, log path); a run
    still going at the end of the block is interrupted (the SLURM executor then cancels its
    jobs) and waited for."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir.with_suffix(".log")
    # SIGINT, not SIGTERM, ends the SLURM executor if it ever hangs (timeout passes it on)
    cmd = ["timeout", "-s", "INT", str(timeout), sys.executable, "-m", "snakemake",
           "-s", str(ROOT / "Snakefile"), "-d", str(workdir), *args]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc, log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=120)


def finish(run) -> tuple[int, str]:
    """(exit status, output) of a ``started`` run, once it has ended."""
    proc, log = run
    proc.wait()
    return proc.returncode, log.read_text()


def files(folder, *parts):
    """Every file under folder/part for each part, relative to folder."""
    return {p.relative_to(folder) for part in parts for p in (folder / part).rglob("*")
            if p.is_file()}


@pytest.fixture(scope="module")
def diverging(cluster, tmp_path_factory):
    """A run whose one training job diverges, started first: it spends most of its time waiting
    on the plugin's status checks (which back off after a failure), not on the cores, so the
    local tiny run is built beside it."""
    folder = tmp_path_factory.mktemp("diverging")
    failing = folder / "diverging.yaml"
    failing.write_text(Path(TEST_CONFIG).read_text().replace("lr: 0.1", "lr: 10000.0"))
    # its data, then the one run
    target = f"results/runs/fnn/{setting_name(0.8, 10000.0)}/metrics.csv"
    with started(folder / "run", "--configfile", str(failing), "--profile", str(PROFILE), target,
                 env=cluster) as run:
        yield run


def test_slurm_run_matches_the_local_run(cluster, diverging, tmp_path, request):
    local = request.getfixturevalue("tiny_run")  # the session's local run, built meanwhile
    # The SLURM run starts once the failing run has ended: queued behind the SLURM run's 32 jobs,
    # the failing run's job would wait while that run's own status checks back off ever longer.
    finish(diverging)
    on_slurm = tmp_path / "slurm"
    with started(on_slurm, "--configfile", TEST_CONFIG, "--profile", str(PROFILE), *TARGETS,
                 env=cluster) as run:
        code, text = finish(run)
    assert code == 0, text[-6000:]
    assert "SLURM" in text   # it really went through the executor
    assert "Submitted array job" in text
    # every compute job ran there: the same result files as the local run's whole DAG
    assert files(on_slurm / "results", *COMPUTED) == files(local / "results", *COMPUTED)
    produced = sorted(p.name for p in (on_slurm / "figures").iterdir())
    assert len(produced) == 8      # the claims (csv, md), three figures (pdf, png)
    for name in produced:
        a, b = (on_slurm / "figures" / name).read_bytes(), (local / "figures" / name).read_bytes()
        assert a == b, f"{name} differs between the SLURM and the local run"


def test_a_failing_job_is_reported_and_fails_the_run(diverging):
    code, text = finish(diverging)
    assert code != 0
    assert "SLURM status is: 'FAILED'" in text and "Error in rule train_run" in text
    assert "Trying to restart job" in text          # the profile's retry, then the real failure
