"""Rule `figure` / `table`: execute a jupytext notebook with papermill.

The notebook's parameters are the rule's named inputs (the files it reads), named outputs
(out_<name>: the files it must write) and the values of params.extra (settings taken from the
config by the rule), so a notebook never looks anything up in the config.
"""

from dropout_sme.io import rule_job
from dropout_sme.report.notebooks import execute


def _plain(value):
    return str(value) if isinstance(value, str) else [str(v) for v in value]


sm = snakemake  # noqa: F821
with rule_job(sm):
    parameters = {k: _plain(v) for k, v in sm.input.items() if k != "notebook"}
    parameters.update({f"out_{k}": str(v) for k, v in sm.output.items() if k != "notebook"})
    parameters.update(sm.params.extra)
    execute(sm.input.notebook, sm.output.notebook, parameters)
