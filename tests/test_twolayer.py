"""The dropout noise of the two-layer net three independent ways, and the identities it obeys."""

import pytest
import torch

from dropout_sme import models
from dropout_sme.sme import twolayer as tl



@pytest.fixture(autouse=True)
def float64():
    """These checks are to 1e-10: float64 throughout, restored afterwards."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def small_net(seed=0, m=5, n=7, d=3, act="tanh"):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(m, generator=g)
    w = torch.randn(m, d, generator=g) / d ** 0.5
    x = torch.randn(n, d, generator=g)
    y = torch.randn(n, generator=g)
    return a, w, x, y


def rel(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("mode", ["per_step", "per_sample"])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("seed", [0, 1])
def test_closed_form_equals_enumeration(mode, p, seed):
    a, w, x, y = small_net(seed)
    closed = tl.sigma_closed_form(a, w, x, y, p, mode)
    exact = tl.sigma_enumeration(a, w, x, y, p, mode)
    assert rel(closed, exact) < 1e-10
    torch.testing.assert_close(closed, closed.T)
    assert torch.linalg.eigvalsh(closed).min() > -1e-10 * closed.norm()


@pytest.mark.parametrize("act", ["softplus", "gelu"])
def test_closed_form_other_activations(act):
    a, w, x, y = small_net(3)
    assert rel(tl.sigma_closed_form(a, w, x, y, 0.6, act=act),
               tl.sigma_enumeration(a, w, x, y, 0.6, act=act)) < 1e-10


@pytest.mark.parametrize("mode", ["per_step", "per_sample"])
def test_monte_carlo_within_its_standard_error(mode):
    a, w, x, y = small_net(2, m=4, n=5)
    p, K = 0.7, 200_000
    g = torch.Generator().manual_seed(0)
    model = {"arch": "two_layer", "width": 4, "activation": "tanh"}
    params = {"a": a, "w": w}
    shape = (K, 4) if mode == "per_step" else (K, 5, 4)
    masks = (torch.rand(shape, generator=g) < p).double() / p
    grads = tl.flatten(*tl.Net(a, w, x, y).dropout_grad(masks, mode))    # (K, P)
    centred = grads - grads.mean(0)
    mc = centred.T @ centred / (K - 1)
    products = centred[:, :, None] * centred[:, None, :]
    se = products.std(0) / K ** 0.5
    closed = tl.sigma_closed_form(a, w, x, y, p, mode)
    z = (mc - closed) / se.clamp_min(1e-300)
    assert z.abs().max() < 5.5   # P^2 = 400 entries, |z| of a normal rarely exceeds 5.5
    # the mask samples above come from the models module: its forward gives the same gradients
    lossf = lambda prm, m: models.loss_value("mse", models.forward(model, prm, x, (m,)), y)  # noqa
    auto = torch.func.grad(lossf)(params, masks[0])
    ga, gw = tl.Net(a, w, x, y).dropout_grad(masks[0], mode)
    torch.testing.assert_close(auto["a"], ga)
    torch.testing.assert_close(auto["w"], gw)


def test_expectations_give_the_modified_loss_and_its_gradient():
    a, w, x, y = small_net(4)
    p = 0.6
    mean_grad, mean_loss = tl.mean_grad_enumeration(a, w, x, y, p)
    net = tl.Net(a, w, x, y)
    assert mean_loss.item() == pytest.approx(net.modified_loss(p).item(), rel=1e-12)
    torch.testing.assert_close(mean_grad, tl.flatten(*net.grad_modified_loss(p)), rtol=1e-12,
                               atol=1e-14)
    # and grad_modified_loss is the gradient of modified_loss (autograd)
    a_, w_ = a.clone().requires_grad_(), w.clone().requires_grad_()
    ga, gw = torch.autograd.grad(tl.Net(a_, w_, x, y).modified_loss(p), [a_, w_])
    torch.testing.assert_close(tl.flatten(ga, gw), mean_grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("mode", ["per_step", "per_sample"])
def test_second_moment_identity(mode):
    a, w, x, y = small_net(5, m=4, n=3)
    p = 0.3
    net = tl.Net(a, w, x, y)
    masks, prob = tl.all_masks(4, p)
    if mode == "per_step":
        second = prob @ (tl.flatten(*net.dropout_grad(masks)) ** 2).sum(1)
    else:  # all 2^(m n) mask combinations of the three examples
        idx = torch.cartesian_prod(*[torch.arange(16)] * 3)
        eta = masks[idx]                                                 # (4096, n, m)
        weight = prob[idx].prod(1)
        second = weight @ (tl.flatten(*net.dropout_grad(eta, "per_sample")) ** 2).sum(1)
    grad_ls = tl.flatten(*net.grad_modified_loss(p))
    trace = torch.trace(tl.sigma_closed_form(a, w, x, y, p, mode))
    assert second.item() == pytest.approx((grad_ls @ grad_ls + trace).item(), rel=1e-12)


@pytest.mark.parametrize("mode", ["per_step", "per_sample"])
def test_gaussian_noise_factor_reproduces_sigma(mode):
    a, w, x, y = small_net(6, m=4, n=5)
    for p in (0.2, 0.5, 0.9):
        K = tl.noise_factor(a, w, x, y, p, mode)
        assert rel(K @ K.T, tl.sigma_closed_form(a, w, x, y, p, mode)) < 1e-12


def test_sampled_gaussian_noise_has_covariance_sigma():
    a, w, x, y = small_net(7, m=4, n=5)
    p, K = 0.5, 100_000
    g = torch.Generator().manual_seed(1)
    zeta, Z = tl.sample_normals(p, "per_step", (K,), 4, 5, g, torch.float64)
    noise = tl.flatten(*tl.Net(a, w, x, y).gaussian_noise(p, zeta, Z))
    closed = tl.sigma_closed_form(a, w, x, y, p)
    assert noise.mean(0).abs().max() < 5 * (closed.diagonal() / K).sqrt().max()
    emp = noise.T @ noise / K
    se = (closed.diagonal()[:, None] * closed.diagonal()[None, :] + closed ** 2).sqrt() / K ** 0.5
    assert ((emp - closed) / se).abs().max() < 5.5


def test_moments_match_the_two_point_distribution():
    for p in (0.1, 0.5, 0.9):
        xi = torch.tensor([1 / p - 1, -1.0])
        prob = torch.tensor([p, 1 - p])
        mom = tl.moments(p)
        assert prob @ xi == pytest.approx(0, abs=1e-12)
        assert prob @ xi ** 2 == pytest.approx(mom["s"])
        assert prob @ xi ** 3 == pytest.approx(mom["kappa3"])
        assert prob @ xi ** 4 == pytest.approx(mom["mu4"])
        torch.testing.assert_close(xi ** 2, mom["c"] * xi + mom["s"])


@pytest.mark.parametrize("act", ["tanh", "softplus", "gelu"])
def test_hessian_vector_product_matches_forward_mode_autodiff(act):
    a, w, x, y = small_net(8, m=5, n=6, d=3)
    g = torch.Generator().manual_seed(3)
    va, vw = torch.randn(5, generator=g), torch.randn(5, 3, generator=g)
    grad = lambda a_, w_: tl.Net(a_, w_, x, y, act).grad_modified_loss(0.7)  # noqa: E731
    _, (ha, hw) = torch.func.jvp(grad, (a, w), (va, vw))
    ca, cw = tl.Net(a, w, x, y, act).hvp_modified_loss(0.7, va, vw)
    torch.testing.assert_close(ca, ha, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(cw, hw, rtol=1e-12, atol=1e-14)
    # and against finite differences of the gradient
    h = 1e-6
    fa, fw = [(u - v) / (2 * h) for u, v in zip(grad(a + h * va, w + h * vw),
                                                 grad(a - h * va, w - h * vw))]
    torch.testing.assert_close(ca, fa, rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(cw, fw, rtol=1e-6, atol=1e-8)
