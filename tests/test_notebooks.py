"""Notebook execution: kernels on private IPC sockets, so that many start at once without racing."""

import json
import multiprocessing
import os

import pytest

from dropout_sme.report import notebooks

NOTEBOOK = """# %% tags=["parameters"]
value = 0
out = ""

# %%
import json, os
with open(out, "w") as fh:
    json.dump({"value": value * 2, "pid": os.getpid()}, fh)
"""


def _run(args):
    source, folder, i = args
    notebooks.execute(source, folder / f"run{i}.ipynb",
                      {"value": i, "out": str(folder / f"out{i}.json")}, cwd=folder)
    return i


def test_many_notebooks_started_at_once_all_finish(tmp_path):
    source = tmp_path / "nb.py"
    source.write_text(NOTEBOOK)
    runs = 10
    with multiprocessing.get_context("spawn").Pool(runs) as pool:
        done = pool.map(_run, [(source, tmp_path, i) for i in range(runs)])
    assert done == list(range(runs))
    results = [json.loads((tmp_path / f"out{i}.json").read_text()) for i in range(runs)]
    assert [r["value"] for r in results] == [2 * i for i in range(runs)]
    assert len({r["pid"] for r in results}) == runs                 # a kernel each
    assert all((tmp_path / f"run{i}.ipynb").exists() for i in range(runs))
    leftovers = [p for p in os.listdir(tmp_path) if p.startswith(".")]
    assert leftovers == []


def test_a_failing_notebook_is_kept_aside_and_raises(tmp_path):
    source = tmp_path / "bad.py"
    source.write_text(NOTEBOOK.replace("value * 2", "value / 0"))
    with pytest.raises(Exception, match="ZeroDivisionError"):
        notebooks.execute(source, tmp_path / "bad.ipynb", {"value": 1, "out": "x.json"},
                          cwd=tmp_path)
    assert (tmp_path / "bad.failed.ipynb").exists() and not (tmp_path / "bad.ipynb").exists()


def test_the_kernel_uses_sockets_in_a_private_folder(tmp_path):
    manager = notebooks.private_kernel_manager(tmp_path)(kernel_name="python3")
    assert manager.transport == "ipc"
    assert manager.ip.startswith(str(tmp_path)) and manager.connection_file.startswith(str(tmp_path))
