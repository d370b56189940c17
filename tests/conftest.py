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
    (the end-to-end checks, the SLURM run's comparison): its working directory."""
    from fixtures import TEST_CONFIG, smk

    work = tmp_path_factory.mktemp("tiny_run")
    smk("--configfile", TEST_CONFIG, "--cores", "2", cwd=work, timeout=1800)
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
