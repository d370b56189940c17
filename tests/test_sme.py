"""The simulators: integrator against closed forms, one-step moments of each method."""

import math

import numpy as np
import pytest
import torch

from dropout_sme.sme import cell as sme_cell
from dropout_sme.sme import simulate
from dropout_sme.sme import twolayer as tl


def ou_run(theta, sigma, x0, T, h, paths, extrapolate, seed=0, record=lambda s: s[0]):
    """dX = -theta X dt + sigma dW with the package's integrator."""
    g = torch.Generator().manual_seed(seed)

    def step(state, dt, normals):
        x, = state
        return (x - theta * x * dt + sigma * math.sqrt(dt) * normals[0],)

    return simulate.euler_maruyama(step, lambda: (torch.randn(paths, generator=g,
                                                         dtype=torch.float64),),
                              (torch.full((paths,), x0, dtype=torch.float64),), h,
                              n_rec=1, per_rec=round(T / h), record=record,
                              extrapolate=extrapolate)[-1]


@pytest.mark.parametrize("extrapolate", [False, True])
def test_euler_maruyama_reproduces_ornstein_uhlenbeck(extrapolate):
    theta, sigma, x0, T, paths = 1.5, 0.8, 2.0, 1.0, 200_000
    mean = x0 * math.exp(-theta * T)
    var = sigma ** 2 / (2 * theta) * (1 - math.exp(-2 * theta * T))
    x = ou_run(theta, sigma, x0, T, 0.01, paths, extrapolate)
    assert abs(x.mean().item() - mean) < 4 * math.sqrt(var / paths) + 0.01 * mean * theta
    # the second moment through the same integrator (extrapolated, it needs the record hook)
    x2 = ou_run(theta, sigma, x0, T, 0.01, paths, extrapolate, record=lambda s: s[0] ** 2)
    second = var + mean ** 2
    assert abs(x2.mean().item() - second) < 4 * x2.std().item() / math.sqrt(paths) + 0.02 * second


def test_extrapolation_turns_first_order_weak_error_into_second_order():
    """On the OU mean (an ODE in expectation) the error of plain EM falls like h, extrapolated
    like h^2: the fitted slopes say so."""
    theta, x0, T = 1.5, 2.0, 1.0
    exact = x0 * math.exp(-theta * T)
    hs = [0.1, 0.05, 0.025]
    slopes = {}
    for ex in (False, True):
        errs = [abs(ou_run(theta, 0.0, x0, T, h, 1, ex).item() - exact) for h in hs]
        slopes[ex] = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert slopes[False] == pytest.approx(1, abs=0.1)
    assert slopes[True] == pytest.approx(2, abs=0.15)


def small_problem(p=0.6, mask="per_step", m=4, n=6, d=3):
    g = torch.Generator().manual_seed(0)
    data = {"x_train": torch.randn(n, d, generator=g, dtype=torch.float64),
            "y_train": torch.randn(n, generator=g, dtype=torch.float64),
            "x_test": torch.randn(5, d, generator=g, dtype=torch.float64),
            "y_test": torch.randn(5, generator=g, dtype=torch.float64)}
    a0 = torch.randn(m, generator=g, dtype=torch.float64)
    w0 = torch.randn(m, d, generator=g, dtype=torch.float64) / d ** 0.5
    return simulate.Problem({k: v.numpy() for k, v in data.items()}, a0.numpy(), w0.numpy(), p, mask)


def one_step_increments(prob, method, lr, paths, l=2):
    """(theta_1 - theta_0) of ``paths`` independent one-step runs, flattened (paths, P)."""
    gen = torch.Generator().manual_seed(1)
    a = prob.a0.expand(paths, -1).clone()
    w = prob.w0.expand(paths, -1, -1).clone()
    if method in ("dropout", "svag"):
        coefs = simulate.svag_coefficients(l) if method == "svag" else (1.0,)
        grad = tl.flatten(*prob.method_grad(a, w, [prob.masks(paths, gen) for _ in coefs], coefs))
        return grad if method == "svag" else -lr * grad  # SVAG: the combined gradient itself
    na, nw = prob.em_step(a, w, lr, lr, 1, prob.normals(paths, gen))
    return tl.flatten(na - a, nw - w)


@pytest.mark.parametrize("mask", ["per_step", "per_sample"])
@pytest.mark.parametrize("method", ["dropout", "svag", "sme1"])
def test_one_step_mean_and_covariance(method, mask):
    """Dropout: mean -lr grad L_S, covariance lr^2 Sigma. SVAG's combined gradient: mean grad L_S,
    covariance l Sigma. One EM step of length lr of the order-1 SME: the same as dropout."""
    prob = small_problem(mask=mask)
    lr, l, K = 0.1, 4, 200_000
    inc = one_step_increments(prob, method, lr, K, l)
    net = prob.net(prob.a0, prob.w0)
    grad = tl.flatten(*net.grad_modified_loss(prob.p))
    sigma = tl.sigma_closed_form(prob.a0, prob.w0, prob.x, prob.y, prob.p, mask)
    mean, cov = (grad, l * sigma) if method == "svag" else (-lr * grad, lr ** 2 * sigma)
    se_mean = (cov.diagonal() / K).sqrt()
    assert ((inc.mean(0) - mean).abs() / se_mean).max() < 5
    c = inc - inc.mean(0)
    emp = c.T @ c / (K - 1)
    se = (cov.diagonal()[:, None] * cov.diagonal()[None, :] + cov ** 2).sqrt() / K ** 0.5
    assert ((emp - cov).abs() / se).max() < 5.5


def test_order2_drift_adds_half_lr_hessian_times_gradient():
    prob = small_problem()
    a, w = prob.a0[None], prob.w0[None]
    lr, dt = 0.2, 0.05
    a1, w1 = prob.em_step(a, w, dt, lr, 1)
    a2, w2 = prob.em_step(a, w, dt, lr, 2)

    def penalty(a_, w_):
        ga, gw = prob.net(a_, w_).grad_modified_loss(prob.p)
        return (ga ** 2).sum() + (gw ** 2).sum()

    ha, hw = torch.func.grad(penalty, argnums=(0, 1))(prob.a0, prob.w0)
    torch.testing.assert_close(a2[0] - a1[0], -dt * lr / 4 * ha)
    torch.testing.assert_close(w2[0] - w1[0], -dt * lr / 4 * hw)


def test_simulate_is_reproducible_and_chunking_only_regroups():
    prob = small_problem()
    kw = dict(lr=0.1, horizon=0.4, record_every=0.2, seed=3, substeps=2)
    r1 = simulate.simulate(prob, "sme1", n_paths=40, chunk=10, **kw)
    r2 = simulate.simulate(prob, "sme1", n_paths=40, chunk=10, **kw)
    np.testing.assert_array_equal(r1["batch_means"], r2["batch_means"])
    assert r1["batch_means"].shape == (4, 3, 3)
    np.testing.assert_allclose(r1["times"], [0, 0.2, 0.4])
    gf = simulate.simulate(prob, "gf", n_paths=40, chunk=10, **kw)
    assert gf["batch_means"].shape == (1, 3, 3)   # one deterministic path
    # all methods start at theta_0
    for method in ("dropout", "sme2", "svag"):
        r = simulate.simulate(prob, method, n_paths=8, chunk=4, **kw)
        for row in r["batch_means"][:, 0]:
            np.testing.assert_allclose(row, gf["batch_means"][0, 0], rtol=1e-12)


def test_the_order_2_flow_is_deterministic_and_departs_from_gradient_flow_by_order_lr():
    """gf2 follows the order-2 SME's drift without noise: one path, at distance O(lr) from the
    gradient flow on L_S (its extra drift is (lr/2) H grad L_S)."""
    prob = small_problem()
    gaps = []
    for lr in (0.1, 0.05):
        kw = dict(lr=lr, horizon=0.4, record_every=0.2, seed=3, substeps=4, n_paths=8, chunk=4)
        gf2, gf = simulate.simulate(prob, "gf2", **kw), simulate.simulate(prob, "gf", **kw)
        assert gf2["batch_means"].shape == (1, 3, 3)
        gaps.append(abs(gf2["batch_means"][0, -1, 0] - gf["batch_means"][0, -1, 0]))
    assert gaps[1] > 0 and gaps[0] / gaps[1] == pytest.approx(2.0, rel=0.1)


def test_blown_up_paths_stop_the_run_and_mark_the_cell():
    prob = small_problem(p=0.05)
    out = simulate.simulate(prob, "dropout", lr=2.0, horizon=40.0, record_every=2.0, n_paths=200,
                       chunk=50, batch=10, seed=0)
    assert 1 <= out["batch_diverged"].sum() < 50       # some paths of the chunk, not all
    assert len(out["batch_sizes"]) < 20                       # stopped after the diverged chunk
    bad = out["batch_diverged"] > 0
    assert np.isnan(out["batch_means"][bad]).all()
    assert np.isfinite(out["batch_means"][~bad][:, 0]).all()  # the start is always recorded


def test_parity_targets_for_class_labels():
    data = {"x_train": np.zeros((4, 2)), "y_train": np.array([0, 1, 2, 7]),
            "x_test": np.zeros((2, 2)), "y_test": np.array([3, 4])}
    out = sme_cell.scalar_targets(data, "parity")
    assert out["y_train"].tolist() == [1, -1, 1, -1] and out["y_test"].tolist() == [-1, 1]
    assert sme_cell.scalar_targets(data, None) is data
    with pytest.raises(ValueError, match="parity"):
        sme_cell.scalar_targets(data, "onehot")


@pytest.mark.parametrize("act", ["tanh", "softplus"])
def test_test_functions_against_a_direct_evaluation(act):
    """R_S, |theta|^2 and the test loss of many paths (tanh takes the folded form
    2a sigmoid(2z) - a) against the plain sum a_r sigma(w_r . x) of each path, in float64."""
    g = torch.Generator().manual_seed(5)
    data = {"x_train": torch.randn(9, 3, generator=g).numpy(),
            "y_train": torch.randn(9, generator=g).numpy(),
            "x_test": torch.randn(11, 3, generator=g).numpy(),
            "y_test": torch.randn(11, generator=g).numpy()}
    prob = simulate.Problem(data, torch.randn(4, generator=g), torch.randn(4, 3, generator=g), 0.8,
                       activation=act)
    a = torch.randn(6, 4, generator=g, dtype=torch.float64)
    w = torch.randn(6, 4, 3, generator=g, dtype=torch.float64)
    sigma = {"tanh": torch.tanh, "softplus": torch.nn.functional.softplus}[act]
    expected = []
    for k in range(6):
        def loss(x, y):
            x, y = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
            f = torch.stack([sum(a[k, r] * sigma(w[k, r] @ xi) for r in range(4)) for xi in x])
            return 0.5 * ((f - y) ** 2).mean()
        expected.append([loss(data["x_train"], data["y_train"]),
                         (a[k] ** 2).sum() + (w[k] ** 2).sum(),
                         loss(data["x_test"], data["y_test"])])
    torch.testing.assert_close(prob.test_functions(a, w), torch.tensor(expected,
                                                                        dtype=torch.float64))


def test_a_variance_is_extrapolated_after_it_is_formed():
    """OU through the integrator, levels unmixed: 2 Var(h/2) - Var(h) is the exact variance to
    O(h^2) and Monte Carlo, where Var(h) alone carries Euler-Maruyama's O(h) error."""
    theta, sigma, x0, T, h, paths = 1.5, 0.8, 2.0, 1.0, 0.1, 400_000
    var = sigma ** 2 / (2 * theta) * (1 - math.exp(-2 * theta * T))
    g = torch.Generator().manual_seed(1)

    def step(state, dt, normals):
        x, = state
        return (x - theta * x * dt + sigma * math.sqrt(dt) * normals[0],)

    levels = simulate.euler_maruyama(
        step, lambda: (torch.randn(paths, generator=g, dtype=torch.float64),),
        (torch.full((paths,), x0, dtype=torch.float64),), h, n_rec=1, per_rec=round(T / h),
        record=lambda s: torch.stack([s[0], s[0]], -1), mix=False)       # (2, 2, paths, 2)
    fluct = simulate.fluctuations(levels, flow=False)                   # (records, 2)
    se = var * math.sqrt(2 / paths) * 3
    assert abs(fluct[-1, 0] - var) < 4 * se + 0.005 * var
    assert abs(levels[1, -1, :, 0].var().item() - var) > 0.03 * var    # the coarse level alone
    assert fluct[-1, 1] == pytest.approx(fluct[-1, 0])                  # one "parameter": x


@pytest.mark.parametrize("method", ["dropout", "sme1", "gf"])
def test_batch_fluctuations_are_the_variances_within_each_batch(method):
    """Each batch's Var R_S and trace Cov(theta) are those of its own paths (levels combined),
    from the same streams as the means; a flow has none."""
    prob = small_problem()
    kw = dict(lr=0.1, horizon=0.4, record_every=0.2, seed=3, substeps=2)
    out = simulate.simulate(prob, method, n_paths=40, chunk=20, batch=10, **kw)
    if method == "gf":
        assert out["batch_fluct"].shape == (1, 3, 2) and not out["batch_fluct"].any()
        return
    gen = simulate.rng.torch_stream(**simulate.chunk_stream(3, method, 0, 0.1, prob.p, 1))
    levels = simulate.run_chunk(prob, method, 0.1, 0.4, 0.2, 20, gen, substeps=2, raw=True)
    weights = simulate.LEVEL_WEIGHTS[levels.shape[0]]
    second = levels[:, :, 10:]                                   # batch 4: chunk 1's second half
    r_s, theta = second[..., 0], second[..., 3:]
    want_r = sum(w * v.var(-1) for w, v in zip(weights, r_s))
    want_t = sum(w * v.var(-2).sum(-1) for w, v in zip(weights, theta))
    np.testing.assert_allclose(out["batch_fluct"][3, :, 0], want_r.numpy(), rtol=1e-10)
    np.testing.assert_allclose(out["batch_fluct"][3, :, 1], want_t.numpy(), rtol=1e-10)
    # none at t = 0; positive on average after it (an extrapolated batch's can be negative)
    assert out["batch_fluct"][:, 0].max() == 0 and (out["batch_fluct"][:, 1:].mean(0) > 0).all()
    mixed = sum(w * v[..., :3] for w, v in zip(weights, levels))  # the means as before
    np.testing.assert_allclose(out["batch_means"][3], mixed[:, 10:].mean(1).numpy(), rtol=1e-12)


def test_the_order_1_sme_has_dropouts_fluctuation_and_the_flow_none():
    """At a small lr the order-1 SME's E|theta - E theta|^2 is dropout's within a relative
    O(lr) + Monte Carlo; gradient flow's is zero."""
    prob = small_problem(p=0.7)
    kw = dict(lr=0.02, horizon=0.4, record_every=0.4, seed=0, substeps=1, n_paths=4000,
              chunk=1000, batch=100)
    spread = {m: simulate.simulate(prob, m, **kw)["batch_fluct"][:, -1, 1].mean()
              for m in ("dropout", "sme1", "gf")}
    assert spread["sme1"] == pytest.approx(spread["dropout"], rel=0.1)
    assert spread["gf"] == 0 < spread["dropout"]
