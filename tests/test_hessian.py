"""Block Hessians: against finite differences, the full-parameter Hessian, and eigh."""

import numpy as np
import pytest
import torch

from dropout_sme import models, noise
from dropout_sme.noise import hessian

FNN = {"arch": "fnn", "hidden": [6, 5], "activation": "tanh"}


def setup(seed=0):
    g = torch.Generator().manual_seed(seed)
    params = models.init_params(FNN, 4, 3, g, torch.float64)
    x = torch.randn(20, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (20,), generator=g)
    return params, x, y


def test_hessian_matches_finite_differences_of_the_gradient():
    params, x, y = setup()
    f = noise.Problem.of(FNN, params, x, y, "cross_entropy", "w2").loss_fn()
    theta = params["w2"].reshape(-1)
    H = hessian.full_hessian(f, theta, chunk=7)
    g = torch.func.grad(f)
    h = 1e-6
    for i in (0, 7, 29):
        e = torch.zeros_like(theta)
        e[i] = h
        fd = (g(theta + e) - g(theta - e)) / (2 * h)
        torch.testing.assert_close(H[:, i], fd, rtol=1e-6, atol=1e-9)


def test_block_is_the_matching_part_of_the_full_hessian():
    params, x, y = setup(1)
    names = list(params)
    sizes = [params[k].numel() for k in names]

    def f_all(flat):
        parts = dict(zip(names, flat.split(sizes)))
        full = {k: parts[k].reshape(params[k].shape) for k in names}
        return models.loss_value("cross_entropy", models.forward(FNN, full, x), y)

    flat = torch.cat([params[k].reshape(-1) for k in names])
    H_all = torch.func.hessian(f_all)(flat)
    start = sum(sizes[:names.index("w2")])
    sl = slice(start, start + params["w2"].numel())
    f = noise.Problem.of(FNN, params, x, y, "cross_entropy", "w2").loss_fn()
    torch.testing.assert_close(hessian.full_hessian(f, params["w2"].reshape(-1)), H_all[sl, sl])


def test_lanczos_top_k_matches_eigh():
    params, x, y = setup(2)
    f = noise.Problem.of(FNN, params, x, y, "cross_entropy", "w2").loss_fn()
    theta = params["w2"].reshape(-1)
    H = hessian.full_hessian(f, theta).numpy()
    exact_vals, exact_vecs = np.linalg.eigh(H)
    vals, vecs = hessian.lanczos_top(f, theta, k=5, tol=1e-12)
    np.testing.assert_allclose(vals, exact_vals[::-1][:5], rtol=1e-8)
    for j in range(5):  # eigenvectors up to sign
        assert abs(abs(vecs[:, j] @ exact_vecs[:, -1 - j]) - 1) < 1e-6


def test_unknown_block_is_named():
    params, x, y = setup()
    with pytest.raises(KeyError, match="no parameter block 'w9'.*w1, b1, w2"):
        noise.Problem.of(FNN, params, x, y, "cross_entropy", "w9").loss_fn()


@pytest.mark.parametrize("act,loss,hidden", [("tanh", "cross_entropy", [6, 5]),
                                             ("relu", "cross_entropy", [6, 5]),
                                             ("gelu", "mse", [4, 6, 5]),
                                             ("softplus", "cross_entropy", [5])])
def test_closed_form_last_hidden_hessian_matches_autograd(act, loss, hidden):
    g = torch.Generator().manual_seed(3)
    model = {"arch": "fnn", "hidden": hidden, "activation": act}
    params = models.init_params(model, 4, 3, g, torch.float64)
    x = torch.randn(20, 4, generator=g, dtype=torch.float64)
    y = (torch.randint(0, 3, (20,), generator=g) if loss == "cross_entropy"
         else torch.randn(20, 3, generator=g, dtype=torch.float64))
    block = f"w{len(hidden)}"
    closed = hessian.block_hessian(noise.Problem.of(model, params, x, y, loss, block))
    auto = hessian.full_hessian(noise.Problem.of(model, params, x, y, loss, block).loss_fn(),
                                params[block].reshape(-1))
    torch.testing.assert_close(closed, auto, rtol=1e-9, atol=1e-12)


def cnn_setup():
    g = torch.Generator().manual_seed(4)
    model = {"arch": "cnn", "channels": [3, 4], "hidden": [6], "activation": "tanh",
             "image": [1, 8, 8]}
    params = models.init_params(model, 64, 3, g, torch.float64)
    x = torch.randn(12, 64, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (12,), generator=g)
    return model, params, x, y


def test_cnn_block_hessian_matches_finite_differences_and_lanczos_matches_eigh():
    model, params, x, y = cnn_setup()
    f = noise.Problem.of(model, params, x, y, "cross_entropy", "conv2_w").loss_fn()
    theta = params["conv2_w"].reshape(-1)                    # 4 x 3 x 3 x 3 = 108 numbers
    H = hessian.block_hessian(noise.Problem.of(model, params, x, y, "cross_entropy", "conv2_w"))
    g, h = torch.func.grad(f), 1e-6
    for i in (0, 50, 107):
        e = torch.zeros_like(theta)
        e[i] = h
        torch.testing.assert_close(H[:, i], (g(theta + e) - g(theta - e)) / (2 * h),
                                   rtol=1e-6, atol=1e-9)
    v = torch.randn(theta.shape, generator=torch.Generator().manual_seed(0), dtype=theta.dtype)
    torch.testing.assert_close(hessian.hvp_sequential(f, theta)(v), H @ v)
    vals, vecs = hessian.lanczos_top(f, theta, k=3, tol=1e-10)
    exact = np.linalg.eigvalsh(H.numpy())[::-1][:3]
    np.testing.assert_allclose(vals, exact, rtol=1e-7)


def test_block_all_is_the_full_parameter_hessian():
    params, x, y = setup(1)
    names = list(params)
    flat = torch.cat([params[k].reshape(-1) for k in names])
    torch.testing.assert_close(models.block_vector(params, "all"), flat)
    back = models.with_block(params, "all", flat)
    assert all(torch.equal(back[k], params[k]) for k in names)

    def f_all(theta):
        full = models.with_block(params, "all", theta)
        return models.loss_value("cross_entropy", models.forward(FNN, full, x), y)

    H = hessian.block_hessian(noise.Problem.of(FNN, params, x, y, "cross_entropy", "all"))
    torch.testing.assert_close(H, torch.func.hessian(f_all)(flat))
    with pytest.raises(KeyError, match="no parameter block 'w9'"):
        noise.Problem.of(FNN, params, x, y, "cross_entropy", "w9").loss_fn()
