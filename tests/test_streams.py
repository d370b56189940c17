"""Named random streams: no two jobs of the DAG, and no two purposes, draw the same numbers
unless the purpose declares it (common random numbers); code draws only what its stage declares."""

import numpy as np
import pytest
import torch
import yaml
from snakemake.utils import validate

from dropout_sme import config as cfg
from dropout_sme import data, noise, rng, train
from dropout_sme.sme import cell as sme_cell
from dropout_sme.sme import exact, linear, simulate, weak


def dag_draws(config):
    """(job, purpose, key) of every stream every job of the config's DAG draws, job by job as the
    rules build their params (common.smk)."""
    out = []

    def add(job, streams):
        out.extend((job, s["purpose"], rng.key(**s)) for s in streams)

    for name, spec in config["datasets"].items():
        add(f"prepare_data {name}", data.streams(spec))
    for exp in config["experiments"]:
        for s in cfg.settings(config["experiments"][exp]):
            add(f"train_run {exp}/{s['name']}", train.streams(cfg.run_spec(config, exp, s["name"])))
    for cell in cfg.sme_cells(config):
        add(f"sme_cell {cell}", simulate.streams(cfg.sme_spec(config, cell)))
    add("sme_exact", exact.streams(config["sme"]["exact"]))
    for lr in config["sme"]["exact"]["monte_carlo"]["lrs"]:
        add(f"sme_linear {lr:g}", linear.streams(cfg.linear_spec(config), lr))
    for exp, setting in cfg.noise_jobs(config):
        run = cfg.run_spec(config, exp, setting)
        steps = sorted(train.schedule(run)["checkpoint"])
        spec = cfg.noise_spec(config, exp, setting)
        add(f"noise_setting {exp}/{setting}", noise.streams(spec, run["seeds"], steps))
        if exp == config["noise"]["experiment"]:
            add(f"noise_compare {exp}/{setting}", noise.streams(spec, run["seeds"], steps,
                                                                "compare"))
    exp = config["noise"]["experiment"]
    for setting in cfg.noise_settings(config):
        if config["noise"]["mask_sensitivity"]["seeds"]:
            add(f"noise_mask {setting}", noise.streams(cfg.mask_sensitivity_spec(config, setting),
                                                       [], [], "mask_sensitivity"))
        if config["experiments"][exp].get("baseline", True):
            run = cfg.run_spec(config, exp, setting)
            last = max(train.schedule(run)["checkpoint"])
            add(f"noise_sharpness {setting}", noise.streams(cfg.sharpness_spec(config, setting),
                                                            run["seeds"], [last], "sharpness"))
    sweep = cfg.keep_sweep_spec(config)
    for p in config["noise"]["keep_sweep"]["keep_probs"]:
        add(f"noise_keep p{p:g}", noise.streams({**sweep, "keep_prob": p}, [], [], "keep_sweep"))
    for name in ("figS2_sme_weak_order", "table2_sme_order", "figS7_activations"):
        kinds = ["mean"] if name == "figS7_activations" else list(weak.KINDS)
        add(f"figure {name}", [weak.bootstrap_stream(config["sme"]["seed"], k) for k in kinds])
    return out


def filled(path):
    config = yaml.safe_load(path.read_text())
    validate(config, str(path.parents[1] / "workflow/schemas/config.schema.yaml"))
    return config


def test_the_default_dag_draws_no_stream_twice(root):
    draws = dag_draws(filled(root / "config/config.yaml"))
    assert len({job for job, _, _ in draws}) > 40
    assert rng.collisions(draws) == []


def test_the_paper_dag_draws_no_stream_twice(root, tmp_path):
    """Its FNN and ResNet-20 share a setting (keep_prob 0.8, lr 0.1): the experiment keys them."""
    config = yaml.safe_load((root / "config/paper.yaml").read_text())
    config["data_dir"] = str(tmp_path)
    validate(config, str(root / "workflow/schemas/config.schema.yaml"))
    draws = dag_draws(config)
    assert len({job for job, _, _ in draws}) > 60
    assert rng.collisions(draws) == []


def test_the_check_fails_on_the_keep_sweep_collision_that_was(root, monkeypatch):
    """The keep sweep once used the comparisons' SGD stream (purpose code 3)."""
    monkeypatch.setitem(rng.PURPOSES, "keep_sweep_masks", rng.Purpose("noise", 3))
    found = rng.collisions(dag_draws(filled(root / "config/config.yaml")))
    assert found and all("compare_sgd" in m and "keep_sweep_masks" in m for m in found)


def test_a_purpose_shared_across_jobs_must_say_why():
    k = rng.key("alignment_masks", 0, run_seed=1, keep_prob=0.8, lr=0.1, step=5)
    assert rng.collisions([("a", "alignment_masks", k), ("b", "alignment_masks", k)])
    init = rng.key("init", 3)
    assert rng.collisions([("a", "init", init), ("b", "init", init)]) == []


def test_named_streams_reproduce_the_constructions_they_replace():
    """Earlier runs' numbers stay bitwise: the families are the old constructions."""
    old = np.random.SeedSequence(7).spawn(6)[2]
    assert (rng.seed_sequence("masks", 7).generate_state(4) == old.generate_state(4)).all()
    old = np.random.SeedSequence([0, 1, round(0.8e9), round(0.1e9), 40, 1])
    new = rng.seed_sequence("theta_star_masks", 0, run_seed=1, keep_prob=0.8, lr=0.1, step=40)
    assert (new.generate_state(4) == old.generate_state(4)).all()
    other = rng.seed_sequence("theta_star_masks", 0, run_seed=1, keep_prob=0.8, lr=0.1, step=40,
                              experiment=2)
    assert (other.generate_state(4) != old.generate_state(4)).any()
    assert rng.stream("bootstrap", 5).random() == np.random.default_rng(5).random()
    with pytest.raises(ValueError, match="unknown random stream"):
        rng.stream("noise", 0)


def test_the_stages_draw_only_the_streams_they_declare():
    digits = data.prepare({"source": "digits", "test_fraction": 0.25, "seed": 0})[0]
    model = {"arch": "fnn", "hidden": [6, 5], "activation": "relu"}
    run = dict(experiment="t", setting="p0.8_lr0.1", dataset="digits", model=model,
               loss="cross_entropy", keep_prob=0.8, lr=0.1, mask="per_sample", steps=20,
               batch_size=None, eval_every=10, checkpoints=[0, 10], seeds=[0, 1],
               trajectory={"block": "w2", "start": 10, "length": 6, "stride": 1},
               dtype="float64", seed_batching="loop", device="cpu", resume_every=100)
    with rng.recording() as drawn:
        out = train.train(run, digits, progress=False)
    declared = {rng.key(**s) for s in train.streams(run)}
    assert drawn and {k for _, k in drawn} <= declared

    spec = {**{k: run[k] for k in ("experiment", "setting", "keep_prob", "lr", "model", "loss",
                                 "mask")},
            "block": "w2", "masks": 100, "alignment_masks": 40, "directions": 3,
            "flatness_factor": 2.0, "flatness_factors": [2.0], "flatness_cap": 100.0,
            "null_draws": 2, "batch": 32, "seed": 0, "theta_star": 10, "reference_masks": 2,
            "trajectory": run["trajectory"], "seeds": [0, 1]}
    x = torch.as_tensor(digits["x_train"], dtype=torch.float64)
    y = torch.as_tensor(digits["y_train"])
    steps = [int(s) for s in out["checkpoints"]["steps"]]
    quiet = dict(log=lambda *_: None)
    jobs = {
        "stage": lambda: noise.analyse(spec, x, y, out["checkpoints"], out["trajectory"], **quiet),
        "keep_sweep": lambda: noise.theta_star_noise({**spec, "keep_prob": 0.5}, x, y,
                                                     out["checkpoints"], **quiet),
        "mask_sensitivity": lambda: noise.theta_star_noise(
            {**spec, "mask": "per_step"}, x, y, out["checkpoints"], "mask_sensitivity", **quiet),
        "sharpness": lambda: noise.sharpness.analyse(
            {**spec, "sharpness": {"probes": 3, "directions": 1, "radius": 1.0, "points": 3,
                                   "match_cap": 5}},
            x, y, out["checkpoints"], out["checkpoints"], **quiet),
    }
    for kind, job in jobs.items():
        sweep = {**spec, "keep_prob": 0.5} if kind == "keep_sweep" else spec
        job_steps = steps[-1:] if kind == "sharpness" else steps
        with rng.recording() as drawn:
            job()
        declared = {rng.key(**s) for s in noise.streams(sweep, [0, 1], job_steps, kind)}
        assert drawn and {k for _, k in drawn} <= declared, kind


def test_an_sme_cell_draws_only_its_declared_streams():
    spec = {"keep_prob": 0.8, "lr": 0.2, "methods": ["sme1", "sme2", "svag"], "paths": 30,
            "chunk": 20, "batch": 10, "svag_l": [2], "model": {"width": 4, "activation": "tanh"},
            "init_seed": 0, "mask": "per_step", "horizon": 0.4, "record_every": 0.2,
            "substeps": 2, "extrapolate": True, "dtype": "float64", "seed": 0, "target": None,
            "device": "cpu"}
    g = np.random.default_rng(0)
    cell = {"x_train": g.standard_normal((8, 3)), "y_train": g.standard_normal(8),
            "x_test": g.standard_normal((4, 3)), "y_test": g.standard_normal(4)}
    with rng.recording() as drawn:
        sme_cell.run_cell(spec, cell, progress=False)
    declared = {rng.key(**s) for s in simulate.streams(spec)}
    assert drawn and {k for _, k in drawn} == declared


def test_the_exact_case_monte_carlo_job_draws_only_its_declared_streams():
    spec = {"exact": {"n": 6, "d": 2, "keep_prob": 0.7, "noise": 0.2, "seed": 0,
                      "horizon": 0.4}, "horizon": 0.4, "record_every": 0.2, "paths": 30,
            "chunk": 20, "batch": 10, "substeps": 2, "extrapolate": True,
            "control_variate": True, "svag_l": [2], "dtype": "float64", "seed": 0}
    with rng.recording() as drawn:
        linear.run_cell(linear.problem(spec), spec, 0.2)
    declared = {rng.key(**s) for s in linear.streams(spec, 0.2)}
    assert drawn and {k for _, k in drawn} == declared
