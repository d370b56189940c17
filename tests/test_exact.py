"""The exactly solvable case (linear regression with input dropout): closed-form moments against
Monte Carlo of dropout GD and of the SMEs, and weak orders 1 and 2 to two digits."""

import numpy as np
import pytest

from dropout_sme.sme import exact


def problem(p=0.7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((20, 3))
    y = X @ np.array([1.0, -0.5, 0.3]) + 0.2 * rng.standard_normal(20)
    return exact.LinearDropout(X, y, p), np.array([0.5, 0.5, -0.5])


def test_mean_gradient_is_that_of_the_modified_loss():
    """E G_eta = A + s diag(A): L_S = R_S + (s / 2) sum_j A_jj w_j^2 (docs/spec.md 1.2)."""
    model, _ = problem(0.6)
    s = 0.4 / 0.6
    np.testing.assert_allclose(model.G, model.A + s * np.diag(np.diag(model.A)), atol=1e-14)
    np.testing.assert_allclose(model.h, model.b, atol=1e-14)
    assert model.probs.sum() == pytest.approx(1.0)


def test_dropout_moments_against_monte_carlo():
    model, w0 = problem()
    lr, steps, paths = 0.2, 8, 200_000
    m, S = model.dropout(w0, lr, steps)
    rng = np.random.default_rng(1)
    w = np.tile(w0, (paths, 1))
    for _ in range(steps):
        eta = (rng.random((paths, 3)) < model.p) / model.p
        grad = eta * ((eta * w) @ model.A) - eta * model.b        # D A D w - D b (A symmetric)
        w = w - lr * grad
    se = w.std(0) / np.sqrt(paths)
    assert np.all(np.abs(w.mean(0) - m[-1]) < 5 * se)
    sq = (w * w).sum(1)
    assert abs(sq.mean() - np.trace(S[-1])) < 5 * sq.std() / np.sqrt(paths)


def sigma_root(model, w):
    """Sigma(w)^{1/2} per path by enumeration of the masks, (paths, d, d)."""
    g = np.einsum("kij,pj->pki", model.Gs, w) - model.hs[None]         # (paths, masks, d)
    mean = np.einsum("k,pki->pi", model.probs, g)
    cov = np.einsum("k,pki,pkj->pij", model.probs, g, g) - mean[:, :, None] * mean[:, None, :]
    vals, vecs = np.linalg.eigh(cov)
    return vecs * np.sqrt(np.clip(vals, 0, None))[:, None, :] @ vecs.transpose(0, 2, 1)


@pytest.mark.parametrize("method", ["sme1", "sme2"])
def test_sme_moments_against_euler_maruyama(method):
    """The exact (m, S) of an SME against Euler-Maruyama paths at a fine step (its bias O(dt))."""
    model, w0 = problem()
    lr, horizon, sub, paths = 0.2, 0.4, 40, 40_000
    m, S = model.continuous(method, w0, lr, 2)
    B = np.eye(3) + (0.5 * lr * model.G if method == "sme2" else 0)
    P, q = B @ model.G, B @ model.h
    rng = np.random.default_rng(2)
    w = np.tile(w0, (paths, 1))
    dt = lr / sub
    for _ in range(round(horizon / dt)):
        noise = np.einsum("pij,pj->pi", sigma_root(model, w), rng.standard_normal((paths, 3)))
        w = w + (q - w @ P.T) * dt + np.sqrt(lr * dt) * noise
    se = w.std(0) / np.sqrt(paths)
    assert np.all(np.abs(w.mean(0) - m[-1]) < 5 * se + 1e-3)
    sq = (w * w).sum(1)
    assert abs(sq.mean() - np.trace(S[-1])) < 5 * sq.std() / np.sqrt(paths) + 1e-3
    # the diffusion is seen: the flow without it misses the variance by more than the error bars
    mf, Sf = model.continuous("gf2" if method == "sme2" else "gf", w0, lr, 2)
    assert np.trace(S[-1]) - np.trace(Sf[-1]) > 10 * sq.std() / np.sqrt(paths)


def test_weak_orders_are_one_and_two_to_two_digits():
    model, w0 = problem()
    _, fits = exact.order_table(model, w0, [0.004, 0.002, 0.001, 0.0005], 1.0)
    for r in fits.itertuples():
        assert round(r.order, 2) == r.predicted, (r.method, r.g, r.order)


def test_the_controls_are_order_one_where_the_noise_matters():
    """Without diffusion the second moments miss O(lr): the noise-free order-2 flow is order 1 on
    |w|^2, although its drift is that of the order-2 SME."""
    model, w0 = problem()
    points, fits = exact.order_table(model, w0, [0.01, 0.005, 0.0025], 1.0)
    fit = fits.set_index(["method", "g"]).order
    assert fit["gf2", "sq_norm"] < 1.2 and fit["sme2", "sq_norm"] > 1.8
