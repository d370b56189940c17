import fcntl
import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))  # tests/fixtures.py


@pytest.fixture
def root():
    return ROOT


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The tiny test config's whole DAG, run once on 2 local cores for every test that reads it
    (the end-to-end checks, the SLURM run's comparison): its working directory.

    Once per session also with pytest-xdist's workers (pyproject's addopts): the first worker
    that asks runs it under a lock in the folder the workers share, the others wait and read it.
    """
    from fixtures import TEST_CONFIG, smk

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent                      # <basetemp>/popen-gw<N> -> <basetemp>
    work, done = shared / "tiny_run", shared / "tiny_run.complete"
    with open(shared / "tiny_run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)            # released when the file closes
        if not done.exists():
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            smk("--configfile", TEST_CONFIG, "--cores", "2", cwd=work, timeout=1800)
            done.touch()
    return work


_FILE_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report):
    """Sum each test file's setup, call and teardown time (the summary below)."""
    path = report.nodeid.split("::")[0]
    _FILE_SECONDS[path] = _FILE_SECONDS.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    """Time per test file, longest first: where the suite's minutes go."""
    if not _FILE_SECONDS:
        return
    terminalreporter.section("time per test file")
    total = sum(_FILE_SECONDS.values())
    for path, seconds in sorted(_FILE_SECONDS.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{seconds:8.1f} s  {100 * seconds / total:5.1f}%  {path}")
    terminalreporter.write_line(f"{total:8.1f} s  total")
