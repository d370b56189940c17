"""Execute a jupytext (py:percent) notebook with papermill; the executed .ipynb is kept.

Each execution starts its kernel on the IPC transport (Unix sockets) with its connection file and
sockets in a folder of its own. On the default TCP transport the client picks free ports and the
kernel binds them a moment later, so notebook jobs started side by side (several local cores, or
jobs of a cluster sharing a node) can take each other's ports and die with "Kernel died before
replying to kernel_info"; sockets in a private folder cannot collide.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def private_kernel_manager(folder):
    """A kernel manager class whose kernels talk over Unix sockets inside ``folder``."""
    from jupyter_client import AsyncKernelManager

    folder = Path(folder)

    class PrivateKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.update(transport="ipc", ip=str(folder / "kernel"),
                          connection_file=str(folder / "kernel.json"))
            super().__init__(**kwargs)

    return PrivateKernelManager


def execute(source, output, parameters: dict, cwd=None) -> None:
    """Run ``source`` (a jupytext .py notebook) with ``parameters`` injected; write ``output``.

    The kernel is ``python3`` of the running environment (ipykernel's own, so no user-level kernel
    registration is needed on compute nodes), on a private IPC transport (see the module's
    docstring), and plots use the Agg backend. The executed notebook appears at ``output`` only on
    success; a failed run is kept as ``<output>.failed.ipynb``.
    """
    import jupytext
    import papermill

    os.environ["MPLBACKEND"] = "Agg"
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    running = output.with_name(f".{output.stem}.running.ipynb")
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    # short and private: a Unix socket's path is limited to about 100 characters
    sockets = tempfile.mkdtemp(prefix="nbk-")
    try:
        papermill.execute_notebook(
            nb, str(running), parameters=parameters, kernel_name="python3", language="python",
            cwd=str(cwd or Path.cwd()), progress_bar=False,
            kernel_manager_class=private_kernel_manager(sockets))
    except BaseException:
        if running.exists():
            os.replace(running, output.with_suffix(".failed.ipynb"))
        raise
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
    os.replace(running, output)
