"""benchmarks/compare_tables.py: the check that a speed change kept the tables (issue 27)."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_tables.py"
TABLE = {"claim": ["1a", "2"], "estimate": [0.452, 1.8], "interval": ["[0.41, 0.49]", "[1.69, 1.95]"],
         "verdict": ["holds", "undecided (2 of 6 decided)"]}


def run(tmp_path, **changes):
    before, after = tmp_path / "before", tmp_path / "after"
    for folder, table in ((before, TABLE), (after, {**TABLE, **changes})):
        folder.mkdir()
        pd.DataFrame(table).to_csv(folder / "claims.csv", index=False)
    return subprocess.run([sys.executable, SCRIPT, before, after], capture_output=True, text=True)


@pytest.mark.parametrize("changes,ok", [
    ({}, True),
    ({"estimate": [0.452 * (1 + 1e-3), 1.8]}, True),                  # rounding
    ({"interval": ["[0.41, 0.49]", "[1.69, 1.9500001]"]}, True),      # rounding inside text
    ({"estimate": [0.47, 1.8]}, False),                                # a moved number
    ({"interval": ["[0.41, 0.51]", "[1.69, 1.95]"]}, False),          # ... inside text
    ({"verdict": ["fails", "undecided (2 of 6 decided)"]}, False),    # a changed verdict
    ({"estimate": [float("nan"), 1.8]}, False),                        # NaN on one side only
])
def test_tables_within_float_rounding_pass_and_moved_results_fail(tmp_path, changes, ok):
    out = run(tmp_path, **changes)
    assert (out.returncode == 0) == ok, out.stdout + out.stderr


def test_a_skipped_column_is_named_and_left_out(tmp_path):
    before, after = tmp_path / "before", tmp_path / "after"
    for folder, estimate in ((before, 0.452), (after, 0.9)):
        folder.mkdir()
        pd.DataFrame({**TABLE, "estimate": [estimate, 1.8]}).to_csv(folder / "claims.csv",
                                                                  index=False)
    out = subprocess.run([sys.executable, SCRIPT, before, after, "--skip", "claims:estimate"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "not compared: estimate" in out.stdout
