"""The jobs a config defines and what each one needs (the rules' params): the settings an
experiment trains, the E1 cells, the noise stage's settings and experiments; no config lookups
happen in scripts."""

from __future__ import annotations

from .errors import ConfigError


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
    keys = ("model", "loss", "optimizer", "mask", "seeds", "steps", "batch_size", "chunk",
            "eval_every", "checkpoints", "trajectory", "dtype", "seed_batching", "resume_every")
    return {"experiment": experiment, "setting": setting, "dataset": exp["dataset"],
            "keep_prob": chosen[0]["keep_prob"], "lr": chosen[0]["lr"],
            "device": config["device"], **{k: exp[k] for k in keys}}


def sme_cells(config: dict) -> dict:
    """The E1 cells by name, with the methods and paths each needs: the order study's cells run
    every method, the heatmap's and the activation sweep's only dropout and the order-1 SME
    (dropout and gradient flow always run); a part's ``paths`` (default ``sme.paths``) sets its
    cells' paths."""
    grid = config["sme"]["order"]
    cells = {setting_name(p, lr): {"keep_prob": p, "lr": lr, "activation": None,
                                   "methods": ["gf2", "sme1", "sme2", "svag"],
                                   "paths": _paths(config, grid)}
             for p in grid["keep_probs"] for lr in grid["lrs"]}
    return {**cells, **heatmap_cells(config), **activation_cells(config)}


def heatmap_cells(config: dict) -> dict:
    """figS3's cells, named ``map_p<keep_prob>_lr<lr>``: on the noise-scaled grid, lr = x p for
    each x of ``scaled_lrs`` (x = lr/p = lr (1 + s), s = (1 - p)/p) over the horizon
    T = ``scaled_horizon`` p, recorded as often as the order study: every cell takes the same
    number of steps, whatever p (config/README.md says why)."""
    sme, grid = config["sme"], config["sme"]["heatmap"]
    records = round(sme["horizon"] / sme["record_every"])
    cells = {}
    for p in grid["keep_probs"]:
        horizon = _round(grid["scaled_horizon"] * p)
        for x in grid["scaled_lrs"]:
            lr = _round(x * p)
            cells[f"map_{setting_name(p, lr)}"] = {
                "keep_prob": p, "lr": lr, "methods": ["sme1"], "activation": None,
                "paths": _paths(config, grid), "horizon": horizon,
                "record_every": _round(horizon / records)}
    return cells


def _round(value: float) -> float:
    """12 significant digits: lr = 0.1 x 0.01 is 0.001, not 0.0010000000000000002."""
    return float(f"{value:.12g}")


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
            "substeps", "extrapolate", "control_variate", "svag_l", "dtype", "seed", "target")
    spec = {"dataset": config["sme"]["dataset"], "device": config["device"],
            **{k: config["sme"].get(k) for k in keys}, **cells[cell]}   # a cell's horizon wins
    activation = spec.pop("activation")
    if activation is not None:
        spec["model"] = {**spec["model"], "activation": activation}
    return spec


def linear_spec(config: dict) -> dict:
    """The exact case's Monte Carlo jobs (``sme.linear``): the model of ``sme.exact`` (its data,
    keep_prob and horizon) with the cells' Monte Carlo settings."""
    sme, exact = config["sme"], config["sme"]["exact"]
    keys = ("chunk", "batch", "substeps", "extrapolate", "control_variate", "svag_l", "dtype",
            "seed")
    return {"exact": {k: v for k, v in exact.items() if k != "monte_carlo"},
            "horizon": exact["horizon"], "record_every": exact["monte_carlo"]["record_every"],
            "paths": _paths(config, sme["order"]), **{k: sme[k] for k in keys}}


def sme_cost(config: dict, cell: str) -> int:
    """Relative cost of a cell (``sme_spec_cost``), to start the longest jobs first."""
    return sme_spec_cost(sme_spec(config, cell))


def sme_spec_cost(spec: dict) -> int:
    """Relative cost of a cell from its params (network evaluations per 1,000 paths). The
    control variate's tangent costs about one more evaluation per step of a noisy method (the
    noise at xbar; its H is formed once per step, at one point)."""
    steps = spec["horizon"] / spec["lr"]
    em = spec["substeps"] * (3 if spec["extrapolate"] else 1)
    weights = {"sme1": em, "sme2": 2.2 * em, "svag": sum(2 * l for l in spec["svag_l"]),
               "gf2": 0}
    noisy = 1 + sum(weights[m] for m in spec["methods"])
    if spec.get("control_variate"):
        noisy *= 1.8
    return round(spec["paths"] / 1000 * steps * noisy)


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
    # (drift and exploration are reporting choices: the figures read them, the jobs compute all)
    noise = {k: v for k, v in config["noise"].items()
             if k not in ("experiment", "keep_sweep", "mask_sensitivity", "sharpness", "drift",
                          "exploration")}
    noise.update(config.get("universality", {}).get("experiments", {}).get(experiment) or {})
    run = run_spec(config, experiment, setting)
    keys = ("experiment", "setting", "dataset", "keep_prob", "lr", "model", "loss", "mask",
            "device", "dtype", "chunk", "optimizer")   # chunk: training's, the data in parts
    return {**{k: run[k] for k in keys}, **noise,
            "theta_star": run["trajectory"]["start"], "trajectory": run["trajectory"],
            "experiment_index": universality_experiments(config).index(experiment)}


def keep_sweep_spec(config: dict) -> dict:
    """The keep-probability sweep of the noise structure (figS8) at theta* of the noise
    experiment's first dropout setting."""
    sweep = config["noise"]["keep_sweep"]
    spec = noise_spec(config, config["noise"]["experiment"], noise_settings(config)[0])
    seeds = config["experiments"][spec["experiment"]]["seeds"][:sweep["seeds"]]
    return {**spec, "block": sweep["block"], "masks": sweep["masks"],
            "keep_probs": sweep["keep_probs"], "seeds": seeds}


def sharpness_spec(config: dict, setting: str) -> dict:
    """Table 8, figS9: the noise experiment's dropout ``setting`` and its no-dropout baseline
    at the same lr (``baseline``: the baseline's setting name), every seed."""
    spec = noise_spec(config, config["noise"]["experiment"], setting)
    sharp = dict(config["noise"]["sharpness"])
    if sharp.get("match_cap") is None:         # declared: as many steps as the run trained
        sharp["match_cap"] = run_spec(config, spec["experiment"], setting)["steps"]
    return {**spec, "sharpness": sharp, "baseline": setting_name(1.0, spec["lr"])}


MASKS = ("per_sample", "per_step")


def mask_sensitivity_spec(config: dict, setting: str) -> dict:
    """Table 7: the noise experiment's ``setting`` at theta* with the other mask convention, the
    stage's K, on the first ``noise.mask_sensitivity.seeds`` seeds."""
    spec = noise_spec(config, config["noise"]["experiment"], setting)
    seeds = config["experiments"][spec["experiment"]]["seeds"]
    n = config["noise"]["mask_sensitivity"]["seeds"]
    return {**spec, "mask": other_mask(spec["mask"]), "seeds": seeds[:n]}


def other_mask(mask: str) -> str:
    return MASKS[1 - MASKS.index(mask)]


def datasets_used(config: dict) -> list[str]:
    return sorted({e["dataset"] for e in config["experiments"].values()}
                  | {config["sme"]["dataset"]})


def compute_jobs(config: dict) -> list[tuple[str, str, dict]]:
    """(rule, job, params) of every compute job of the config's DAG, the params as the rules
    build them: what the cost plan (``plan``) prices, job by job."""
    out = [("train_run", f"{e}/{s['name']}", run_spec(config, e, s["name"]))
           for e, exp in config["experiments"].items() for s in settings(exp)]
    out += [("sme_cell", cell, sme_spec(config, cell)) for cell in sme_cells(config)]
    out += [("noise_setting", f"{e}/{s}", noise_spec(config, e, s)) for e, s in noise_jobs(config)]
    experiment = config["noise"]["experiment"]
    for setting in noise_settings(config):
        out.append(("noise_compare", f"{experiment}/{setting}",
                    noise_spec(config, experiment, setting)))
        if config["noise"]["mask_sensitivity"]["seeds"]:
            mask = mask_sensitivity_spec(config, setting)
            out.append(("noise_mask", f"{experiment}/{setting}/{mask['mask']}", mask))
        if config["experiments"][experiment].get("baseline", True):
            out.append(("noise_sharpness", f"{experiment}/{setting}",
                        sharpness_spec(config, setting)))
    sweep = keep_sweep_spec(config)
    out += [("noise_keep", f"{experiment}/p{p:g}", {**sweep, "keep_prob": p})
            for p in sweep["keep_probs"]]
    return out
