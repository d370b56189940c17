"""Execute a jupytext (py:percent) notebook with papermill; the executed .ipynb is kept."""

from __future__ import annotations

import os
from pathlib import Path


def execute(source, output, parameters: dict, cwd=None) -> None:
    """Run ``source`` (a jupytext .py notebook) with ``parameters`` injected; write ``output``.

    The kernel is ``python3`` of the running environment (ipykernel's own, so no user-level kernel
    registration is needed on compute nodes) and plots use the Agg backend. The executed notebook
    appears at ``output`` only on success; a failed run is kept as ``<output>.failed.ipynb``.
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
    try:
        papermill.execute_notebook(
            nb, str(running), parameters=parameters, kernel_name="python3", language="python",
            cwd=str(cwd or Path.cwd()), progress_bar=False)
    except BaseException:
        if running.exists():
            os.replace(running, output.with_suffix(".failed.ipynb"))
        raise
    os.replace(running, output)
