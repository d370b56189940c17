# Validation (schema + cross-key checks) before any job runs, and the helpers every rule uses.
import os
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(
    0, str(Path(workflow.basedir) / "src")
)  # this checkout's package, installed or not
from dropout_sme import architectures
from dropout_sme import config as cfg
from dropout_sme import plan
from dropout_sme.codehash import code_hash

try:
    validate(config, schema="../schemas/config.schema.yaml")
except WorkflowError as err:
    cause = cfg.schema_error(err)
    if cause is None:
        raise
    raise cfg.ConfigError(cfg.explain(cause)) from None
cfg.check(config)

ENV = "../envs/pipeline.yaml"
REPO = Path(
    workflow.basedir
)  # the checkout: notebooks are read from here, whatever --directory
# Jobs import the package from this checkout even in an environment that lacks it (--sdm conda).
_inherited = dict(os.environ).pop("PYTHONPATH", "")
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (str(REPO / "src"), _inherited) if p)
)
THREADS = config["threads"]
PLAN_DEVICE = "cuda" if config["gpus"] else "cpu"


def planned(rule, spec_of):
    """The resources of a compute rule's jobs: runtime, mem_mb and device_mb (the estimate the
    job checks against its device before it starts) from the cost plan of each job's own params
    (``spec_of(wildcards)``, the rule's params function), never below the rule's floors
    (``plan.FLOORS``); gpu from the config. ``python -m dropout_sme.plan`` prints the same.
    """

    def get(key):
        return lambda wc: plan.limits(
            plan.cost(rule, spec_of(wc), config, PLAN_DEVICE), PLAN_DEVICE
        )[key]

    return {
        "runtime": get("runtime"),
        "mem_mb": get("mem_mb"),
        "device_mb": get("device_mb"),
        "gpu": config["gpus"],
    }


SME_CELLS = cfg.sme_cells(config)
NOISE_EXPERIMENT = config["noise"]["experiment"]
# Scheduling (job priorities; Snakemake does not pass them upstream): the data, every training
# run, the noise stages (the FNN's take minutes) and their comparisons and sweeps first, in that
# order; then the E1 cells, longest first (their priority is their cost, below CHAIN); the
# notebooks last. Without it the noise chain waited for the E1 cells, and the DAG ended with one
# core idle behind it or behind late baseline runs and their tables.
CHAIN = 10**7

# Figures and tables: name -> (notebook, input function, caption). Inputs decide the upstream:
# asking for one figure builds only what its notebook reads.
FIGURES = {}
TABLES = {}


def code(*sources):
    """The hash of the package code that a rule's script (and notebook) runs: a params value, so
    that a job reruns when the method it runs is edited, and only then."""
    return code_hash(*(REPO / s for s in sources))


def one_of(names):
    """A wildcard constraint matching exactly these names."""
    return "|".join(re.escape(str(n)) for n in names) or "(?!)"


# Every output path of the compute rules, written once: the rules declare these templates, the
# input functions below fill them in.
DATA = "results/data/{dataset}"
RUN = "results/runs/{experiment}/{setting}"
CELL = "results/sme/{cell}"
EXACT = "results/sme/exact"
LINEAR_SPEC = cfg.linear_spec(config)
LINEAR_LRS = [f"{lr:g}" for lr in config["sme"]["exact"]["monte_carlo"]["lrs"]]
NOISE = "results/noise/{experiment}/{setting}"


def seal_path(stage, job):
    """Where a job's seal goes (io.rule_job writes it beside its log's path)."""
    return f"results/seals/{stage}/{job}.json"


def log_path(stage, job):
    return f"results/logs/{stage}/{job}.log"


def linear_files():
    """The exact case's Monte Carlo cells (rule sme_linear), one per lr."""
    return [f"{EXACT}/mc_lr{lr}.npz" for lr in LINEAR_LRS]


def cell_file(name):
    return CELL.format(cell=name) + ".npz"


def noise_dir(experiment, setting):
    return NOISE.format(experiment=experiment, setting=setting)


def dataset_files(name):
    base = DATA.format(dataset=name)
    return {"npz": f"{base}.npz", "meta": f"{base}.json"}


def run_dir(experiment, setting):
    return RUN.format(experiment=experiment, setting=setting)


def experiment_metrics(experiment):
    exp = config["experiments"][experiment]
    return [f"{run_dir(experiment, s['name'])}/metrics.csv" for s in cfg.settings(exp)]


def sme_cell_files(part=None):
    """The cells of the order study, of the heatmap, or (None) all of them."""
    if part is None:
        return [cell_file(name) for name in SME_CELLS]
    if part == "heatmap":
        return [cell_file(name) for name in cfg.heatmap_cells(config)]
    grid = config["sme"][part]
    return [
        cell_file(cfg.setting_name(p, lr))
        for p in grid["keep_probs"]
        for lr in grid["lrs"]
    ]


def activation_sweep_files():
    """figS7: the activation sweep's cells and, where the order study ran the same (keep_prob,
    lr), the cell of the model's own activation (each cell records its activation)."""
    sweep = config["sme"]["activations"]
    files = [cell_file(name) for name in cfg.activation_cells(config)]
    for p in sweep["keep_probs"]:
        for lr in sweep["lrs"]:
            name = cfg.setting_name(p, lr)
            if name in SME_CELLS and "sme1" in SME_CELLS[name]["methods"]:
                files.append(cell_file(name))
    return files


def noise_files(kind, experiment=NOISE_EXPERIMENT):
    """alignment | directions | nulls CSVs of every analysed setting of one experiment."""
    return [
        f"{noise_dir(experiment, s)}/{kind}.csv"
        for s in cfg.noise_settings(config, experiment)
    ]


def universality_files(kind):
    """experiment -> its noise CSVs of one kind (figS5, table5): every E5 architecture."""
    return {e: noise_files(kind, e) for e in cfg.universality_experiments(config)}


def architecture_labels():
    """experiment -> a short label of its network, data and analysed block (figS5, table5)."""
    out = {}
    for e in cfg.universality_experiments(config):
        exp = config["experiments"][e]
        net = architectures.of(exp["model"]).label(exp["model"])
        block = cfg.noise_spec(config, e, cfg.noise_settings(config, e)[0])["block"]
        out[e] = f"{net} on {exp['dataset']} ({block})"
    return out


# figS8's sweep: the name in a job's paths -> its keep probability (the value from the config,
# never read back from a path)
KEEP_SWEEP = {f"{p:g}": p for p in config["noise"]["keep_sweep"]["keep_probs"]}


def keep_sweep_files():
    setting = cfg.noise_settings(config)[0]
    return [
        f"{noise_dir(NOISE_EXPERIMENT, setting)}/keep_sweep/p{name}.csv"
        for name in KEEP_SWEEP
    ]


# Input and params functions of the rules (one each; the rules only name them).
def get_dataset(wc):
    """The prepared dataset an experiment trains on."""
    return dataset_files(config["experiments"][wc.experiment]["dataset"])["npz"]


def get_checkpoints(wc):
    return f"{run_dir(wc.experiment, wc.setting)}/checkpoints.pt"


def get_trajectory(wc):
    return f"{run_dir(wc.experiment, wc.setting)}/trajectory.npz"


def get_metrics(wc):
    return f"{run_dir(wc.experiment, wc.setting)}/metrics.csv"


def get_dataset_spec(wc):
    return config["datasets"][wc.dataset]


def get_run_spec(wc):
    return cfg.run_spec(config, wc.experiment, wc.setting)


def get_sme_spec(wc):
    return cfg.sme_spec(config, wc.cell)


def get_sme_cost(wc):
    return cfg.sme_cost(config, wc.cell)


def get_noise_spec(wc):
    return cfg.noise_spec(config, wc.experiment, wc.setting)


def get_mask_spec(wc):
    return cfg.mask_sensitivity_spec(config, wc.setting)


def mask_sensitivity_files():
    """table7's inputs: each dropout setting's other-mask noise at theta* (none when off)."""
    if not config["noise"]["mask_sensitivity"]["seeds"]:
        return []
    return [
        f"{noise_dir(NOISE_EXPERIMENT, s)}/mask_{cfg.mask_sensitivity_spec(config, s)['mask']}.csv"
        for s in cfg.noise_settings(config)
    ]


def get_sharpness_spec(wc):
    return cfg.sharpness_spec(config, wc.setting)


def get_baseline_checkpoints(wc):
    return (
        f"{run_dir(wc.experiment, get_sharpness_spec(wc)['baseline'])}/checkpoints.pt"
    )


def sharpness_files(kind):
    """figS9 / table8's inputs (``sharpness`` or ``landscape``): none without baselines."""
    if not config["experiments"][NOISE_EXPERIMENT].get("baseline", True):
        return []
    return noise_files(kind)


def get_keep_spec(wc):
    return {**cfg.keep_sweep_spec(config), "keep_prob": KEEP_SWEEP[wc.keep_prob]}


def all_training():
    return [f for e in config["experiments"] for f in experiment_metrics(e)]


def get_notebook_inputs(registry):
    """Input function of the figure / table rules: the notebook and the files it reads."""

    def inputs(wc):
        entry = registry[wc.name]
        return {"notebook": str(REPO / entry["notebook"]), **entry["inputs"]()}

    return inputs


def get_notebook_param(registry, key):
    """A param of the figure / table rules: ``caption``, ``extra`` (the settings the notebook
    takes from the config) or ``code`` (the hash of the package code the notebook runs).
    """

    def param(wc):
        entry = registry[wc.name]
        if key == "caption":
            return entry["caption"]
        if key == "extra":
            return entry.get("params", dict)()
        return code("scripts/run_notebook.py", entry["notebook"])

    return param


def outputs_of(name):
    """The files of one figure (pdf, png) or table (csv, md)."""
    exts = ("pdf", "png") if name in FIGURES else ("csv", "md")
    return [f"figures/{name}.{ext}" for ext in exts]


def alias(name):
    """The short target of a figure or table: fig2 for fig2_noise_structure, claims for claims."""
    return name.split("_")[0]


def group_outputs(group):
    """The files of every figure and table of a named group (sme, noise, universality)."""
    return [
        f
        for name, entry in {**FIGURES, **TABLES}.items()
        if entry.get("group") == group
        for f in outputs_of(name)
    ]


def all_targets():
    return [f for name in {**FIGURES, **TABLES} for f in outputs_of(name)]
