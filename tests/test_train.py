import pandas as pd
import pytest
import torch

from dropout_sme import data, optim, train

DIGITS = data.prepare({"source": "digits", "test_fraction": 0.25, "seed": 0})[0]
TEACHER = data.prepare({"source": "synthetic_teacher", "n_train": 64, "n_test": 64, "d": 5,
                        "width": 8, "noise": 0.1, "seed": 0})[0]
SEQUENCE = data.prepare({"source": "synthetic_sequence", "task": "reverse", "length": 5,
                         "symbols": 7, "n_train": 100, "n_test": 20, "seed": 0})[0]


def fnn_run(**over):
    run = dict(experiment="t", setting="s", dataset="digits",
               model={"arch": "fnn", "hidden": [12, 12], "activation": "relu"},
               loss="cross_entropy", keep_prob=0.8, lr=0.1, mask="per_sample", steps=50,
               batch_size=None, eval_every=10, checkpoints=[0, 25], trajectory=None,
               seeds=[0, 1, 2], dtype="float32", seed_batching="loop", device="cpu",
               resume_every=20)
    run.update(over)
    return run


def assert_same(a, b):
    pd.testing.assert_frame_equal(a["metrics"], b["metrics"], check_exact=True)
    for k in a["checkpoints"]["params"]:
        assert torch.equal(a["checkpoints"]["params"][k], b["checkpoints"]["params"][k])
    assert (a["trajectory"]["params"] == b["trajectory"]["params"]).all()


def test_training_decreases_the_loss_and_records_what_was_asked():
    out = train.train(fnn_run(trajectory={"block": "w2", "start": 30, "length": 10, "stride": 3}),
                      DIGITS, progress=False)
    m = out["metrics"]
    assert sorted(m.step.unique()) == [0, 10, 20, 30, 40, 50]
    first, last = m[m.step == 0].train_loss.mean(), m[m.step == 50].train_loss.mean()
    assert last < 0.9 * first
    assert out["checkpoints"]["steps"].tolist() == [0, 25, 30, 50]   # 30: the trajectory start
    assert out["checkpoints"]["params"]["w2"].shape == (4, 3, 12, 12)
    assert out["trajectory"]["steps"].tolist() == [30, 33, 36, 39]
    assert out["trajectory"]["params"].shape == (4, 3, 12, 12)
    assert m.test_acc.between(0, 1).all()


@pytest.mark.parametrize("optimizer", [None, {"name": "adam", "warmup": 10}])
def test_resume_after_a_kill_is_bitwise_identical(tmp_path, monkeypatch, optimizer):
    """GD, and Adam whose moments travel in the resume state."""
    run = fnn_run(trajectory={"block": "w2", "start": 5, "length": 40, "stride": 1},
                  optimizer=optimizer, lr=0.1 if optimizer is None else 0.003)
    reference = train.train(run, DIGITS, progress=False)
    state = tmp_path / "resume.pt"
    original = train.Trainer.step

    def killed(self, params, t, gens):
        if t == 47:
            raise KeyboardInterrupt  # as a SIGINT mid-run
        return original(self, params, t, gens)

    monkeypatch.setattr(train.Trainer, "step", killed)
    with pytest.raises(KeyboardInterrupt):
        train.train(run, DIGITS, resume_path=state, progress=False)
    assert state.exists()
    monkeypatch.setattr(train.Trainer, "step", original)
    resumed = train.train(run, DIGITS, resume_path=state, progress=False)
    assert resumed["info"]["resumed_from"] == 40
    assert_same(reference, resumed)


def test_resume_state_of_another_config_is_ignored(tmp_path):
    state = tmp_path / "resume.pt"
    train._save_resume(state, "not-this-run", 40, {}, [], [], {}, [], optim.GD(0.1))
    out = train.train(fnn_run(), DIGITS, resume_path=state, progress=False)
    assert out["info"]["resumed_from"] == 0


def test_a_seed_does_not_depend_on_the_seeds_beside_it():
    together = train.train(fnn_run(seeds=[0, 1, 2]), DIGITS, progress=False)
    alone = train.train(fnn_run(seeds=[1]), DIGITS, progress=False)
    m = together["metrics"]
    pd.testing.assert_frame_equal(m[m.seed == 1].reset_index(drop=True), alone["metrics"])


@pytest.mark.parametrize("mask", ["per_step", "per_sample"])
def test_vmap_and_loop_agree(mask):
    a = train.train(fnn_run(seed_batching="vmap", mask=mask), DIGITS, progress=False)
    b = train.train(fnn_run(seed_batching="loop", mask=mask), DIGITS, progress=False)
    pd.testing.assert_frame_equal(a["metrics"], b["metrics"], rtol=1e-4, atol=1e-6)


def test_vmap_and_loop_agree_through_batch_norm():
    """torch's fused BatchNorm under vmap over the seeds (a GPU's default), float64."""
    resnet = {"arch": "resnet", "depth": 8, "hidden": [8], "activation": "relu",
              "image": [1, 8, 8]}
    small = {k: v[:100] if k.startswith(("x_", "y_")) else v for k, v in DIGITS.items()}
    a, b = (train.train(fnn_run(model=resnet, seed_batching=mode, dtype="float64", steps=5,
                                checkpoints=[5], seeds=[0, 1]), small, progress=False)
            for mode in ("vmap", "loop"))
    for k, v in a["checkpoints"]["params"].items():
        torch.testing.assert_close(v, b["checkpoints"]["params"][k], rtol=1e-12, atol=1e-12)


def test_minibatch_and_the_two_layer_net_on_teacher_data():
    run = fnn_run(model={"arch": "two_layer", "width": 8, "activation": "tanh"}, loss="mse",
                  mask="per_step", batch_size=16, lr=0.2, steps=40, checkpoints=[])
    for mode in ("loop", "vmap"):
        out = train.train({**run, "seed_batching": mode}, TEACHER, progress=False)
        m = out["metrics"]
        assert m.test_acc.isna().all()
        assert m[m.step == 40].train_loss.mean() < m[m.step == 0].train_loss.mean()


def test_divergence_names_setting_seed_and_step():
    with pytest.raises(train.DivergenceError,
                       match=r"^t/s \(keep_prob=0.8, lr=10000.0\): seed \d diverged at step \d+"):
        train.train(fnn_run(lr=1e4, steps=200), DIGITS, progress=False)


def test_a_small_cnn_learns_the_digits_with_dropout():
    run = fnn_run(model={"arch": "cnn", "channels": [4, 8], "hidden": [16], "activation": "relu",
                         "image": [1, 8, 8]}, steps=100, checkpoints=[], seeds=[0],
                  lr=0.5, keep_prob=0.8)
    m = train.train(run, DIGITS, progress=False)["metrics"]
    first, last = m[m.step == 0].iloc[0], m[m.step == 100].iloc[0]
    assert last.train_loss < 0.4 * first.train_loss          # 2.32 -> 0.49 when written
    assert last.test_acc > 0.6                               # chance is 0.1


def test_trajectory_of_every_parameter():
    out = train.train(fnn_run(steps=12, checkpoints=[], seeds=[0, 1],
                              trajectory={"block": "all", "start": 5, "length": 4, "stride": 2}),
                      DIGITS, progress=False)
    total = sum(v[0, 0].numel() for v in out["checkpoints"]["params"].values())
    assert out["trajectory"]["params"].shape == (2, 2, total)          # steps 5, 7; 2 seeds
    last = {k: v[-1] for k, v in out["checkpoints"]["params"].items()}  # step 12
    assert total == 64 * 12 + 12 + 12 * 12 + 12 + 12 * 10 + 10
    assert out["checkpoints"]["steps"].tolist() == [5, 12]
    assert last["w1"].shape == (2, 12, 64)


@pytest.mark.parametrize("mask", ["per_step", "per_sample"])
@pytest.mark.parametrize("arch", ["fnn", "cnn", "transformer", "encoder_decoder",
                                  "resnet_group"])
def test_chunked_full_batch_gradients_equal_one_batch(arch, mask):
    """float64: a step's gradient and loss from micro-batches (uneven last one included) equal
    the one-batch ones to 1e-12, per-sample masks cut with their samples, a per-step mask
    shared; both ways of batching the seeds."""
    models_of = {"fnn": ({"arch": "fnn", "hidden": [12, 12], "activation": "relu"}, DIGITS),
                 "cnn": ({"arch": "cnn", "channels": [3], "hidden": [8], "activation": "relu",
                          "image": [1, 8, 8]}, DIGITS),
                 "transformer": ({"arch": "transformer", "d_model": 8, "heads": 2, "d_ff": 8,
                                  "layers": 1, "activation": "relu"}, SEQUENCE),
                 "encoder_decoder": ({"arch": "encoder_decoder", "d_model": 6, "heads": 2,
                                      "d_k": 4, "d_ff": 8, "layers": 1, "activation": "relu",
                                      "src_length": 5}, SEQUENCE),
                 "resnet_group": ({"arch": "resnet", "depth": 8, "hidden": [8], "norm": "group",
                                   "groups": 4, "conv_dropout": True, "activation": "relu",
                                   "image": [1, 8, 8]}, DIGITS)}
    model, arrays = models_of[arch]
    if arch in ("cnn", "resnet_group"):
        arrays = {k: v[:200] if k.startswith(("x_", "y_")) else v for k, v in arrays.items()}
    for batching in ("loop", "vmap"):
        run = fnn_run(model=model, mask=mask, dtype="float64", seed_batching=batching,
                      seeds=[0, 1], loss="cross_entropy_smoothed"
                      if arch == "encoder_decoder" else "cross_entropy")
        one, chunked = train.Trainer(run, arrays), train.Trainer({**run, "chunk": 37}, arrays)
        params = {k: v.to(one.dtype) for k, v in train.init_seeds(run, one.n_in, one.n_out).items()}
        g1, v1 = one.step(params, 0, [torch.Generator().manual_seed(s) for s in (0, 1)])
        g2, v2 = chunked.step(params, 0, [torch.Generator().manual_seed(s) for s in (0, 1)])
        torch.testing.assert_close(v2, v1, rtol=1e-12, atol=1e-12)
        for k in g1:
            torch.testing.assert_close(g2[k], g1[k], rtol=1e-12, atol=1e-12)


def test_chunk_refuses_a_resnet_and_mini_batches():
    resnet = {"arch": "resnet", "depth": 8, "hidden": [8], "activation": "relu",
              "image": [1, 8, 8]}
    with pytest.raises(ValueError, match="batch norm takes its statistics over the whole batch"):
        train.Trainer(fnn_run(model=resnet, chunk=64), DIGITS)
    train.Trainer(fnn_run(model={**resnet, "norm": "group"}, chunk=64), DIGITS)   # per example
    with pytest.raises(ValueError, match="chunk splits the full batch"):
        train.Trainer(fnn_run(chunk=64, batch_size=128), DIGITS)
