"""E5's architectures: the transformer, ResNet and VGG-style CNN against torch.nn, their
Hessian-vector products against finite differences, Lanczos against the full Hessian, the CNN
head's fast paths against autograd on the whole network, and the sequence task learns."""

import numpy as np
import pytest
import torch

from dropout_sme import data, models, noise, train
from dropout_sme.noise import hessian

TRANSFORMER = {"arch": "transformer", "d_model": 8, "heads": 2, "d_ff": 6, "layers": 2,
               "activation": "relu"}
RESNET = {"arch": "resnet", "depth": 8, "hidden": [5], "activation": "relu", "image": [3, 8, 8]}
SMOOTH_RESNET = {**RESNET, "activation": "softplus"}     # finite differences need no kinks
VGG = {"arch": "cnn", "channels": [[3, 4], 5], "hidden": [6, 6], "activation": "relu",
       "image": [1, 8, 8]}


def tokens(n, positions, vocab, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, vocab, (n, positions), generator=g).double()
    y = torch.randint(0, vocab, (n, positions), generator=g)
    y[:, : positions // 2] = models.IGNORE                  # the source part is not scored
    return x, y


def instance(model, seed=0):
    """(params, x, y) of a small float64 instance of each architecture."""
    g = torch.Generator().manual_seed(seed)
    if model["arch"] == "transformer":
        x, y = tokens(5, 6, 7, seed)
        return models.init_params(model, 6, 7, g, torch.float64), x, y
    n_in = int(np.prod(model["image"]))
    params = models.init_params(model, n_in, 3, g, torch.float64)
    x = torch.randn(12, n_in, generator=g, dtype=torch.float64)
    return params, x, torch.randint(0, 3, (12,), generator=g)


def test_transformer_matches_torch_nn_pre_layernorm_causal_layers():
    params, x, _ = instance(TRANSFORMER)
    d = TRANSFORMER["d_model"]
    layers = []
    for i in (1, 2):
        layer = torch.nn.TransformerEncoderLayer(d, 2, 6, dropout=0.0, batch_first=True,
                                                 norm_first=True).double()
        with torch.no_grad():
            attn = layer.self_attn
            attn.in_proj_weight.copy_(torch.cat([params[f"l{i}_{k}_w"] for k in "qkv"]))
            attn.in_proj_bias.zero_()
            attn.out_proj.weight.copy_(params[f"l{i}_o_w"])
            attn.out_proj.bias.copy_(params[f"l{i}_o_b"])
            for ours, theirs in (("ln1", layer.norm1), ("ln2", layer.norm2)):
                theirs.weight.copy_(params[f"l{i}_{ours}_g"])
                theirs.bias.copy_(params[f"l{i}_{ours}_s"])
            for ours, theirs in (("ff1", layer.linear1), ("ff2", layer.linear2)):
                theirs.weight.copy_(params[f"l{i}_{ours}_w"])
                theirs.bias.copy_(params[f"l{i}_{ours}_b"])
        layers.append(layer.eval())
    h = params["embed"][x.long()] + params["pos"]
    causal = torch.nn.Transformer.generate_square_subsequent_mask(6, dtype=torch.float64)
    for layer in layers:
        h = layer(h, src_mask=causal, is_causal=True)
    h = torch.nn.functional.layer_norm(h, (d,), params["lnf_g"], params["lnf_s"])
    expected = h @ params["out_w"].T + params["out_b"]
    torch.testing.assert_close(models.forward(TRANSFORMER, params, x), expected)


def test_transformer_is_causal_and_its_masks_act_per_position():
    params, x, _ = instance(TRANSFORMER)
    later = x.clone()
    later[:, 4:] = (later[:, 4:] + 1) % 7
    out, out_later = models.forward(TRANSFORMER, params, x), models.forward(TRANSFORMER, params, later)
    torch.testing.assert_close(out[:, :4], out_later[:, :4])
    assert not torch.allclose(out[:, 4:], out_later[:, 4:])
    g = torch.Generator().manual_seed(1)
    step = models.sample_masks(TRANSFORMER, 0.7, "per_step", 5, g, torch.float64, n_in=6)
    assert [m.shape for m in step] == [(6, 8), (6, 6), (6, 8)] * 2
    repeated = tuple(m.expand(5, *m.shape) for m in step)
    torch.testing.assert_close(models.forward(TRANSFORMER, params, x, step),
                               models.forward(TRANSFORMER, params, x, repeated))
    ones = tuple(torch.ones_like(m) for m in step)
    torch.testing.assert_close(models.forward(TRANSFORMER, params, x, ones), out)
    with pytest.raises(ValueError, match="n_in"):
        models.mask_shapes(TRANSFORMER)


def test_token_loss_and_accuracy_skip_unscored_positions():
    out = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([[-1, -1, 2, 3], [-1, -1, 0, 4], [-1, -1, 1, 1]])
    keep = y >= 0
    expected = torch.nn.functional.cross_entropy(out[keep], y[keep])
    torch.testing.assert_close(models.loss_value("cross_entropy", out, y), expected)
    acc = (out.argmax(-1)[keep] == y[keep]).double().mean()
    torch.testing.assert_close(models.accuracy(out, y).double(), acc)


def torch_conv_norm(params, name, c_in, c_out, stride, norm):
    """torch.nn's 3x3 convolution (no bias) then ``norm``, with a resnet unit's parameters."""
    conv = torch.nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False).double()
    norm = norm.double()
    with torch.no_grad():
        conv.weight.copy_(params[f"{name}_w"])
        norm.weight.copy_(params[f"{name}_g"])
        norm.bias.copy_(params[f"{name}_s"])
    return lambda z: norm(conv(z))


def test_resnet_matches_torch_nn_and_batchnorm_uses_the_batch():
    params, x, _ = instance(RESNET)
    h = torch.randn(6, 4, 3, 3, dtype=torch.float64)
    scale, shift = torch.rand(4, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    torch.testing.assert_close(models.batch_norm(h, scale, shift),
                               torch.nn.functional.batch_norm(h, None, None, scale, shift,
                                                              training=True))

    def conv_bn(name, c_in, c_out, stride=1):
        return torch_conv_norm(params, name, c_in, c_out, stride,
                               torch.nn.BatchNorm2d(c_out, track_running_stats=False))

    relu = torch.relu
    z = relu(conv_bn("stem", 3, 16)(x.reshape(12, 3, 8, 8)))
    c_in = 16
    for s, c_out in enumerate((16, 32, 64), start=1):
        stride = 2 if s > 1 else 1
        out = conv_bn(f"s{s}b1_2", c_out, c_out)(relu(conv_bn(f"s{s}b1_1", c_in, c_out, stride)(z)))
        short = z
        if stride == 2:
            short = torch.zeros_like(out)
            pad = (c_out - c_in) // 2
            short[:, pad:pad + c_in] = z[:, :, ::2, ::2]
        z, c_in = relu(out + short), c_out
    feats = z.mean((2, 3))
    expected = relu(feats @ params["w1"].T + params["b1"]) @ params["w2"].T + params["b2"]
    torch.testing.assert_close(models.forward(RESNET, params, x), expected)
    with pytest.raises(ValueError, match="6k \\+ 2"):
        models.init_params({**RESNET, "depth": 10}, 192, 3, torch.Generator())


@pytest.mark.parametrize("widths,groups", [(None, 4), ((2, 4, 8), 2)])
def test_resnet_group_norm_and_conv_dropout_match_torch_nn(widths, groups):
    """norm: group is torch's GroupNorm; conv_dropout masks the stem, each block's first
    convolution's activation and each block's output (per sample here), then the head's; with
    ``widths`` (the toy config's narrowed stages) the same network with fewer channels."""
    model = {**RESNET, "norm": "group", "groups": groups, "conv_dropout": True}
    if widths:
        model["widths"] = list(widths)
    c1, c2, c3 = widths or (16, 32, 64)
    params, x, _ = instance(model)
    shapes = models.mask_shapes(model)
    assert shapes == [(c1, 8, 8)] * 3 + [(c2, 4, 4)] * 2 + [(c3, 2, 2)] * 2 + [(5,)]
    masks = models.sample_masks(model, 0.7, "per_sample", 12, torch.Generator().manual_seed(0),
                                torch.float64)
    site = iter(masks)

    def conv_gn(name, c_in, c_out, stride=1):
        return torch_conv_norm(params, name, c_in, c_out, stride,
                               torch.nn.GroupNorm(groups, c_out))

    relu = torch.relu
    z = relu(conv_gn("stem", 3, c1)(x.reshape(12, 3, 8, 8))) * next(site)
    c_in = c1
    for s, c_out in enumerate((c1, c2, c3), start=1):
        stride = 2 if s > 1 else 1
        inner = relu(conv_gn(f"s{s}b1_1", c_in, c_out, stride)(z)) * next(site)
        out = conv_gn(f"s{s}b1_2", c_out, c_out)(inner)
        short = z
        if stride == 2:
            short = torch.zeros_like(out)
            pad = (c_out - c_in) // 2
            short[:, pad:pad + c_in] = z[:, :, ::2, ::2]
        z, c_in = relu(out + short) * next(site), c_out
    hidden = relu(z.mean((2, 3)) @ params["w1"].T + params["b1"]) * next(site)
    expected = hidden @ params["w2"].T + params["b2"]
    torch.testing.assert_close(models.forward(model, params, x, masks), expected)
    # the trunk has masks: the noise stage may not replace it by its features
    assert models.head(model, params, x, "w1")[0] is model
    with pytest.raises(ValueError, match="three positive channel counts"):
        models.init_params({**model, "widths": [4, 8]}, 192, 3, torch.Generator())


def test_vgg_style_stages_match_torch_nn():
    params, x, _ = instance(VGG)
    assert [k for k in params if k.startswith("conv")] == [f"conv{i}_{k}" for i in (1, 2, 3)
                                                          for k in "wb"]
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 5, 3, padding=1),
        torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten()).double()
    with torch.no_grad():
        for layer, i in ((net[0], 1), (net[2], 2), (net[5], 3)):
            layer.weight.copy_(params[f"conv{i}_w"])
            layer.bias.copy_(params[f"conv{i}_b"])
    h = net(x.reshape(12, 1, 8, 8))
    for i in (1, 2):
        h = torch.relu(h @ params[f"w{i}"].T + params[f"b{i}"])
    expected = h @ params["w3"].T + params["b3"]
    torch.testing.assert_close(models.forward(VGG, params, x), expected)


@pytest.mark.parametrize("model,block", [(TRANSFORMER, "l2_ff2_w"), (TRANSFORMER, "l1_q_w"),
                                         (SMOOTH_RESNET, "stem_w"), (SMOOTH_RESNET, "s2b1_1_g"),
                                         (SMOOTH_RESNET, "w2"), (VGG, "conv2_w"), (VGG, "w2")])
def test_hvp_matches_finite_differences_and_lanczos_matches_the_full_hessian(model, block):
    params, x, y = instance(model)
    f = noise.Problem.of(model, params, x, y, "cross_entropy", block).loss_fn()
    theta = models.block_vector(params, block)
    g = torch.func.grad(f)
    v = torch.randn(theta.shape, generator=torch.Generator().manual_seed(1), dtype=theta.dtype)
    v /= v.norm()
    h = 1e-5
    fd = (g(theta + h * v) - g(theta - h * v)) / (2 * h)
    for hvp in (hessian.hvp_fn(f, theta), hessian.hvp_sequential(f, theta)):
        torch.testing.assert_close(hvp(v), fd, rtol=1e-6, atol=1e-8)
    H = hessian.block_hessian(noise.Problem.of(model, params, x, y, "cross_entropy", block))
    torch.testing.assert_close(H @ v, fd, rtol=1e-6, atol=1e-8)
    k = min(4, theta.numel() - 1)
    vals, vecs = hessian.lanczos_top(f, theta, k=k, tol=1e-10)
    exact = np.linalg.eigvalsh(H.numpy())[::-1][:k]
    np.testing.assert_allclose(vals, exact, rtol=1e-6, atol=1e-10)
    Hn = H.numpy()
    np.testing.assert_allclose(Hn @ vecs, vecs * vals, atol=1e-6 * np.abs(exact).max())


@pytest.mark.parametrize("model,block", [(VGG, "w2"), (RESNET, "w2"), (VGG, "w3")])
def test_head_fast_paths_equal_autograd_through_the_whole_network(model, block):
    params, x, y = instance(model)
    task = noise.Problem.of(model, params, x, y, "cross_entropy", block)
    fast = noise.mask_gradients(task, 0.7, "per_sample", 40, np.random.default_rng(0), batch=16)
    whole = noise.vmapped_gradients(noise.Problem.of(model, params, x, y, "cross_entropy", block), 0.7)
    rng = np.random.default_rng(0)
    slow = torch.cat([whole([noise.bernoulli((min(16, 40 - s), 12, w), 0.7, rng).double()
                             for w in model["hidden"]]) for s in range(0, 40, 16)])
    torch.testing.assert_close(fast, slow)
    directions = torch.linalg.qr(torch.randn(fast.shape[1], 3, dtype=torch.float64,
                                             generator=torch.Generator().manual_seed(2)))[0]
    t = torch.tensor([[0.3, -0.2], [0.1, 0.5], [-0.4, 0.05]], dtype=torch.float64)
    f = noise.Problem.of(model, params, x, y, "cross_entropy", block).loss_fn()
    theta = models.block_vector(params, block)
    expected = torch.stack([torch.stack([f(theta + t[d, s] * directions[:, d]) for s in range(2)])
                            for d in range(3)])
    line = noise.line_loss(noise.Problem.of(model, params, x, y, "cross_entropy", block), directions)
    torch.testing.assert_close(line(t), expected)


def test_resnet_trains_with_seeds_vmapped():
    arrays = {"x_train": np.random.default_rng(0).standard_normal((16, 192)).astype(np.float32),
              "y_train": np.arange(16) % 3, "x_test": np.zeros((4, 192), np.float32),
              "y_test": np.arange(4) % 3, "n_classes": np.int64(3)}
    run = dict(experiment="r", setting="s", model=RESNET, loss="cross_entropy", keep_prob=0.8,
               lr=0.05, mask="per_sample", steps=20, batch_size=None, eval_every=20,
               checkpoints=[], trajectory=None, seeds=[0, 1], dtype="float32", device="cpu",
               resume_every=100, seed_batching="vmap")
    out = train.train(run, arrays, progress=False)["metrics"]
    first, last = out[out.step == 0], out[out.step == 20]
    assert (last.train_loss.to_numpy() < first.train_loss.to_numpy()).all()


def test_sequence_task_learns_within_the_default_budget():
    """The default config's transformer and data: well above chance (1/16) in 600 steps."""
    arrays, meta = data.prepare({"source": "synthetic_sequence", "task": "reverse", "length": 8,
                                 "symbols": 16, "n_train": 128, "n_test": 512, "seed": 0})
    model = {"arch": "transformer", "d_model": 16, "heads": 2, "d_ff": 16, "layers": 1,
             "activation": "relu"}
    run = dict(experiment="t", setting="s", model=model, loss="cross_entropy", keep_prob=0.8,
               lr=0.5, mask="per_sample", steps=600, batch_size=None, eval_every=300,
               checkpoints=[], trajectory=None, seeds=[0], dtype="float32", device="cpu",
               resume_every=10_000)
    out = train.train(run, arrays, progress=False)["metrics"]
    final = out[out.step == 600].iloc[0]
    assert meta["chance_accuracy"] == 1 / 16
    assert final.test_acc > 0.8 and final.train_acc > 0.8


def test_he_init_keeps_a_deep_conv_stack_alive():
    """VGG16's 13 convolutions: nn.Conv2d's default init shrinks the signal ~200x, He keeps it."""
    vgg = {"arch": "cnn", "channels": [[64, 64], [128, 128], [256] * 3, [512] * 3, [512] * 3],
           "hidden": [8], "activation": "relu", "image": [3, 32, 32]}
    x = torch.randn(4, 3072, generator=torch.Generator().manual_seed(0))
    std = {}
    for init in ("torch", "he"):
        model = {**vgg, "init": init}
        params = models.init_params(model, 3072, 10, torch.Generator().manual_seed(0))
        std[init] = float(models.trunk(model, params, x).std())
    assert std["torch"] < 0.02 and 0.2 < std["he"] < 5
