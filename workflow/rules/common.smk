# Validation (schema + cross-key checks) before any job runs, and the helpers every rule uses.
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # this checkout's package, installed or not
from dropout_sme import config as cfg

try:
    validate(config, schema="../schemas/config.schema.yaml")
except WorkflowError as err:
    cause = cfg.schema_error(err)
    if cause is None:
        raise
    raise cfg.ConfigError(cfg.explain(cause)) from None
cfg.check(config)

ENV = "../envs/pipeline.yaml"
REPO = Path(workflow.basedir)  # the checkout: notebooks are read from here, whatever --directory
# Jobs import the package from this checkout even in an environment that lacks it (--sdm conda).
_inherited = dict(os.environ).pop("PYTHONPATH", "")
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (str(REPO / "src"), _inherited) if p))
THREADS = config["threads"]
SME_CELLS = cfg.sme_cells(config)
NOISE_EXPERIMENT = config["noise"]["experiment"]

# Figures and tables: name -> (notebook, input function, caption). Inputs decide the upstream:
# asking for one figure builds only what its notebook reads.
FIGURES = {}
TABLES = {}


def dataset_files(name):
    return {"npz": f"results/data/{name}.npz", "meta": f"results/data/{name}.json"}


def run_dir(experiment, setting):
    return f"results/runs/{experiment}/{setting}"


def experiment_metrics(experiment):
    exp = config["experiments"][experiment]
    return [f"{run_dir(experiment, s['name'])}/metrics.csv" for s in cfg.settings(exp)]


def sme_cell_files(part=None):
    """The cells of the order study, of the heatmap, or (None) all of them."""
    if part is None:
        return [f"results/sme/{name}.npz" for name in SME_CELLS]
    grid = config["sme"][part]
    return [
        f"results/sme/{cfg.setting_name(p, lr)}.npz"
        for p in grid["keep_probs"]
        for lr in grid["lrs"]
    ]


def activation_sweep_files():
    """figS7: cell file -> activation, the sweep's cells and, where the order study ran the same
    (keep_prob, lr), the model's own activation."""
    sweep = config["sme"]["activations"]
    own = config["sme"]["model"]["activation"]
    files = {f"results/sme/{name}.npz": cell["activation"]
             for name, cell in cfg.activation_cells(config).items()}
    for p in sweep["keep_probs"]:
        for lr in sweep["lrs"]:
            name = cfg.setting_name(p, lr)
            if name in SME_CELLS and "sme1" in SME_CELLS[name]["methods"]:
                files[f"results/sme/{name}.npz"] = own
    return files


def noise_files(kind):
    """alignment | directions | nulls CSVs of every analysed setting."""
    return [
        f"results/noise/{NOISE_EXPERIMENT}/{s}/{kind}.csv"
        for s in cfg.noise_settings(config)
    ]


def all_training():
    return [f for e in config["experiments"] for f in experiment_metrics(e)]


def notebook_inputs(registry):
    """Input function of the figure / table rules: the notebook and the files it reads."""

    def inputs(wc):
        entry = registry[wc.name]
        return {"notebook": str(REPO / entry["notebook"]), **entry["inputs"]()}

    return inputs


def all_targets():
    out = [f"figures/{name}.{ext}" for name in FIGURES for ext in ("pdf", "png")]
    out += [f"figures/{name}.{ext}" for name in TABLES for ext in ("csv", "md")]
    return out
