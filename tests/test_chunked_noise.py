"""The noise stage over the data in parts (``Problem.chunk``): every quantity equals the one-batch
result in float64 (issue 17, item 1)."""

import numpy as np
import pytest
import torch

from dropout_sme import data, models, noise, rng
from dropout_sme.noise import compare, hessian
from dropout_sme.noise.flatness import line_loss

DIGITS = data.prepare({"source": "digits", "test_fraction": 0.25, "seed": 0})[0]
SEQUENCE = data.prepare({"source": "synthetic_sequence", "task": "reverse", "length": 5,
                         "symbols": 7, "n_train": 60, "n_test": 20, "seed": 0})[0]
CASES = {   # (model, data, loss, block): FNN kernel paths (w2: closed-form Hessian), vmapped
    "fnn_w2": ({"arch": "fnn", "hidden": [10, 10], "activation": "tanh"}, DIGITS, "w2"),
    "fnn_w1": ({"arch": "fnn", "hidden": [6, 6], "activation": "tanh"}, DIGITS, "w1"),
    "cnn_conv": ({"arch": "cnn", "channels": [2], "hidden": [6], "activation": "tanh",
                  "image": [1, 8, 8]}, DIGITS, "conv1_w"),
    "resnet_group": ({"arch": "resnet", "depth": 8, "hidden": [6], "norm": "group", "groups": 4,
                      "conv_dropout": True, "activation": "tanh", "image": [1, 8, 8]}, DIGITS,
                     "s1b1_1_w"),
    "transformer": ({"arch": "transformer", "d_model": 8, "heads": 2, "d_ff": 8, "layers": 1,
                     "activation": "gelu"}, SEQUENCE, "l1_ff2_w"),
    "encoder_decoder": ({"arch": "encoder_decoder", "d_model": 6, "heads": 2, "d_k": 3,
                         "d_ff": 8, "layers": 1, "activation": "gelu", "src_length": 5}, SEQUENCE,
                        "dec1_cross_o_w"),       # its label-smoothed loss, the precursor's
}


def problems(case, n=150, chunk=37):
    model, arrays, block = CASES[case]
    x = torch.as_tensor(arrays["x_train"][:n], dtype=torch.float64)
    y = torch.as_tensor(arrays["y_train"][:n])
    y = y.long() if y.dtype != torch.float64 else y
    params = models.init_params(model, x.shape[-1], int(arrays["n_classes"])
                                if "n_classes" in arrays else int(y.max()) + 1,
                                rng.torch_stream("init", 0), torch.float64)
    loss = "cross_entropy_smoothed" if model["arch"] == "encoder_decoder" else "cross_entropy"
    one = noise.Problem.of(model, params, x, y, loss, block)
    return one, noise.Problem.of(model, params, x, y, loss, block, chunk)


def close(a, b):
    torch.testing.assert_close(torch.as_tensor(a), torch.as_tensor(b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_loss_gradient_hvp_and_hessian_in_parts_equal_one_batch(case):
    one, parts = problems(case)
    assert parts.chunked and len(list(parts.parts())) > 1         # the last part shorter
    theta = one.theta
    v = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(0),
                    dtype=torch.float64)
    close(parts.loss_fn()(theta), one.loss_fn()(theta))
    close(parts.grad_fn()(theta), one.grad_fn()(theta))
    close(hessian.problem_hvp(parts)(v), hessian.problem_hvp(one)(v))
    if theta.numel() <= 200:
        close(hessian.block_hessian(parts), hessian.block_hessian(one))


@pytest.mark.parametrize("mask", ["per_step", "per_sample"])
@pytest.mark.parametrize("case", CASES)
def test_mask_gradients_in_parts_equal_one_batch(case, mask):
    """The same masks (same stream): a per-sample mask cut with its samples, a per-step one
    shared by the parts."""
    one, parts = problems(case)
    g1 = noise.mask_gradients(one, 0.7, mask, 6, rng.stream("theta_star_masks", 0), batch=4)
    g2 = noise.mask_gradients(parts, 0.7, mask, 6, rng.stream("theta_star_masks", 0), batch=4)
    close(g2, g1)


@pytest.mark.parametrize("case", ["fnn_w2", "transformer", "encoder_decoder"])
def test_line_losses_and_sgd_gradients_in_parts_equal_one_batch(case):
    one, parts = problems(case)
    directions = torch.randn(one.theta.numel(), 3, generator=torch.Generator().manual_seed(1),
                             dtype=torch.float64)
    t = np.array([[0.1, -0.2], [0.3, 0.05], [-0.4, 0.2]])
    close(line_loss(parts, directions)(t), line_loss(one, directions)(t))
    close(line_loss(parts, directions)(t[[2, 0]], [2, 0]), line_loss(one, directions)(t)[[2, 0]])
    close(compare.per_sample_gradients(parts), compare.per_sample_gradients(one))
    run = [compare.continue_run(p, 0.1, 3, rng.stream("compare_gaussian", 0), sigma=0.01)
           for p in (one, parts)]
    close(run[1], run[0])


def test_a_batch_norm_block_refuses_parts():
    model = {"arch": "resnet", "depth": 8, "hidden": [6], "activation": "tanh",
             "image": [1, 8, 8]}
    x = torch.as_tensor(DIGITS["x_train"][:20], dtype=torch.float64)
    y = torch.as_tensor(DIGITS["y_train"][:20]).long()
    params = models.init_params(model, 64, 10, rng.torch_stream("init", 0), torch.float64)
    with pytest.raises(ValueError, match="batch norm takes its statistics over the whole batch"):
        noise.Problem.of(model, params, x, y, "cross_entropy", "s1b1_1_w", chunk=8)
    assert noise.Problem.of(model, params, x, y, "cross_entropy", "w1", chunk=8).chunked  # head
