import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))  # tests/fixtures.py


@pytest.fixture
def root():
    return ROOT


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
