import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dropout_sme import models
from dropout_sme.models import losses

FNN = {"arch": "fnn", "hidden": [7, 5], "activation": "relu"}
TWO = {"arch": "two_layer", "width": 6, "activation": "tanh"}


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("mode", ["per_step", "per_sample"])
def test_mask_mean_one_and_variance_s(p, mode):
    g = torch.Generator().manual_seed(1)
    draws = torch.cat([models.sample_masks({"arch": "two_layer", "width": 100}, p, mode, 50, g,
                                           torch.float64)[0].reshape(-1) for _ in range(40)])
    n = draws.numel()
    values = set(np.unique(draws.numpy()).round(12))
    assert values <= {0.0, round(1 / p, 12)}
    s = (1 - p) / p
    mean_se = math.sqrt(s / n)
    assert abs(draws.mean().item() - 1) < 5 * mean_se
    # exact variance of the unbiased sample variance: (mu4 - (n-3)/(n-1) s^2) / n, where the
    # fourth central moment of the two-point variable is mu4 = (1-p)^4/p^3 + (1-p)
    mu4 = (1 - p) ** 4 / p ** 3 + (1 - p)
    var_se = math.sqrt((mu4 - (n - 3) / (n - 1) * s * s) / n)
    assert abs(draws.var().item() - s) < 5 * var_se


def test_per_step_mask_is_shared_by_the_batch_and_per_sample_is_not():
    g = torch.Generator().manual_seed(0)
    (m_step,) = models.sample_masks(TWO, 0.5, "per_step", 8, g)
    (m_sample,) = models.sample_masks(TWO, 0.5, "per_sample", 8, g)
    assert m_step.shape == (6,) and m_sample.shape == (8, 6)
    assert not all(torch.equal(m_sample[0], m_sample[i]) for i in range(1, 8))
    x = torch.randn(8, 3, generator=g)
    params = models.init_params(TWO, 3, 1, g)
    out = models.forward(TWO, params, x, (m_step,))
    by_hand = torch.stack([(m_step * params["a"] * torch.tanh(params["w"] @ xi)).sum() for xi in x])
    torch.testing.assert_close(out, by_hand)


@pytest.mark.parametrize("model", [FNN, TWO])
def test_keep_prob_one_is_the_plain_network(model):
    g = torch.Generator().manual_seed(0)
    n_out = 3 if model["arch"] == "fnn" else 1
    params = models.init_params(model, 4, n_out, g, torch.float64)
    x = torch.randn(10, 4, generator=g, dtype=torch.float64)
    for mode in models.MASK_MODES:
        masks = models.sample_masks(model, 1.0, mode, 10, g, torch.float64)
        assert all(bool((m == 1).all()) for m in masks)
        assert torch.equal(models.forward(model, params, x, masks), models.forward(model, params, x))


def test_fnn_matches_torch_nn_with_the_same_masks():
    g = torch.Generator().manual_seed(2)
    params = models.init_params(FNN, 4, 3, g, torch.float64)
    x = torch.randn(9, 4, generator=g, dtype=torch.float64)
    masks = models.sample_masks(FNN, 0.7, "per_sample", 9, g, torch.float64)
    net = torch.nn.Sequential(torch.nn.Linear(4, 7), torch.nn.ReLU(), torch.nn.Linear(7, 5),
                              torch.nn.ReLU(), torch.nn.Linear(5, 3)).double()
    with torch.no_grad():
        for i, layer in enumerate([net[0], net[2], net[4]], start=1):
            layer.weight.copy_(params[f"w{i}"])
            layer.bias.copy_(params[f"b{i}"])
    h = net[1](net[0](x)) * masks[0]
    h = net[3](net[2](h)) * masks[1]
    torch.testing.assert_close(models.forward(FNN, params, x, masks), net[4](h))


def test_fnn_init_matches_nn_linear_bounds():
    g = torch.Generator().manual_seed(0)
    params = models.init_params({"arch": "fnn", "hidden": [200], "activation": "relu"}, 400, 10, g)
    bound = 1 / math.sqrt(400)
    assert params["w1"].abs().max() <= bound and params["w1"].abs().max() > 0.95 * bound
    assert abs(params["w1"].std().item() - bound / math.sqrt(3)) < 0.02 * bound


def test_mse_is_half_mean_square():
    out, y = torch.tensor([1.0, 2.0, 4.0]), torch.tensor([0.0, 2.0, 1.0])
    assert models.loss_value("mse", out, y).item() == pytest.approx((1 + 0 + 9) / 6)


@pytest.mark.parametrize("classes", [3, 10, 15, 16, 40])
@pytest.mark.parametrize("kind", ["cross_entropy", "cross_entropy_smoothed"])
def test_cross_entropy_matches_torch_on_either_side_of_the_short_route(classes, kind):
    # fewer than SHORT_CLASSES classes take the transposed log_softmax; both sides must give
    # torch's cross-entropy (label smoothing included), its sum, and its gradient
    g = torch.Generator().manual_seed(classes)
    out = (3 * torch.randn(37, classes, generator=g, dtype=torch.float64)).requires_grad_()
    y = torch.randint(0, classes, (37,), generator=g)
    eps = losses.LABEL_SMOOTHING if kind == "cross_entropy_smoothed" else 0.0
    for ours, reduction in [(models.loss_value, "mean"), (losses.loss_sum, "sum")]:
        value = ours(kind, out, y)
        want = F.cross_entropy(out, y, reduction=reduction, label_smoothing=eps)
        assert value.item() == pytest.approx(want.item(), rel=1e-13)
        got, = torch.autograd.grad(value, out)
        ref, = torch.autograd.grad(want, out)
        torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(losses.log_softmax(out), out.log_softmax(-1), rtol=0, atol=1e-14)


def test_short_log_softmax_over_tokens_and_under_vmap():
    g = torch.Generator().manual_seed(0)
    out = torch.randn(4, 5, 6, 7, generator=g)                  # (seeds, samples, positions, tokens)
    want = out.log_softmax(-1)
    torch.testing.assert_close(losses.log_softmax(out), want)
    torch.testing.assert_close(torch.func.vmap(losses.log_softmax)(out), want)
    y = torch.randint(0, 7, (4, 5), generator=g)
    per_seed = torch.func.vmap(lambda o, t: models.loss_value("cross_entropy", o, t))(out[:, :, 0], y)
    torch.testing.assert_close(per_seed, torch.stack([F.cross_entropy(o, t)
                                                      for o, t in zip(out[:, :, 0], y)]))

def test_dropout_gradient_matches_finite_differences():
    g = torch.Generator().manual_seed(5)
    params = models.init_params(FNN, 4, 3, g, torch.float64)
    x = torch.randn(6, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (6,), generator=g)
    masks = models.sample_masks(FNN, 0.6, "per_sample", 6, g, torch.float64)

    def loss(p):
        return models.loss_value("cross_entropy", models.forward(FNN, p, x, masks), y)

    grads = torch.func.grad(loss)(params)
    h = 1e-6
    for name in ("w1", "b2", "w3"):
        for idx in [(0,) * params[name].dim(), tuple(s - 1 for s in params[name].shape)]:
            plus = {k: v.clone() for k, v in params.items()}
            minus = {k: v.clone() for k, v in params.items()}
            plus[name][idx] += h
            minus[name][idx] -= h
            fd = (loss(plus) - loss(minus)).item() / (2 * h)
            assert grads[name][idx].item() == pytest.approx(fd, rel=1e-6, abs=1e-9)


CNN = {"arch": "cnn", "channels": [4, 6], "hidden": [10], "activation": "relu", "image": [1, 8, 8]}


def test_cnn_matches_torch_nn_with_the_same_masks():
    g = torch.Generator().manual_seed(0)
    params = models.init_params(CNN, 64, 3, g, torch.float64)
    x = torch.randn(9, 64, generator=g, dtype=torch.float64)
    (mask,) = models.sample_masks(CNN, 0.7, "per_sample", 9, g, torch.float64)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(24, 10), torch.nn.ReLU()).double()
    head = torch.nn.Linear(10, 3).double()
    with torch.no_grad():
        for layer, name in ((net[0], "conv1"), (net[3], "conv2")):
            layer.weight.copy_(params[f"{name}_w"])
            layer.bias.copy_(params[f"{name}_b"])
        net[7].weight.copy_(params["w1"])
        net[7].bias.copy_(params["b1"])
        head.weight.copy_(params["w2"])
        head.bias.copy_(params["b2"])
    expected = head(net(x.reshape(9, 1, 8, 8)) * mask)
    torch.testing.assert_close(models.forward(CNN, params, x, (mask,)), expected)
    bound = 1 / math.sqrt(1 * 9)                       # nn.Conv2d's default bound, fan_in 1 x 3 x 3
    assert params["conv1_w"].abs().max() <= bound and params["conv1_w"].abs().max() > 0.8 * bound
    with pytest.raises(ValueError, match="image"):
        models.init_params(CNN, 60, 3, g)


@pytest.mark.parametrize("model", [
    {"arch": "two_layer", "width": 3, "activation": "tanh"},
    {"arch": "fnn", "hidden": [4, 3], "activation": "relu"},
    {"arch": "cnn", "channels": [2, [3, 2]], "hidden": [5], "activation": "relu",
     "image": [1, 8, 8]},
    {"arch": "resnet", "depth": 8, "hidden": [4], "activation": "relu", "image": [3, 8, 8]},
    {"arch": "transformer", "d_model": 4, "d_ff": 6, "heads": 2, "layers": 2,
     "activation": "relu"},
])
def test_parameter_names_without_torch_are_those_the_models_build(model):
    from dropout_sme.architectures import param_names

    n_in = {"cnn": 64, "resnet": 192}.get(model["arch"], 5)
    built = models.init_params(model, n_in, 1 if model["arch"] == "two_layer" else 3,
                               torch.Generator().manual_seed(0))
    assert param_names(model) == list(built)


def test_the_fnn_kernel_pieces_are_written_once(root):
    """The layer loop, the output padding and the activation derivatives each live in one place."""
    sources = {p: p.read_text() for p in (root / "src/dropout_sme").rglob("*.py")}

    def where(text):
        return [p.name for p, s in sources.items() if text in s]

    assert where("torch.addmm(b, h, w.T)") == ["fnn.py"]          # fnn.linear
    assert where("value=-torch.inf") == ["fnn.py"]
    assert where("1 - h * h") == ["activations.py"]


def test_an_fnn_without_biases_has_weights_only():
    from dropout_sme.architectures import param_names

    model = {"arch": "fnn", "hidden": [4, 3], "activation": "relu", "bias": False}
    params = models.init_params(model, 5, 2, torch.Generator().manual_seed(0))
    assert list(params) == param_names(model) == ["w1", "w2", "w3"]
    out = models.forward(model, params, torch.zeros(2, 5))
    assert torch.equal(out, torch.zeros(2, 2))               # no bias: zero in, zero out
