"""Cross-key checks on a schema-valid config (defaults filled): what a JSON schema cannot say
(references between keys, data_dir, block names, multiples of the learning rates)."""

from __future__ import annotations

from pathlib import Path

from .. import architectures
from ..architectures import ALL, SEQUENCE, param_names
from ..data.common import NEEDS_DATA_DIR, WHERE_TO_GET
from .errors import ConfigError
from .specs import datasets_used, noise_settings, setting_name, settings, universality_experiments

SEQUENCE_SOURCES = ("synthetic_sequence", "multi30k")


def load(path) -> dict:
    """A config file, validated against the workflow's schema with its defaults filled (as the
    workflow does before ``check``), for the commands that read a config outside Snakemake."""
    import yaml
    from snakemake.utils import validate

    with open(path) as fh:
        config = yaml.safe_load(fh)
    validate(config, str(Path(__file__).resolve().parents[3] / "workflow/schemas/config.schema.yaml"))
    return config


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
        arch = architectures.of(exp["model"])
        if (source in SEQUENCE_SOURCES) != arch.sequence:
            raise ConfigError(f"config key {where}.model.arch: got {arch.name!r}; "
                              f"allowed: {' or '.join(map(repr, SEQUENCE))} exactly for the "
                              f"sequence datasets ({', '.join(SEQUENCE_SOURCES)}); dataset "
                              f"{exp['dataset']!r} has source {source}")
        refused = arch.config_error(exp["model"], exp["dataset"],
                                    config["datasets"][exp["dataset"]])
        if refused:
            key, reason = refused
            raise ConfigError(f"config key {where}.model{'.' + key if key else ''}: {reason}")
        if arch.scalar_output and not regression:
            allowed = [n for n, a in architectures.REGISTRY.items()
                       if not (a.sequence or a.scalar_output)]
            raise ConfigError(f"config key {where}.model.arch: got {arch.name!r} (scalar output); "
                              f"allowed: {' or '.join(map(repr, allowed))} for the "
                              f"classification dataset {exp['dataset']!r}")
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
            blocks = [*param_names(exp["model"]), ALL]
            if traj["block"] not in blocks:
                raise ConfigError(f"config key {where}.trajectory.block: got {traj['block']!r}; "
                                  f"allowed: one of {', '.join(blocks)}")
        _check_batches(config, name, exp)
        seen = [s["name"] for s in settings(exp)]
        if len(seen) != len(set(seen)):
            raise ConfigError(f"config key {where}.settings: repeated (keep_prob, lr) pairs")
    _check_sme(config)
    _check_noise(config)
    _check_claims(config)
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


def _check_batches(config: dict, name: str, exp: dict) -> None:
    """chunk against batch_size, the training set and batch norm; batch_size against the
    training set (its size from the dataset's spec: no file is read)."""
    from ..plan import data_of

    where = f"experiments.{name}"
    n = data_of(config["datasets"][exp["dataset"]]).n
    chunk, batch = exp.get("chunk"), exp.get("batch_size")
    if batch and batch > n:
        raise ConfigError(f"config key {where}.batch_size: got {batch}; allowed: at most the "
                          f"{n} training examples of dataset {exp['dataset']!r}")
    if chunk and batch:
        raise ConfigError(f"config key {where}.chunk: got {chunk} with batch_size {batch}; "
                          f"allowed: null (chunk splits the full batch of full-batch GD; a "
                          f"mini-batch is already small)")
    model = exp["model"]
    refusal = architectures.of(model).chunk_refusal(model) if chunk else None
    if refusal:
        what, why, fix = refusal
        raise ConfigError(f"config key {where}.chunk: got {chunk} for a {what}; allowed: null, "
                          f"or set {where}.{fix} ({why})")


def _check_claims(config: dict) -> None:
    claims = config.get("claims", {})
    for key in ("order1_band", "order2_band"):
        band = claims.get(key)
        if band is not None and not 0 < band[0] < band[1]:
            raise ConfigError(f"config key claims.{key}: got {band}; allowed: [low, high] with "
                              f"0 < low < high")


def _check_noise(config: dict) -> None:
    noise = config["noise"]
    if noise["experiment"] not in config["experiments"]:
        raise ConfigError(f"config key noise.experiment: got {noise['experiment']!r}; allowed: one "
                          f"of {', '.join(sorted(config['experiments']))}")
    for name in config.get("universality", {}).get("experiments", {}):
        if name not in config["experiments"]:
            raise ConfigError(f"config key universality.experiments.{name}: no such experiment; "
                              f"allowed: one of {', '.join(sorted(config['experiments']))}")
    if config["experiments"][noise["experiment"]]["optimizer"]["name"] != "gd":
        raise ConfigError(f"config key experiments.{noise['experiment']}.optimizer: got "
                          f"{config['experiments'][noise['experiment']]['optimizer']['name']!r}; "
                          f"allowed: 'gd' for the noise experiment (E2-E4 test the SME theory of "
                          f"GD, and its comparisons continue the runs by GD)")
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
    parts = ("order", "activations") if sweep.get("names") else ("order",)
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
    mc, exact = sme["exact"]["monte_carlo"], sme["exact"]
    for value, divisor, key in [(exact["horizon"], mc["record_every"], "record_every")] + [
            (mc["record_every"], lr, "lrs") for lr in mc["lrs"]]:
        if not _is_multiple(value, divisor):
            raise ConfigError(f"config key sme.exact.monte_carlo.{key}: got {divisor:g}, which "
                              f"does not divide {value:g}; allowed: record_every dividing "
                              f"sme.exact.horizon, lrs dividing record_every")
    records = round(sme["horizon"] / sme["record_every"])
    for x in sme["heatmap"]["scaled_lrs"]:   # the map's cells: T_p / records = k x p
        if not _is_multiple(sme["heatmap"]["scaled_horizon"] / records, x):
            raise ConfigError(f"config key sme.heatmap.scaled_horizon: got "
                              f"{sme['heatmap']['scaled_horizon']:g}, not {records} records "
                              f"(sme.horizon / sme.record_every) of whole multiples of the "
                              f"scaled lr {x:g}; allowed: {records} k x for whole k")
    own = sme["model"]["activation"]
    if own in (sme.get("activations") or {}).get("names", []):
        raise ConfigError(f"config key sme.activations.names: got {own!r}, the model's own "
                          f"activation (its weak order is the order study's); allowed: the others")
    if sme["chunk"] % sme["batch"]:
        raise ConfigError(f"config key sme.batch: got {sme['batch']}; allowed: a divisor of "
                          f"sme.chunk ({sme['chunk']})")
    for part in ("", ".order", ".heatmap", ".activations"):   # a batch's variance needs 2 paths
        paths = (sme.get(part[1:]) or {}).get("paths") if part else sme["paths"]
        if paths and paths % sme["batch"]:
            raise ConfigError(f"config key sme{part}.paths: got {paths}; allowed: a multiple of "
                              f"sme.batch ({sme['batch']}), so that every batch of paths has "
                              f"its fluctuations")
    order = {setting_name(p, lr) for p in sme["order"]["keep_probs"] for lr in sme["order"]["lrs"]}
    for i, s in enumerate(sme["figure1"]):
        if setting_name(s["keep_prob"], s["lr"]) not in order:
            raise ConfigError(f"config key sme.figure1[{i}]: got keep_prob={s['keep_prob']:g}, "
                              f"lr={s['lr']:g}; allowed: a cell of the order study "
                              f"(sme.order.keep_probs x sme.order.lrs)")
