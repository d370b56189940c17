"""The precursor's transformer (issue 17, item 2): the encoder-decoder against torch.nn.Transformer
and against a loop over heads of width d_k, its dropout sites, causality and hidden PAD tokens;
the label-smoothed loss against torch's; Adam with warm-up against torch.optim.Adam; and the
whole recipe learns the sequence task."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from fixtures import make_multi30k
from snakemake.utils import validate

from dropout_sme import config as cfg, data, models, optim, train
from dropout_sme.data import PAD
from dropout_sme.models import transformer

MODEL = {"arch": "encoder_decoder", "d_model": 8, "heads": 2, "d_k": 4, "d_ff": 6, "layers": 2,
         "activation": "relu", "src_length": 5}
S, T, V = 5, 4, 9


def instance(model=MODEL, seed=0):
    """float64 params and six rows (source, decoder input) whose first two sources are padded."""
    g = torch.Generator().manual_seed(seed)
    params = models.init_params(model, S + T, V, g, torch.float64)
    src = torch.randint(4, V, (6, S), generator=g)
    src[0, 3:] = PAD
    src[1, 1:] = PAD
    tgt = torch.randint(4, V, (6, T), generator=g)
    labels = torch.randint(4, V, (6, T), generator=g)
    y = torch.cat([torch.full((6, S), models.IGNORE), labels], 1)
    return params, torch.cat([src, tgt], 1).double(), y


def sinusoid_reference(positions, d):
    pe = np.zeros((positions, d))
    for t in range(positions):
        for i in range(0, d, 2):
            pe[t, i] = math.sin(t / 10000 ** (i / d))
            if i + 1 < d:
                pe[t, i + 1] = math.cos(t / 10000 ** (i / d))
    return torch.tensor(pe)


def copy_into(net, params):
    """Our parameters into torch.nn.Transformer(norm_first=True)."""
    def attention(mha, name):
        mha.in_proj_weight.copy_(torch.cat([params[f"{name}_{p}_w"] for p in "qkv"]))
        mha.in_proj_bias.copy_(torch.cat([params[f"{name}_{p}_b"] for p in "qkv"]))
        mha.out_proj.weight.copy_(params[f"{name}_o_w"])
        mha.out_proj.bias.copy_(params[f"{name}_o_b"])

    def norm(ln, name):
        ln.weight.copy_(params[f"{name}_g"])
        ln.bias.copy_(params[f"{name}_s"])

    def feed_forward(layer, name):
        for ours, theirs in (("ff1", layer.linear1), ("ff2", layer.linear2)):
            theirs.weight.copy_(params[f"{name}_{ours}_w"])
            theirs.bias.copy_(params[f"{name}_{ours}_b"])

    with torch.no_grad():
        for i, layer in enumerate(net.encoder.layers, start=1):
            attention(layer.self_attn, f"enc{i}_self")
            norm(layer.norm1, f"enc{i}_ln1")
            norm(layer.norm2, f"enc{i}_ln2")
            feed_forward(layer, f"enc{i}")
        for i, layer in enumerate(net.decoder.layers, start=1):
            attention(layer.self_attn, f"dec{i}_self")
            attention(layer.multihead_attn, f"dec{i}_cross")
            for k in (1, 2, 3):
                norm(getattr(layer, f"norm{k}"), f"dec{i}_ln{k}")
            feed_forward(layer, f"dec{i}")
        norm(net.encoder.norm, "enc_lnf")
        norm(net.decoder.norm, "dec_lnf")


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
def test_encoder_decoder_matches_torch_nn_transformer_with_padded_sources():
    params, x, _ = instance()
    d = MODEL["d_model"]
    net = torch.nn.Transformer(d, 2, 2, 2, 6, dropout=0.0, batch_first=True,
                               norm_first=True).double()
    copy_into(net, params)
    src, tgt = x[:, :S].long(), x[:, S:].long()
    pe = sinusoid_reference(max(S, T), d)
    pad = src == PAD
    out = net(params["src_embed"][src] * math.sqrt(d) + pe[:S],
              params["tgt_embed"][tgt] * math.sqrt(d) + pe[:T],
              tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64),
              src_key_padding_mask=pad, memory_key_padding_mask=pad)
    expected = out @ params["out_w"].T + params["out_b"]
    torch.testing.assert_close(models.forward(MODEL, params, x), expected)


def test_heads_of_width_d_k_against_a_loop_over_heads():
    """d_k x heads = 15 != d_model = 6 (the precursor's 20 x 4 = 80 != 50), one key hidden."""
    model = {**MODEL, "d_model": 6, "heads": 3, "d_k": 5}
    params = models.init_params(model, S + T, V, torch.Generator().manual_seed(0), torch.float64)
    g = torch.Generator().manual_seed(1)
    queries = torch.randn(2, 4, 6, generator=g, dtype=torch.float64)
    keys = torch.randn(2, 3, 6, generator=g, dtype=torch.float64)
    allowed = torch.tensor([[True, False, True], [True, True, True]])[:, None, None, :]
    got = transformer.attention(params, "dec1_cross", queries, keys, 3, allowed)
    p = {k[len("dec1_cross_"):]: v for k, v in params.items() if k.startswith("dec1_cross_")}
    expected = torch.zeros(2, 4, 6, dtype=torch.float64)
    for n in range(2):
        heads = []
        for h in range(3):
            rows = slice(5 * h, 5 * h + 5)
            q = queries[n] @ p["q_w"][rows].T + p["q_b"][rows]
            k = keys[n] @ p["k_w"][rows].T + p["k_b"][rows]
            v = keys[n] @ p["v_w"][rows].T + p["v_b"][rows]
            scores = q @ k.T / math.sqrt(5)
            scores[:, ~allowed[n, 0, 0]] = -math.inf
            heads.append(torch.softmax(scores, -1) @ v)
        expected[n] = torch.cat(heads, -1) @ p["o_w"].T + p["o_b"]
    torch.testing.assert_close(got, expected)


def test_dropout_sites_causality_and_hidden_padding():
    params, x, _ = instance()
    d, L = MODEL["d_model"], MODEL["layers"]
    assert models.mask_shapes(MODEL, S + T) == [(S, d)] * (1 + 2 * L) + [(T, d)] * (1 + 3 * L)
    g = torch.Generator().manual_seed(2)
    out = models.forward(MODEL, params, x)
    assert out.shape == (6, T, V)
    step = models.sample_masks(MODEL, 0.7, "per_step", 6, g, torch.float64, n_in=S + T)
    repeated = tuple(m.expand(6, *m.shape) for m in step)
    torch.testing.assert_close(models.forward(MODEL, params, x, step),
                               models.forward(MODEL, params, x, repeated))
    ones = tuple(torch.ones_like(m) for m in step)
    torch.testing.assert_close(models.forward(MODEL, params, x, ones), out)
    later = x.clone()
    later[:, S + 2] = (later[:, S + 2] - 3) % (V - 4) + 4            # decoder input position 2
    changed = models.forward(MODEL, params, later)
    torch.testing.assert_close(changed[:, :2], out[:, :2])
    assert not torch.allclose(changed[:, 2:], out[:, 2:])
    # row 0's source ends in two PADs: no mask value there reaches any output of row 0
    masks = models.sample_masks(MODEL, 0.7, "per_sample", 6, g, torch.float64, n_in=S + T)
    moved = [m.clone() for m in masks]
    for m in moved[:1 + 2 * L]:                                       # the source's sites
        m[0, 3:] = torch.rand(m[0, 3:].shape, generator=g, dtype=torch.float64) * 3
    base = models.forward(MODEL, params, x, masks)
    torch.testing.assert_close(models.forward(MODEL, params, x, tuple(moved))[0], base[0])


def test_label_smoothed_cross_entropy_against_torch():
    g = torch.Generator().manual_seed(3)
    out = torch.randn(3, 4, 7, generator=g, dtype=torch.float64)
    y = torch.tensor([[-1, -1, 2, 3, 0, -1], [-1, -1, 0, 4, 6, 1], [-1, -1, 1, 1, -1, -1]])
    target = y[:, 2:]                               # the labels of the 4 output positions
    expected = F.cross_entropy(out.reshape(-1, 7), target.reshape(-1), ignore_index=-1,
                               label_smoothing=0.1)
    kind = "cross_entropy_smoothed"
    torch.testing.assert_close(models.loss_value(kind, out, y), expected)
    torch.testing.assert_close(models.loss_sum(kind, out, y) / models.loss_count(kind, y), expected)
    plain = F.cross_entropy(out.reshape(-1, 7), target.reshape(-1), ignore_index=-1)
    torch.testing.assert_close(models.loss_value("cross_entropy", out, y), plain)
    keep = target >= 0
    hits = (out.argmax(-1)[keep] == target[keep]).double().mean()
    torch.testing.assert_close(models.accuracy(out, y), hits)
    flat, labels = out[:, 0], torch.tensor([2, 0, 6])
    torch.testing.assert_close(models.loss_value(kind, flat, labels),
                               F.cross_entropy(flat, labels, label_smoothing=0.1))


def test_adam_with_warmup_matches_torch_optim_adam():
    """Stacked float64 parameters, 12 updates across the peak at step 4: torch.optim.Adam under a
    LambdaLR of Vaswani et al.'s schedule."""
    g = torch.Generator().manual_seed(4)
    ours = {"a": torch.randn(2, 3, generator=g, dtype=torch.float64),
            "b": torch.randn(2, generator=g, dtype=torch.float64)}
    theirs = {k: v.clone().requires_grad_() for k, v in ours.items()}
    adam = optim.make({"name": "adam", "betas": [0.9, 0.98], "eps": 1e-9, "warmup": 4}, 0.05)
    reference = torch.optim.Adam(list(theirs.values()), lr=0.05, betas=(0.9, 0.98), eps=1e-9)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        reference, lambda e: min((e + 1) / 4, math.sqrt(4 / (e + 1))))
    for t in range(1, 13):
        grads = {k: torch.randn(v.shape, generator=g, dtype=torch.float64) + v
                 for k, v in ours.items()}
        ours = adam.update(ours, grads, t)
        for k, p in theirs.items():
            p.grad = grads[k].clone()
        reference.step()
        schedule.step()
        for k in ours:
            torch.testing.assert_close(ours[k], theirs[k].detach(), rtol=1e-12, atol=1e-14)
    # the schedule is Vaswani et al.'s d^-0.5 min(t^-0.5, t warmup^-1.5) with its peak as lr
    d, warmup = 50, 4000
    peak = d ** -0.5 * warmup ** -0.5
    for t in (1, 100, 4000, 9000):
        assert optim.warmup_rate(peak, warmup, t) == pytest.approx(
            d ** -0.5 * min(t ** -0.5, t * warmup ** -1.5), rel=1e-12)
    one = torch.ones(2, dtype=torch.float64)
    assert optim.GD(0.1).update({"a": one}, {"a": one}, 7)["a"].tolist() == [0.9, 0.9]


def test_the_precursors_recipe_learns_the_sequence_task():
    """Encoder-decoder, dropout 0.9 on sublayer outputs and embeddings, label smoothing, Adam
    with warm-up, full batch: well above chance (1/8) on held-out sequences."""
    arrays = data.prepare({"source": "synthetic_sequence", "task": "reverse", "length": 6,
                           "symbols": 8, "n_train": 256, "n_test": 256, "seed": 0})[0]
    model = {"arch": "encoder_decoder", "d_model": 16, "heads": 2, "d_k": 8, "d_ff": 32,
             "layers": 1, "activation": "relu", "src_length": 6}
    run = dict(experiment="t", setting="s", dataset="sequence", model=model,
               loss="cross_entropy_smoothed", optimizer={"name": "adam", "warmup": 40},
               keep_prob=0.9, lr=0.02, mask="per_sample", steps=250, batch_size=None,
               eval_every=250, checkpoints=[], trajectory=None, seeds=[0], dtype="float32",
               seed_batching="loop", device="cpu", resume_every=1000)
    metrics = train.train(run, arrays, progress=False)["metrics"]
    assert metrics.test_acc.iloc[-1] > 0.6
    with pytest.raises(ValueError, match="positions after src_length = 7"):
        train.Trainer({**run, "model": {**model, "src_length": 7}}, arrays)


def test_the_paper_configs_precursor_transformer_trains_on_multi30k_files(tmp_path, root):
    """config/paper.yaml's transformer_precursor as the DAG would run it (its model, loss and
    optimizer), for 3 steps on fixture files of Multi30k's real layout."""
    make_multi30k(tmp_path)
    config = yaml.safe_load((root / "config/paper.yaml").read_text())
    config["data_dir"] = str(tmp_path)
    validate(config, str(root / "workflow/schemas/config.schema.yaml"))
    run = cfg.run_spec(config, "transformer_precursor", "p0.9_lr0.002236")
    assert run["optimizer"]["name"] == "adam" and run["loss"] == "cross_entropy_smoothed"
    spec = {**config["datasets"][run["dataset"]], "n_train": 3, "n_test": 2}
    arrays, _ = data.prepare(spec, tmp_path)
    out = train.train({**run, "steps": 3, "checkpoints": [], "trajectory": None, "eval_every": 3,
                       "seeds": [0]}, arrays, progress=False)
    assert np.isfinite(out["metrics"].drop(columns=["step", "seed"]).to_numpy()).all()
    assert out["checkpoints"]["params"]["dec3_cross_o_w"].shape == (1, 1, 50, 80)
