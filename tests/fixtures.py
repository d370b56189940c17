"""Tiny dataset files in the real formats (the package's writers, shared with the toy config),
and ``smk``: Snakemake on this repository's workflow, as the workflow tests run it."""

import os
import subprocess
import sys
from pathlib import Path

from dropout_sme.data.fixtures import (MULTI30K_LINES, idx_bytes, make_cifar, make_mnist,
                                       make_multi30k)

__all__ = ["MULTI30K_LINES", "idx_bytes", "make_cifar", "make_mnist", "make_multi30k", "smk",
           "TEST_CONFIG"]

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
TEST_CONFIG = str(ROOT / "tests/config/test.yaml")


def smk(*args, cwd, check=True, timeout=600):
    """``snakemake -d cwd *args`` (matplotlib's Agg backend); a failure raises with its output."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([*SNAKEMAKE, "-d", str(cwd), *args], capture_output=True, text=True,
                          env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc
