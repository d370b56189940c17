"""Configuration: readable validation errors, cross-key checks, and the settings each experiment runs.

The workflow validates the config with ``snakemake.utils.validate`` against
``workflow/schemas/config.schema.yaml`` (which also fills the defaults). When that fails,
``explain`` turns the JSON-Schema error into one message naming the key and the allowed values;
``check`` then verifies what a schema cannot express (references between keys, data_dir).
"""

from __future__ import annotations

from pathlib import Path

from .data import NEEDS_DATA_DIR, WHERE_TO_GET

SEQUENCE_SOURCES = ("synthetic_sequence", "multi30k")


def param_names(model: dict) -> list[str]:
    """The parameter blocks of a model (their names do not depend on the data's sizes)."""
    import math

    import torch

    from .models import init_params

    small = dict(model)                      # the same layers, one unit wide: cheap to build
    if "channels" in small:
        small["channels"] = [1 if isinstance(c, int) else [1] * len(c) for c in small["channels"]]
    if "hidden" in small:
        small["hidden"] = [1] * len(small["hidden"])
    if small["arch"] == "transformer":
        small.update(d_model=small["heads"], d_ff=1)
    n_in = math.prod(model["image"]) if "image" in model else 4
    n_out = 1 if model["arch"] == "two_layer" else 2
    return list(init_params(small, n_in, n_out, torch.Generator().manual_seed(0)))


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key and what is allowed."""


def key_path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _allowed(schema: dict) -> str:
    """Describe what a (sub)schema accepts, in words."""
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    lo = ("(", schema["exclusiveMinimum"]) if "exclusiveMinimum" in schema else \
        ("[", schema.get("minimum"))
    hi = (")", schema["exclusiveMaximum"]) if "exclusiveMaximum" in schema else \
        ("]", schema.get("maximum"))
    types = schema.get("type")
    types = " or ".join(types) if isinstance(types, list) else types
    if lo[1] is not None or hi[1] is not None:
        lo_txt = f"{lo[0]}{lo[1]}" if lo[1] is not None else "(-inf"
        hi_txt = f"{hi[1]}{hi[0]}" if hi[1] is not None else "inf)"
        return f"a {types or 'number'} in {lo_txt}, {hi_txt}"
    if "properties" in schema:
        return "keys " + ", ".join(k for k in schema["properties"])
    return f"a value of type {types}" if types else "see config/README.md"


def schema_error(exc):
    """The ``jsonschema.ValidationError`` behind an exception of ``snakemake.utils.validate``."""
    seen = exc
    while seen is not None:
        if hasattr(seen, "absolute_path") and hasattr(seen, "validator"):
            return seen
        seen = seen.__cause__ or seen.__context__
    return next((a for a in getattr(exc, "args", ()) if hasattr(a, "absolute_path")), None)


def explain(error) -> str:
    """One line for a ``jsonschema.ValidationError``: the key, what it got, what is allowed."""
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    note = f" ({schema['description']})" if "description" in schema else ""
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"config key {key_path([*path, missing])} is missing; it is required"
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(schema.get("properties", {})))
        return (f"config key {key_path(path)}: {error.message}; "
                f"allowed keys: {allowed or 'none'}")
    got = repr(error.instance)
    if error.validator in ("oneOf", "anyOf"):
        return f"config key {key_path(path)}: got {got}, which matches none of the allowed forms" \
               f"{note}; see config/README.md"
    return f"config key {key_path(path)}: got {got}; allowed: {_allowed(schema)}{note}"


def setting_name(keep_prob: float, lr: float) -> str:
    return f"p{keep_prob:g}_lr{lr:g}"


def settings(experiment: dict) -> list[dict]:
    """The settings an experiment trains: its own plus, with baseline, keep_prob 1 at every lr."""
    out = [dict(s) for s in experiment["settings"]]
    if experiment.get("baseline", True):
        for lr in dict.fromkeys(s["lr"] for s in experiment["settings"]):
            if not any(s["keep_prob"] == 1 and s["lr"] == lr for s in out):
                out.append({"keep_prob": 1.0, "lr": lr})
    for s in out:
        s["name"] = setting_name(s["keep_prob"], s["lr"])
    return out


def run_spec(config: dict, experiment: str, setting: str) -> dict:
    """Everything one training job needs (the rule's params): no config lookups in scripts."""
    exp = config["experiments"][experiment]
    chosen = [s for s in settings(exp) if s["name"] == setting]
    if not chosen:
        raise ConfigError(f"experiment {experiment!r} has no setting {setting!r}")
    keys = ("model", "loss", "mask", "seeds", "steps", "batch_size", "eval_every", "checkpoints",
            "trajectory", "dtype", "seed_batching", "resume_every")
    return {"experiment": experiment, "setting": setting, "dataset": exp["dataset"],
            "keep_prob": chosen[0]["keep_prob"], "lr": chosen[0]["lr"],
            "device": config["device"], **{k: exp[k] for k in keys}}


def sme_cells(config: dict) -> dict:
    """The (keep_prob, lr) cells of E1 by name, with the methods and paths each needs: the order
    study's cells run every method, the heatmap's only dropout and the order-1 SME (dropout and
    gradient flow always run); a part's ``paths`` (default ``sme.paths``) sets its cells' paths,
    the largest where parts share a cell."""
    cells = {}
    for part, methods in (("heatmap", ["sme1"]), ("order", ["sme1", "sme2", "svag"])):
        grid = config["sme"][part]
        for p in grid["keep_probs"]:
            for lr in grid["lrs"]:
                cell = cells.setdefault(setting_name(p, lr), {"keep_prob": p, "lr": lr,
                                                              "methods": [], "activation": None,
                                                              "paths": 0})
                cell["methods"] = sorted(set(cell["methods"]) | set(methods))
                cell["paths"] = max(cell["paths"], _paths(config, grid))
    cells.update(activation_cells(config))
    return cells


def _paths(config: dict, part: dict) -> int:
    return part.get("paths") or config["sme"]["paths"]


def activation_cells(config: dict) -> dict:
    """figS7's cells: dropout and the order-1 SME for each swept activation, named
    ``<activation>_p<keep_prob>_lr<lr>`` (the model's own activation is the order study's)."""
    sweep = config["sme"].get("activations") or {}
    return {f"{act}_{setting_name(p, lr)}": {"keep_prob": p, "lr": lr, "methods": ["sme1"],
                                              "activation": act, "paths": _paths(config, sweep)}
            for act in sweep.get("names", []) for p in sweep["keep_probs"] for lr in sweep["lrs"]}


def sme_spec(config: dict, cell: str) -> dict:
    """Everything one sme_cell job needs (the rule's params)."""
    cells = sme_cells(config)
    if cell not in cells:
        raise ConfigError(f"no E1 cell {cell!r}; the config defines {', '.join(sorted(cells))}")
    keys = ("model", "init_seed", "mask", "horizon", "record_every", "chunk", "batch",
            "substeps", "extrapolate", "svag_l", "dtype", "seed", "target")
    spec = {**cells[cell], "dataset": config["sme"]["dataset"], "device": config["device"],
            **{k: config["sme"].get(k) for k in keys}}
    activation = spec.pop("activation")
    if activation is not None:
        spec["model"] = {**spec["model"], "activation": activation}
    return spec


def sme_cost(config: dict, cell: str) -> int:
    """Relative cost of a cell (network evaluations per 1,000 paths), to start the longest jobs
    first."""
    spec = sme_spec(config, cell)
    steps = spec["horizon"] / spec["lr"]
    em = spec["substeps"] * (3 if spec["extrapolate"] else 1)
    weights = {"sme1": em, "sme2": 2.2 * em, "svag": sum(2 * l for l in spec["svag_l"])}
    return round(spec["paths"] / 1000 * steps * (1 + sum(weights[m] for m in spec["methods"])))


def noise_settings(config: dict, experiment: str | None = None) -> list[str]:
    """The settings the noise stage analyses: the dropout ones of an experiment (default: the
    noise experiment; the universality experiments are analysed the same way)."""
    exp = config["experiments"][experiment or config["noise"]["experiment"]]
    return [s["name"] for s in settings(exp) if s["keep_prob"] < 1]


def universality_experiments(config: dict) -> list[str]:
    """E5's architectures: the noise experiment first, then those of ``universality``."""
    extra = config.get("universality", {}).get("experiments", {})
    return [config["noise"]["experiment"], *[e for e in extra if e != config["noise"]["experiment"]]]


def noise_jobs(config: dict) -> list[tuple[str, str]]:
    """Every (experiment, setting) the noise stage analyses."""
    return [(e, s) for e in universality_experiments(config) for s in noise_settings(config, e)]


def noise_spec(config: dict, experiment: str, setting: str) -> dict:
    """Everything one noise job needs (the rule's params): the noise keys, with the
    experiment's own ``universality`` overrides."""
    noise = {k: v for k, v in config["noise"].items() if k not in ("experiment", "keep_sweep")}
    noise.update(config.get("universality", {}).get("experiments", {}).get(experiment) or {})
    run = run_spec(config, experiment, setting)
    keys = ("experiment", "setting", "dataset", "keep_prob", "lr", "model", "loss", "mask",
            "device", "dtype")
    return {**{k: run[k] for k in keys}, **noise,
            "theta_star": run["trajectory"]["start"], "trajectory": run["trajectory"]}


def keep_sweep_spec(config: dict) -> dict:
    """The keep-probability sweep of the noise structure (figS8) at theta* of the noise
    experiment's first dropout setting."""
    sweep = config["noise"]["keep_sweep"]
    spec = noise_spec(config, config["noise"]["experiment"], noise_settings(config)[0])
    seeds = config["experiments"][spec["experiment"]]["seeds"][:sweep["seeds"]]
    return {**spec, "block": sweep["block"], "masks": sweep["masks"],
            "keep_probs": sweep["keep_probs"], "seeds": seeds}


def datasets_used(config: dict) -> list[str]:
    return sorted({e["dataset"] for e in config["experiments"].values()}
                  | {config["sme"]["dataset"]})


def _is_multiple(total: float, step: float) -> bool:
    k = round(total / step)
    return k >= 1 and abs(k * step - total) <= 1e-9 * max(1.0, total)


def check(config: dict) -> None:
    """Cross-key checks on a schema-valid config (with defaults filled); raises ConfigError."""
    names = sorted(config["datasets"])
    for name, exp in config["experiments"].items():
        where = f"experiments.{name}"
        if exp["dataset"] not in config["datasets"]:
            raise ConfigError(f"config key {where}.dataset: got {exp['dataset']!r}; "
                              f"allowed: one of the datasets defined: {', '.join(names)}")
        source = config["datasets"][exp["dataset"]]["source"]
        regression = source == "synthetic_teacher"
        if regression != (exp["loss"] == "mse"):
            want = "mse" if regression else "cross_entropy"
            raise ConfigError(f"config key {where}.loss: got {exp['loss']!r}; allowed: {want!r} "
                              f"for dataset {exp['dataset']!r} (source {source})")
        sequence = source in SEQUENCE_SOURCES
        if sequence != (exp["model"]["arch"] == "transformer"):
            raise ConfigError(f"config key {where}.model.arch: got {exp['model']['arch']!r}; "
                              f"allowed: 'transformer' exactly for the sequence datasets "
                              f"({', '.join(SEQUENCE_SOURCES)}); dataset {exp['dataset']!r} "
                              f"has source {source}")
        if exp["model"]["arch"] == "two_layer" and not regression:
            raise ConfigError(f"config key {where}.model.arch: got 'two_layer' (scalar output); "
                              f"allowed: 'fnn' for the classification dataset {exp['dataset']!r}")
        steps = exp["steps"]
        late = [c for c in exp["checkpoints"] if c > steps]
        if late:
            raise ConfigError(f"config key {where}.checkpoints: got steps {late} beyond "
                              f"steps = {steps}; allowed: integers in [0, {steps}]")
        traj = exp["trajectory"]
        if traj and traj["start"] + traj["length"] > steps + 1:
            raise ConfigError(f"config key {where}.trajectory: window [{traj['start']}, "
                              f"{traj['start'] + traj['length']}) ends after step {steps}; "
                              f"allowed: start + length <= steps + 1")
        if traj:
            blocks = [*param_names(exp["model"]), "all"]
            if traj["block"] not in blocks:
                raise ConfigError(f"config key {where}.trajectory.block: got {traj['block']!r}; "
                                  f"allowed: one of {', '.join(blocks)}")
        seen = [s["name"] for s in settings(exp)]
        if len(seen) != len(set(seen)):
            raise ConfigError(f"config key {where}.settings: repeated (keep_prob, lr) pairs")
    _check_sme(config)
    _check_noise(config)
    for fig, spec in config.get("figures", {}).items():
        if spec["experiment"] not in config["experiments"]:
            raise ConfigError(f"config key figures.{fig}.experiment: got {spec['experiment']!r}; "
                              f"allowed: one of {', '.join(sorted(config['experiments']))}")
    local = {name: config["datasets"][name]["source"] for name in datasets_used(config)
             if config["datasets"][name]["source"] in NEEDS_DATA_DIR}
    if local:
        if not config.get("data_dir"):
            needs = "; ".join(f"dataset {name!r} (source {source}): {WHERE_TO_GET[source]}"
                              for name, source in local.items())
            raise ConfigError(
                f"config key data_dir is missing; these datasets read local files, so set "
                f"data_dir to a folder holding them (e.g. --config data_dir=/path/to/data): {needs}")
        if not Path(config["data_dir"]).is_dir():
            raise ConfigError(f"config key data_dir: got {config['data_dir']!r}; "
                              "allowed: an existing folder")


def _check_noise(config: dict) -> None:
    noise = config["noise"]
    if noise["experiment"] not in config["experiments"]:
        raise ConfigError(f"config key noise.experiment: got {noise['experiment']!r}; allowed: one "
                          f"of {', '.join(sorted(config['experiments']))}")
    for name in config.get("universality", {}).get("experiments", {}):
        if name not in config["experiments"]:
            raise ConfigError(f"config key universality.experiments.{name}: no such experiment; "
                              f"allowed: one of {', '.join(sorted(config['experiments']))}")
    for name in universality_experiments(config):
        where = f"experiments.{name}"
        exp = config["experiments"][name]
        own = config.get("universality", {}).get("experiments", {}).get(name) or {}
        block = own.get("block", noise["block"])
        traj = exp["trajectory"]
        if not traj or traj["block"] != block:
            raise ConfigError(f"config key {where}.trajectory: got {traj!r}; allowed: a window of "
                              f"block {block!r} (the noise stage's block): the noise stage takes "
                              f"its trajectory data from it, with theta* at its start")
        if not noise_settings(config, name):
            raise ConfigError(f"config key {where}.settings: no keep_prob < 1; allowed: at least "
                              f"one dropout setting for the noise stage")
    sweep = noise["keep_sweep"]
    n_seeds = len(config["experiments"][noise["experiment"]]["seeds"])
    if sweep["keep_probs"] and sweep["seeds"] > n_seeds:
        raise ConfigError(f"config key noise.keep_sweep.seeds: got {sweep['seeds']}; allowed: at "
                          f"most the {n_seeds} seeds of experiment {noise['experiment']!r}")


def _check_sme(config: dict) -> None:
    sme = config["sme"]
    names = sorted(config["datasets"])
    if sme["dataset"] not in config["datasets"]:
        raise ConfigError(f"config key sme.dataset: got {sme['dataset']!r}; allowed: one of the "
                          f"datasets defined: {', '.join(names)}")
    source = config["datasets"][sme["dataset"]]["source"]
    regression = source == "synthetic_teacher"
    if regression and sme["target"] is not None:
        raise ConfigError(f"config key sme.target: got {sme['target']!r}; allowed: null for the "
                          f"regression dataset {sme['dataset']!r}")
    if not regression and sme["target"] is None:
        raise ConfigError(f"config key sme.target: got null; allowed: 'parity' (+1 even, -1 odd "
                          f"label) for the classification dataset {sme['dataset']!r} "
                          f"(source {source}): the theory's net has a scalar output")
    sweep = sme.get("activations") or {}
    parts = ("order", "heatmap", "activations") if sweep.get("names") else ("order", "heatmap")
    for part in parts:
        for lr in sme[part]["lrs"]:
            for key in ("horizon", "record_every"):
                if not _is_multiple(sme[key], lr):
                    raise ConfigError(f"config key sme.{key}: got {sme[key]:g}, not a whole "
                                      f"multiple of lr {lr:g} (sme.{part}.lrs); allowed: "
                                      f"multiples of every lr")
    if not _is_multiple(sme["horizon"], sme["record_every"]):
        raise ConfigError(f"config key sme.horizon: got {sme['horizon']:g}; allowed: a multiple "
                          f"of sme.record_every ({sme['record_every']:g})")
    own = sme["model"]["activation"]
    if own in (sme.get("activations") or {}).get("names", []):
        raise ConfigError(f"config key sme.activations.names: got {own!r}, the model's own "
                          f"activation (its weak order is the order study's); allowed: the others")
    if sme["chunk"] % sme["batch"]:
        raise ConfigError(f"config key sme.batch: got {sme['batch']}; allowed: a divisor of "
                          f"sme.chunk ({sme['chunk']})")
    order = {setting_name(p, lr) for p in sme["order"]["keep_probs"] for lr in sme["order"]["lrs"]}
    for i, s in enumerate(sme["figure1"]):
        if setting_name(s["keep_prob"], s["lr"]) not in order:
            raise ConfigError(f"config key sme.figure1[{i}]: got keep_prob={s['keep_prob']:g}, "
                              f"lr={s['lr']:g}; allowed: a cell of the order study "
                              f"(sme.order.keep_probs x sme.order.lrs)")
