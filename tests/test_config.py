"""Bad configs stop with one message naming the key and the allowed values."""

import copy

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from dropout_sme import config as cfg


@pytest.fixture
def schema(root):
    return str(root / "workflow/schemas/config.schema.yaml")


@pytest.fixture
def default(root):
    return yaml.safe_load((root / "config/config.yaml").read_text())


def message(config, schema):
    """What the workflow reports for this config (as common.smk does)."""
    try:
        validate(config, schema)
    except WorkflowError as err:
        return cfg.explain(cfg.schema_error(err))
    try:
        cfg.check(config)
    except cfg.ConfigError as err:
        return str(err)
    return None


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml"])
def test_shipped_configs_are_valid(root, schema, name, tmp_path):
    config = yaml.safe_load((root / "config" / name).read_text())
    if config.get("data_dir", "unset") is None and name == "paper.yaml":
        config["data_dir"] = str(tmp_path)
    assert message(config, schema) is None


def test_defaults_are_filled(schema):
    config = {"datasets": {"d": {"source": "digits"}, "t": {"source": "synthetic_teacher"}},
              "experiments": {"e": {"dataset": "d", "model": {"arch": "fnn"},
                                    "settings": [{"keep_prob": 0.5, "lr": 0.1}]}},
              "sme": {"dataset": "t", "order": {"keep_probs": [0.5], "lrs": [0.1]},
                      "heatmap": {"keep_probs": [0.5], "scaled_lrs": [0.2]},
                      "figure1": [{"keep_prob": 0.5, "lr": 0.1}]},
              "noise": {"experiment": "e"}}
    validate(config, schema)
    assert config["sme"]["paths"] == 10000 and config["sme"]["substeps"] == 4
    assert config["datasets"]["t"]["n_train"] == 256
    exp = config["experiments"]["e"]
    assert exp["mask"] == "per_sample" and exp["seeds"] == [0, 1, 2, 3, 4]
    assert exp["model"]["hidden"] == [50, 50] and config["datasets"]["d"]["test_fraction"] == 0.25
    assert config["device"] == "auto" and config["figures"]["figS1"]["experiment"] == "fnn"
    assert config["noise"]["masks"] == 25000 and config["noise"]["flatness_factor"] == 2


@pytest.mark.parametrize("value", [1.5, 0, -0.2])
def test_keep_prob_outside_0_1(default, schema, value):
    default["experiments"]["fnn"]["settings"][1]["keep_prob"] = value
    msg = message(default, schema)
    assert msg.startswith("config key experiments.fnn.settings[1].keep_prob: got")
    assert "in (0, 1]" in msg and "KEEPING" in msg


def test_negative_lr(default, schema):
    default["experiments"]["fnn"]["settings"][0]["lr"] = -0.1
    msg = message(default, schema)
    assert "experiments.fnn.settings[0].lr: got -0.1" in msg and "(0, inf)" in msg


def test_unknown_dataset_source(default, schema):
    default["datasets"]["digits"]["source"] = "imagenet"
    msg = message(default, schema)
    assert "datasets.digits.source: got 'imagenet'" in msg
    assert "'synthetic_teacher', 'digits', 'synthetic_sequence', 'mnist', 'cifar10'" in msg


def test_unknown_dataset_name(default, schema):
    default["experiments"]["fnn"]["dataset"] = "mnist"
    msg = message(default, schema)
    assert "experiments.fnn.dataset: got 'mnist'" in msg and "digits, sequence, teacher" in msg


def test_unknown_mask_and_key(default, schema):
    bad = copy.deepcopy(default)
    bad["experiments"]["fnn"]["mask"] = "per_batch"
    assert "one of 'per_step', 'per_sample'" in message(bad, schema)
    default["experiments"]["fnn"]["learning_rate"] = 0.1
    msg = message(default, schema)
    assert "experiments.fnn" in msg and "learning_rate" in msg and "allowed keys" in msg


def test_missing_data_dir(root, schema):
    paper = yaml.safe_load((root / "config/paper.yaml").read_text())
    msg = message(paper, schema)
    assert msg.startswith("config key data_dir is missing")
    assert "mnist" in msg and "--config data_dir=" in msg


def test_data_dir_that_is_not_a_folder(root, schema, tmp_path):
    paper = yaml.safe_load((root / "config/paper.yaml").read_text())
    paper["data_dir"] = str(tmp_path / "nowhere")
    assert "config key data_dir: got" in message(paper, schema)


def test_checkpoint_after_the_last_step(default, schema):
    default["experiments"]["fnn"]["checkpoints"] = [0, 5000]
    assert "experiments.fnn.checkpoints: got steps [5000]" in message(default, schema)


def test_loss_must_fit_the_dataset(default, schema):
    default["experiments"]["fnn"]["loss"] = "mse"
    assert "experiments.fnn.loss: got 'mse'; allowed: 'cross_entropy'" in message(default, schema)


def test_settings_add_the_no_dropout_baseline():
    exp = {"settings": [{"keep_prob": 0.9, "lr": 0.05}, {"keep_prob": 0.8, "lr": 0.1},
                        {"keep_prob": 1.0, "lr": 0.1}], "baseline": True}
    names = [s["name"] for s in cfg.settings(exp)]
    assert names == ["p0.9_lr0.05", "p0.8_lr0.1", "p1_lr0.1", "p1_lr0.05"]
    assert [s["name"] for s in cfg.settings({**exp, "baseline": False})] == names[:3]


def test_sme_grid_must_divide_the_horizon(default, schema):
    default["sme"]["order"]["lrs"] = [0.4, 0.3]
    msg = message(default, schema)
    assert msg.startswith("config key sme.horizon: got 1.6, not a whole multiple of lr 0.3")


def test_e1_paths_come_in_whole_batches(default, schema):
    default["sme"]["heatmap"]["paths"] = 450
    assert message(default, schema).startswith("config key sme.heatmap.paths: got 450")


def test_the_exact_case_monte_carlo_grid_must_divide_its_records(default, schema):
    default["sme"]["exact"] = {"monte_carlo": {"lrs": [0.2, 0.15]}}
    assert message(default, schema).startswith("config key sme.exact.monte_carlo.lrs: got 0.15")
    default["sme"]["exact"] = {"monte_carlo": {"record_every": 0.3}}
    assert message(default, schema).startswith("config key sme.exact.monte_carlo.record_every")
    default["sme"]["exact"] = {}
    assert message(default, schema) is None


def test_sme_on_classification_data_needs_a_scalar_target(default, schema):
    default["sme"]["dataset"] = "digits"
    assert message(default, schema).startswith("config key sme.target: got null; allowed: 'parity'")
    default["sme"]["target"] = "parity"
    assert message(default, schema) is None
    default["sme"]["dataset"] = "teacher"
    assert "sme.target: got 'parity'; allowed: null" in message(default, schema)


def test_figure1_panels_must_be_order_cells(default, schema):
    default["sme"]["figure1"] = [{"keep_prob": 0.9, "lr": 0.4}]
    assert message(default, schema).startswith("config key sme.figure1[0]: got keep_prob=0.9")


def test_sme_cells_of_the_order_study_the_heatmap_and_the_sweep(default):
    cells = cfg.sme_cells(default)
    assert len(cells) == 8 + 12 + 12      # order study, heatmap, 3 activations x 4 lrs
    assert cells["relu_p0.8_lr0.4"] == {"keep_prob": 0.8, "lr": 0.4, "methods": ["sme1"],
                                        "activation": "relu", "paths": 1000}
    assert cfg.sme_spec(default, "relu_p0.8_lr0.4")["model"]["activation"] == "relu"
    assert cfg.sme_spec(default, "p0.8_lr0.2")["model"]["activation"] == "tanh"
    assert cells["p0.5_lr0.2"]["methods"] == ["gf2", "sme1", "sme2", "svag"]
    assert cfg.sme_cost(default, "p0.5_lr0.025") > cfg.sme_cost(default, "p0.5_lr0.2")


def test_the_heatmap_is_scaled_by_the_noise(default):
    """Row p runs lr = x p to T = scaled_horizon p, recorded as often as the order study: the
    same steps in every row (lr = 0.1 x 0.01 named 0.001, not 0.0010000000000000002)."""
    spec = lambda cell: cfg.sme_spec(default, cell)  # noqa: E731
    small, large = spec("map_p0.01_lr0.001"), spec("map_p0.9_lr0.09")
    assert small["horizon"] == pytest.approx(0.032) and small["record_every"] == \
        pytest.approx(0.008) and small["methods"] == ["sme1"]
    assert large["horizon"] == pytest.approx(2.88) and large["paths"] == 500
    assert small["horizon"] / small["lr"] == pytest.approx(large["horizon"] / large["lr"]) == 32
    assert spec("p0.5_lr0.1")["horizon"] == default["sme"]["horizon"]      # the order study's
    assert cfg.sme_cost(default, "map_p0.01_lr0.001") == cfg.sme_cost(default, "map_p0.9_lr0.09")


def test_the_heatmap_needs_whole_steps_between_records(default, schema):
    default["sme"]["heatmap"]["scaled_lrs"] = [0.3]
    assert message(default, schema).startswith("config key sme.heatmap.scaled_horizon: got 3.2")


def test_each_part_of_e1_sets_its_cells_paths(default):
    """The sweeps' own paths (default config: 500 and 1,000), sme.paths where a part sets none."""
    spec = lambda cell: cfg.sme_spec(default, cell)  # noqa: E731
    assert spec("map_p0.9_lr0.09")["paths"] == default["sme"]["heatmap"]["paths"] == 500
    assert spec("gelu_p0.8_lr0.4")["paths"] == 1000
    assert spec("p0.8_lr0.05")["paths"] == default["sme"]["paths"] == 4000
    assert cfg.sme_cost(default, "map_p0.9_lr0.09") * 20 == pytest.approx(
        cfg.sme_cost({**default, "sme": {**default["sme"], "heatmap": {
            **default["sme"]["heatmap"], "paths": 10000}}}, "map_p0.9_lr0.09"), rel=0.01)
    del default["sme"]["heatmap"]["paths"], default["sme"]["activations"]["paths"]
    assert spec("map_p0.9_lr0.09")["paths"] == spec("gelu_p0.8_lr0.4")["paths"] == 4000
    default["sme"]["order"]["paths"] = 20000
    assert spec("p0.5_lr0.2")["paths"] == 20000 and spec("map_p0.9_lr0.09")["paths"] == 4000


def test_noise_needs_a_trajectory_of_its_block(default, schema):
    default["experiments"]["fnn"]["trajectory"] = None
    assert message(default, schema).startswith("config key experiments.fnn.trajectory: got None; "
                                               "allowed: a window of block 'w2'")


def test_noise_experiment_must_exist(default, schema):
    default["noise"]["experiment"] = "vgg"
    assert message(default, schema) == ("config key noise.experiment: got 'vgg'; allowed: one of "
                                        "cnn, fnn, transformer")


def test_universality_experiments_and_their_blocks(default, schema):
    assert message(default, schema) is None                         # fills the defaults
    assert cfg.universality_experiments(default) == ["fnn", "cnn", "transformer"]
    assert cfg.noise_jobs(default)[-1] == ("transformer", "p0.8_lr0.5")
    spec = cfg.noise_spec(default, "transformer", "p0.8_lr0.5")
    assert spec["block"] == "l1_ff2_w" and spec["masks"] == 2560 and spec["theta_star"] == 400
    assert spec["directions"] == default["noise"]["directions"]          # not overridden: shared
    default["universality"]["experiments"]["cnn"]["block"] = "w1"
    assert message(default, schema).startswith("config key experiments.cnn.trajectory: got")
    default["universality"]["experiments"]["cnn"]["block"] = "w2"
    default["universality"]["experiments"]["resnet"] = {}
    assert "universality.experiments.resnet: no such experiment" in message(default, schema)


def test_transformer_needs_a_sequence_dataset_and_its_own_blocks(default, schema):
    default["experiments"]["transformer"]["trajectory"]["block"] = "w2"
    assert "got 'w2'; allowed: one of embed, pos, " in message(default, schema)
    assert " l1_ff2_w, " in message(default, schema)
    default["experiments"]["transformer"]["trajectory"]["block"] = "l1_ff2_w"
    default["experiments"]["transformer"]["dataset"] = "digits"
    assert ("model.arch: got 'transformer'; allowed: 'transformer' or 'encoder_decoder' "
            "exactly for the sequence") in message(default, schema)


def test_encoder_decoder_reads_the_datasets_source_length_and_gd_stays_the_noise_stages(
        default, schema):
    default["experiments"]["transformer"]["model"] = {"arch": "encoder_decoder", "src_length": 7}
    default["experiments"]["transformer"]["trajectory"]["block"] = "dec1_cross_o_w"
    default["universality"]["experiments"]["transformer"]["block"] = "dec1_cross_o_w"
    assert message(default, schema) == (
        "config key experiments.transformer.model.src_length: got 7; allowed: 8, the source "
        "positions of dataset 'sequence'")
    default["experiments"]["transformer"]["model"]["src_length"] = 8
    assert message(default, schema) is None
    spec = cfg.run_spec(default, "transformer", "p0.8_lr0.5")
    assert spec["optimizer"] == {"name": "gd"} and spec["model"]["d_model"] == 50
    default["experiments"]["transformer"]["optimizer"] = {"name": "adam", "warmup": 10}
    default["experiments"]["transformer"]["loss"] = "cross_entropy_smoothed"
    assert message(default, schema) is None
    assert cfg.run_spec(default, "transformer", "p0.8_lr0.5")["optimizer"] == {
        "name": "adam", "warmup": 10, "betas": [0.9, 0.98], "eps": 1e-9}
    default["experiments"]["fnn"]["optimizer"] = {"name": "adam"}
    assert message(default, schema).startswith(
        "config key experiments.fnn.optimizer: got 'adam'; allowed: 'gd' for the noise experiment")


def test_keep_sweep_spec_and_seed_check(default, schema):
    assert message(default, schema) is None
    spec = cfg.keep_sweep_spec(default)
    assert spec["block"] == "w3" and spec["masks"] == 5000 and spec["seeds"] == [0, 1, 2]
    assert spec["setting"] == "p0.9_lr0.05" and spec["theta_star"] == 1500
    default["noise"]["keep_sweep"]["seeds"] = 9
    assert message(default, schema) == ("config key noise.keep_sweep.seeds: got 9; allowed: at "
                                        "most the 4 seeds of experiment 'fnn'")


def test_noise_spec_takes_theta_star_from_the_trajectory(default, schema):
    assert message(default, schema) is None
    assert cfg.noise_settings(default) == ["p0.9_lr0.05", "p0.8_lr0.1"]   # no baselines
    spec = cfg.noise_spec(default, "fnn", "p0.8_lr0.1")
    assert spec["theta_star"] == 1500 and spec["keep_prob"] == 0.8 and spec["block"] == "w2"


def test_activation_sweep_must_not_repeat_the_models_own(default, schema):
    default["sme"]["activations"]["names"] = ["gelu", "tanh"]
    assert message(default, schema).startswith("config key sme.activations.names: got 'tanh'")


def test_chunk_batch_size_and_the_training_set(default, schema):
    """Each before any job, naming the key: a mini-batch larger than the training set, chunk
    with a mini-batch, chunk through a resnet's batch norm."""
    bad = copy.deepcopy(default)
    bad["experiments"]["fnn"]["batch_size"] = 5000              # digits: 1,348 training images
    assert message(bad, schema).startswith("config key experiments.fnn.batch_size: got 5000; "
                                           "allowed: at most the 1348 training examples")
    bad["experiments"]["fnn"].update(batch_size=50, chunk=25)
    assert message(bad, schema).startswith("config key experiments.fnn.chunk: got 25 with "
                                           "batch_size 50")
    resnet = copy.deepcopy(default)
    resnet["experiments"]["cnn"]["model"] = {"arch": "resnet", "depth": 8, "hidden": [8],
                                             "image": [1, 8, 8]}
    resnet["experiments"]["cnn"]["chunk"] = 100
    msg = message(resnet, schema)
    assert msg.startswith("config key experiments.cnn.chunk: got 100 for a resnet with batch norm")
    assert "experiments.cnn.model.norm: group" in msg
    resnet["experiments"]["cnn"]["model"]["norm"] = "group"
    assert "experiments.cnn.chunk" not in (message(resnet, schema) or "")
    # narrowed stages (as the toy config's): GroupNorm's groups must divide every one
    resnet["experiments"]["cnn"]["model"]["widths"] = [2, 4, 8]
    assert message(resnet, schema).startswith(
        "config key experiments.cnn.model.groups: got 8; allowed: a divisor of every stage's "
        "channels 2-4-8")
    resnet["experiments"]["cnn"]["model"]["groups"] = 2
    assert "model.groups" not in (message(resnet, schema) or "")


@pytest.mark.parametrize("band", [[1.5, 0.75], [0, 1.5], [-1, 2], [1, 1]])
def test_claim_bands_are_ordered_and_positive(default, schema, band):
    default["claims"] = {"order1_band": band}
    assert message(default, schema) == (f"config key claims.order1_band: got {band}; allowed: "
                                        f"[low, high] with 0 < low < high")
