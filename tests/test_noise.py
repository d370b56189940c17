"""Random gradient data against the closed-form Sigma; alignment and its null models."""

import numpy as np
import pytest
import torch

from dropout_sme import models, noise
from dropout_sme.models import fnn
from dropout_sme.noise import hessian
from dropout_sme.sme import twolayer as tl


@pytest.mark.parametrize("mode", ["per_step", "per_sample"])
def test_mask_gradient_covariance_matches_the_closed_form(mode):
    """The generic random-gradient Sigma (any model, vmapped masks) against docs/spec.md §1.4."""
    g = torch.Generator().manual_seed(0)
    model = {"arch": "two_layer", "width": 3, "activation": "tanh"}
    params = models.init_params(model, 2, 1, g, torch.float64)
    x = torch.randn(5, 2, generator=g, dtype=torch.float64)
    y = torch.randn(5, generator=g, dtype=torch.float64)
    K = 40_000
    task = noise.Problem.of(model, params, x, y, "mse", "w")
    grads = noise.mask_gradients(task, 0.6, mode, K, np.random.default_rng(1), batch=4000)
    emp = noise.covariance(grads)
    exact = tl.sigma_closed_form(params["a"], params["w"], x, y, 0.6, mode)
    # the w-block of Sigma: unit r's w_r sits at columns r(d+1)+1 .. r(d+1)+d
    idx = [r * 3 + j for r in range(3) for j in (1, 2)]
    block = exact[np.ix_(idx, idx)]
    se = (block.diagonal()[:, None] * block.diagonal()[None, :] + block ** 2).sqrt() / K ** 0.5
    assert ((emp - block).abs() / se).max() < 5.5


def test_alignment_of_known_pairs():
    A = torch.diag(torch.tensor([3.0, 1.0, 0.0]))
    assert noise.alignment(A, A) == pytest.approx(1)
    assert noise.alignment(A, -A) == pytest.approx(-1)
    assert noise.alignment(A, torch.diag(torch.tensor([0.0, 0.0, 2.0]))) == 0
    assert noise.alignment(torch.eye(4), torch.eye(4) * 7) == pytest.approx(1)
    # two rank-one matrices u u^T and v v^T: alpha = (u.v)^2 / (|u|^2 |v|^2)
    u, v = torch.tensor([1.0, 2.0, 0.0]), torch.tensor([2.0, 0.0, 1.0])
    assert noise.alignment(torch.outer(u, u), torch.outer(v, v)) == pytest.approx(4 / 25)


def test_centred_wishart_null_is_centred_with_its_leading_order_sd():
    vals = noise.null_centred_wishart(60, 400, np.random.default_rng(0))
    assert abs(vals.mean()) < 4 * vals.std() / np.sqrt(len(vals))
    # sqrt(2 / (B (B+1))): 0.023 at B = 60, 5.7e-4 at B = 2500 (the paper's "0.001")
    assert vals.std() == pytest.approx(noise.wishart_null_sd(60), rel=0.15)


def test_same_spectra_null_has_its_exact_moments():
    rng = np.random.default_rng(1)
    eh, es = rng.exponential(1, 30) - 0.3, rng.exponential(1, 30) ** 2   # H may be indefinite
    vals = noise.null_same_spectra([(eh, es)], 4000, rng)[:, 0]
    mean, sd = noise.same_spectra_moments(eh.sum(), np.linalg.norm(eh), es.sum(),
                                          np.linalg.norm(es), 30)
    assert abs(vals.mean() - mean) < 4 * vals.std() / np.sqrt(len(vals))
    assert vals.std() == pytest.approx(sd, rel=0.08)     # s.e. of an sd from 4000 draws: ~1-2%
    Q = noise.haar(30, rng)
    np.testing.assert_allclose(Q @ Q.T, np.eye(30), atol=1e-12)


def test_bernoulli_from_bytes_is_exact():
    """0.8 * 256 = 204.8 is not a whole byte: without the tie rule P(keep) would be 0.797."""
    rng = np.random.default_rng(0)
    for p in (0.8, 0.9, 0.5):
        m = noise.bernoulli((4000, 2500), p, rng)
        se = np.sqrt(p * (1 - p) / m.numel())
        assert set(m.unique().tolist()) <= {0.0, 1.0}
        assert abs(m.mean().item() - p) < 4 * se
    assert noise.bernoulli((3, 4), 1.0, rng).eq(1).all()


def test_bernoulli_on_a_device_draws_the_same_masks():
    """The device path (bytes sent, comparisons and tie-breaks there) against the host's."""
    for p in (0.8, 0.9, 0.5, 0.3):
        host = noise.bernoulli((40, 300, 7), p, np.random.default_rng(1))
        there = noise.bernoulli((40, 300, 7), p, np.random.default_rng(1), torch.device("cpu"))
        assert torch.equal(host, there) and 0 < host.mean() < 1


FNN_CASES = [([5, 4], "w2", "cross_entropy", "per_sample", "relu"),
             ([5, 4, 3], "w3", "mse", "per_step", "tanh"),
             ([5, 4, 3], "w2", "cross_entropy", "per_step", "gelu"),
             ([6, 4], "w3", "cross_entropy", "per_sample", "softplus")]


def fnn_problem(hidden, loss, act, seed=0):
    g = torch.Generator().manual_seed(seed)
    model = {"arch": "fnn", "hidden": hidden, "activation": act}
    params = models.init_params(model, 3, 2, g, torch.float64)
    x = torch.randn(7, 3, generator=g, dtype=torch.float64)
    y = (torch.randint(0, 2, (7,), generator=g) if loss == "cross_entropy"
         else torch.randn(7, 2, generator=g, dtype=torch.float64))
    return model, params, x, y


@pytest.mark.parametrize("hidden,block,loss,mode,act", FNN_CASES)
def test_fast_fnn_gradients_match_autograd(hidden, block, loss, mode, act):
    model, params, x, y = fnn_problem(hidden, loss, act)
    task = noise.Problem.of(model, params, x, y, loss, block)
    fast = noise.mask_gradients(task, 0.7, mode, 50, np.random.default_rng(3), batch=16)
    slow = noise.vmapped_gradients(noise.Problem.of(model, params, x, y, loss, block), 0.7)
    rng, rows = np.random.default_rng(3), 7 if mode == "per_sample" else 1
    ref = torch.cat([slow([noise.bernoulli((size, rows, w), 0.7, rng).double() for w in hidden])
                     for size in (16, 16, 16, 2)])
    torch.testing.assert_close(fast, ref, rtol=1e-9, atol=1e-12)
    assert fast.std(0).max() > 0                           # the masks do vary


@pytest.mark.parametrize("hidden,block,loss,mode,act", FNN_CASES)
def test_fnn_kernel_in_cache_sized_parts_gives_the_same_gradients(hidden, block, loss, mode, act,
                                                                  monkeypatch):
    """The CPU kernel's parts of a few masks (byte masks made floats there) against one batch of
    float masks: the same gradients; and the byte masks are the float masks' 0/1 values."""
    model, params, x, y = fnn_problem(hidden, loss, act)
    layer = int(block[1:])
    rows = 7 if mode == "per_sample" else 1
    draw = [noise.bernoulli((10, rows, w), 0.7, np.random.default_rng(5), None, torch.uint8)
            for w in hidden]
    floats = [noise.bernoulli((10, rows, w), 0.7, np.random.default_rng(5)) for w in hidden]
    assert draw[0].dtype == torch.uint8 and torch.equal(draw[0].double(), floats[0].double())
    whole = fnn.weight_gradients(model, params, x, y, loss, 0.7, layer)(
        [m.double() for m in floats])
    monkeypatch.setattr(fnn, "CACHE_BYTES", 3 * 7 * 16 * 8)        # 3 masks a part
    parts = fnn.weight_gradients(model, params, x, y, loss, 0.7, layer)(draw)
    torch.testing.assert_close(parts, whole, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("act", ["relu", "tanh", "gelu", "softplus"])
def test_activation_derivatives_match_autograd(act):
    z = torch.linspace(-3, 3, 101, dtype=torch.float64)
    auto = torch.func.vmap(torch.func.grad(models.ACTIVATIONS[act]))(z)
    torch.testing.assert_close(models.DERIVATIVES[act][0](z, models.ACTIVATIONS[act](z)),
                               auto)


def test_sigma_fro_sq_is_unbiased_where_the_plain_norm_is_not():
    """Skewed non-Gaussian samples with a known Sigma; 400 replicates of K = 40."""
    rng = np.random.default_rng(0)
    B, K = 12, 40
    A = rng.standard_normal((B, B)) / np.sqrt(B)
    Sigma = A @ A.T
    exact = np.trace(Sigma @ Sigma)
    unbiased, plain = [], []
    for _ in range(400):
        z = rng.exponential(1.0, (K, B)) - 1.0             # mean 0, variance 1, skewed
        G = torch.from_numpy(z @ A.T + 3.0)                 # a mean the estimators must remove
        unbiased.append(noise.sigma_fro_sq(G))
        plain.append(float(noise.covariance(G).norm() ** 2))
    unbiased, plain = np.array(unbiased), np.array(plain)
    se = unbiased.std() / np.sqrt(len(unbiased))
    assert abs(unbiased.mean() - exact) < 4 * se
    assert plain.mean() - exact > 10 * plain.std() / np.sqrt(len(plain))   # biased upwards


@pytest.mark.parametrize("n", [300, 5000])
def test_pca_recovers_a_known_covariance(n):
    """Both branches: SVD (fewer samples than dimensions) and eigh of the covariance."""
    rng = np.random.default_rng(1)
    B = 400 if n == 300 else 50
    Q = np.linalg.qr(rng.standard_normal((B, B)))[0]
    var = np.r_[[25.0, 9.0, 4.0], np.full(B - 3, 0.01)]
    X = torch.from_numpy((rng.standard_normal((n, B)) * np.sqrt(var)) @ Q.T + 5.0)
    got, vecs = noise.pca(X, 3)
    np.testing.assert_allclose(got, var[:3], rtol=5 * np.sqrt(2 / n) + 0.02)
    cos = np.abs((vecs.numpy() * Q[:, :3]).sum(0))
    assert cos.min() > 0.99


def quadratic_line(curv, loss0):
    curv = torch.as_tensor(curv, dtype=torch.float64)

    def line(t, rows=None):
        c = curv if rows is None else curv[rows]
        t = torch.as_tensor(t, dtype=torch.float64).expand(len(c), -1)
        return loss0 + 0.5 * c[:, None] * t ** 2
    return line


def test_interval_flatness_of_quadratics_has_the_known_width():
    lam, loss0 = np.array([0.02, 0.5, 3.0, 400.0]), 0.3
    res = noise.interval_flatness(quadratic_line(lam, loss0), loss0, [1.5, 2, np.e, 4], cap=100)
    for c, r in res.items():
        width = 2 * np.sqrt(2 * (c - 1) * loss0 / lam)      # 2 sqrt(2 (c - 1) L0 / lambda)
        np.testing.assert_allclose(r["width"], width, rtol=1e-8)
        np.testing.assert_allclose(-r["left"], r["right"], rtol=1e-8)
        assert not r["flagged"].any()


def test_interval_flatness_of_an_asymmetric_loss_and_flags():
    """Right: L0 + a t^2; left: L0 + b |t|^3; a third direction never reaches the level."""
    a, b, loss0, c = 2.0, 0.5, 0.1, 2.0

    def line(t, rows=None):
        rows = [0, 1, 2] if rows is None else list(rows)
        t = torch.as_tensor(t, dtype=torch.float64).expand(len(rows), -1)
        asym = torch.where(t > 0, a * t ** 2, b * t.abs() ** 3)
        flat = 1e-6 * t ** 2                               # reaches 2 L0 only at |t| ~ 316 > cap
        every = torch.stack([asym, 4 * asym, flat])        # each direction's loss above L0
        return loss0 + every[rows, torch.arange(len(rows))]

    r = noise.interval_flatness(line, loss0, [c], cap=100)[c]
    right = np.sqrt((c - 1) * loss0 / np.array([a, 4 * a]))
    left = ((c - 1) * loss0 / np.array([b, 4 * b])) ** (1 / 3)
    np.testing.assert_allclose(r["right"][:2], right, rtol=1e-8)
    np.testing.assert_allclose(-r["left"][:2], left, rtol=1e-8)
    assert list(r["flagged"]) == [False, False, True] and np.isnan(r["width"][2])


def test_interval_flatness_evaluates_only_what_it_needs():
    """A float32 quartic line: each direction is evaluated on the grid only up to its first point
    above the highest level and in regula falsi only until the float32 loss is at the level, and
    the widths are its float64 twin's (every grid point, all iterations) to float32 resolution."""
    curv, loss0, factors = torch.tensor([0.02, 0.5, 3.0, 400.0]), 0.3, [1.5, 2.0, 4.0]
    seen = []

    def line(dtype):
        def f(t, rows=None):
            c = (curv if rows is None else curv[rows]).to(dtype)
            t = torch.as_tensor(t, dtype=dtype).expand(len(c), -1)
            seen.append((dtype, t.abs().max().item(), t.numel()))
            return loss0 + c[:, None] * (t ** 2 + t ** 4)
        return f

    got = noise.interval_flatness(line(torch.float32), loss0, factors, cap=100)
    want = noise.interval_flatness(line(torch.float64), loss0, factors, cap=100)
    for c in factors:
        np.testing.assert_allclose(got[c]["width"], want[c]["width"], rtol=2e-6)
    # the flattest direction reaches 4 L0 at t = 2.5: the grid stops at 3.125 (cap 100 / 2^5)
    assert max(t for dtype, t, _ in seen if dtype == torch.float32) <= 100 / 2 ** 5
    points = {d: sum(n for dtype, _, n in seen if dtype == d) for d in (torch.float32,
                                                                       torch.float64)}
    every = 2 * 18 * 4 + len(factors) * 2 * 10 * 4      # the whole grid, 10 steps per crossing
    assert points[torch.float32] < points[torch.float64] < every


@pytest.mark.parametrize("block,loss,chunk", [("w2", "cross_entropy", 5), ("w2", "mse", 16),
                                              ("w3", "cross_entropy", 3), ("w3", "mse", 40)])
def test_fast_line_loss_matches_the_generic_one(block, loss, chunk):
    """The FNN line loss (hidden or output block, padded or unpadded output layer, one or several
    directions per evaluation, every direction or some) against the block loss evaluated point
    by point."""
    model, params, x, y = fnn_problem([5, 4], loss, "relu", seed=2)
    B = params[block].numel()
    V = torch.linalg.qr(torch.randn(B, 3, dtype=torch.float64))[0]
    t = torch.linspace(-2, 2, 7, dtype=torch.float64)[None]
    fast = noise.line_loss(noise.Problem.of(model, params, x, y, loss, block), V, chunk=chunk)
    f = noise.Problem.of(model, params, x, y, loss, block).loss_fn()
    theta = params[block].reshape(-1)
    ref = torch.stack([torch.stack([f(theta + s * V[:, d]) for s in t[0]]) for d in range(3)])
    torch.testing.assert_close(fast(t), ref)
    per_direction = torch.tensor([[0.3], [-1.1], [0.7]], dtype=torch.float64)
    torch.testing.assert_close(fast(per_direction)[:, 0],
                               torch.stack([f(theta + per_direction[d, 0] * V[:, d])
                                            for d in range(3)]))
    for rows in ([2, 0], [1, 2]):           # gathered, and consecutive (a view)
        torch.testing.assert_close(fast(t.expand(2, -1), rows), ref[rows])


def test_block_all_gradient_covariance_is_the_whole_closed_form_sigma():
    """Every parameter of the two-layer net at once against docs/spec.md §1.4's Sigma (all of it)."""
    g = torch.Generator().manual_seed(0)
    m, d = 3, 2
    model = {"arch": "two_layer", "width": m, "activation": "tanh"}
    params = models.init_params(model, d, 1, g, torch.float64)
    x = torch.randn(5, d, generator=g, dtype=torch.float64)
    y = torch.randn(5, generator=g, dtype=torch.float64)
    K = 40_000
    task = noise.Problem.of(model, params, x, y, "mse", "all")
    grads = noise.mask_gradients(task, 0.6, "per_step", K, np.random.default_rng(2), batch=4000)
    emp = noise.covariance(grads)
    exact = tl.sigma_closed_form(params["a"], params["w"], x, y, 0.6, "per_step")
    # 'all' flattens w (m x d) then a (m); the closed form orders unit by unit: a_r, w_r
    order = [r * (d + 1) + 1 + j for r in range(m) for j in range(d)] + [r * (d + 1) for r in range(m)]
    exact = exact[np.ix_(order, order)]
    se = (exact.diagonal()[:, None] * exact.diagonal()[None, :] + exact ** 2).sqrt() / K ** 0.5
    assert ((emp - exact).abs() / se).max() < 5.5


@pytest.mark.parametrize("block", ["w2", "all"])
def test_the_stage_on_a_tiny_run(block):
    from dropout_sme import data, train

    digits = data.prepare({"source": "digits", "test_fraction": 0.25, "seed": 0})[0]
    model = {"arch": "fnn", "hidden": [6, 5], "activation": "relu"}
    run = dict(experiment="t", setting="p0.8_lr0.1", dataset="digits", model=model,
               loss="cross_entropy", keep_prob=0.8, lr=0.1, mask="per_sample", steps=30,
               batch_size=None, eval_every=10, checkpoints=[0, 10], seeds=[0, 1],
               trajectory={"block": block, "start": 20, "length": 10, "stride": 1},
               dtype="float64", seed_batching="loop", device="cpu", resume_every=100)
    out = train.train(run, digits, progress=False)
    spec = {**{k: run[k] for k in ("experiment", "setting", "keep_prob", "lr", "model", "loss",
                                 "mask")},
            "block": block, "masks": 300, "alignment_masks": 60, "directions": 4,
            "flatness_factor": 2.0, "flatness_factors": [2.0, 4.0], "flatness_cap": 100.0,
            "null_draws": 2, "batch": 32, "seed": 0, "theta_star": 20,
            "reference_masks": 2}
    x = torch.as_tensor(digits["x_train"], dtype=torch.float64)
    y = torch.as_tensor(digits["y_train"])
    res = noise.analyse(spec, x, y, out["checkpoints"], out["trajectory"], log=lambda *_: None,
                        metrics=out["metrics"])
    al, dirs = res["alignment"], res["directions"]
    assert sorted(set(al.step)) == [0, 10, 20, 30] and len(al) == 2 * 4 + 2
    for frame in res.values():                     # the job writes what it belongs to
        assert set(frame.experiment) == {"t"} and set(frame.setting) == {"p0.8_lr0.1"}
    assert al.alpha.between(-1, 1).all() and al.theta_star.sum() == 2
    assert set(dirs.kind) == {"gradient", "trajectory", "trajectory_detrended",
                              "trajectory_fluctuation", "hessian"}
    assert len(dirs[(dirs.kind == "gradient") & (dirs.factor == 4.0)]) == 2 * 4
    assert len(dirs[(dirs.kind == "trajectory_detrended")]) == 2 * 4     # the main factor only
    # the window minus dropout's mean-field path: a fluctuation, smaller than the raw window's
    top = dirs[(dirs.factor == 2.0) & (dirs["index"] == 0)].set_index(["seed", "kind"]).variance
    assert (top.xs("trajectory_fluctuation", level="kind") > 0).all()
    assert (top.xs("trajectory_fluctuation", level="kind")
            < top.xs("trajectory", level="kind")).all()
    diag = res["diagnosis"]
    assert list(diag.seed) == [0, 1] and (diag.window_start == 20).all()
    assert diag.trend_fraction.between(0, 1).all() and diag.pc1_displacement_cos.between(0, 1).all()
    assert (diag.loss_start == out["metrics"].query("step == 20").train_loss.to_numpy()).all()
    assert (diag.grad_norm_block > 0).all()
    assert (dirs.width[~dirs.flagged] > 0).all()
    hess = dirs[dirs.kind == "hessian"]
    assert (np.diff(hess[hess.seed == 0].eigenvalue) <= 0).all()       # descending
    assert set(res["nulls"].null) == {"same_spectra", "centred_wishart"}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_covariance_and_spectrum_match_torch(dtype):
    g = torch.Generator().manual_seed(5)
    X = (torch.randn(500, 40, generator=g, dtype=torch.float64)
         * torch.linspace(0.1, 2, 40, dtype=torch.float64) + 3).to(dtype)
    S = noise.covariance(X)
    torch.testing.assert_close(S, torch.cov(X.T), rtol=1e-5, atol=1e-6)
    assert torch.equal(S, S.T)
    values, vecs = noise.spectrum(S, 4)
    exact, U = torch.linalg.eigh(S.double())
    np.testing.assert_allclose(values, exact.flip(0).numpy(), rtol=1e-4, atol=1e-6)
    cos = (vecs.T @ U.flip(1)[:, :4]).abs().diagonal()
    assert cos.min() > 0.999 and vecs.shape == (40, 4)


def test_keep_sweep_sigma_follows_the_closed_form_at_each_keep_prob():
    """The sweep's Tr Sigma_p and alpha at a fixed theta* against the two-layer closed form."""
    g = torch.Generator().manual_seed(3)
    model = {"arch": "two_layer", "width": 4, "activation": "tanh"}
    params = models.init_params(model, 3, 1, g, torch.float64)
    x = torch.randn(6, 3, generator=g, dtype=torch.float64)
    y = torch.randn(6, generator=g, dtype=torch.float64)
    checkpoints = {"steps": torch.tensor([0, 7]), "seeds": torch.tensor([5]),
                   "params": {k: torch.stack([v, v])[:, None] for k, v in params.items()}}
    spec = {"model": model, "loss": "mse", "mask": "per_step", "block": "a", "masks": 40_000,
            "theta_star": 7, "seeds": [5], "directions": 3, "flatness_factor": 2.0,
            "flatness_cap": 100.0, "batch": 4000, "seed": 0, "lr": 0.1}
    H = hessian.block_hessian(noise.Problem.of(model, params, x, y, "mse", "a"))
    for p in (0.1, 0.5, 0.9):
        out = noise.theta_star_noise({**spec, "keep_prob": p}, x, y, checkpoints, log=lambda *_: None)
        exact = tl.sigma_closed_form(params["a"], params["w"], x, y, p, "per_step")[0::4, 0::4]
        trace = float(exact.trace())
        se = float((2 * (exact ** 2).sum()) ** 0.5) / 40_000 ** 0.5     # sd of the trace estimate
        assert out.trace_s.iloc[0] == pytest.approx(trace, abs=5 * se)
        assert out.alpha.iloc[0] == pytest.approx(noise.alignment(H, exact), abs=0.02)
        assert len(out) == 3 and (out.keep_prob == p).all() and out.width.gt(0).all()


def test_sketched_pca_recovers_a_known_covariance_from_streamed_samples():
    g = torch.Generator().manual_seed(4)
    B, K = 60, 20_000
    basis = torch.linalg.qr(torch.randn(B, B, generator=g, dtype=torch.float64)).Q
    sd = 2.0 ** -torch.arange(B, dtype=torch.float64) ** 0.7            # decaying spectrum
    X = (torch.randn(K, B, generator=g, dtype=torch.float64) * sd) @ basis.T + 3.0
    U = basis[:, [0, 5]]

    def batches():
        return iter(X.split(1000))

    sk = noise.sketched_pca(batches, B, 5, extra=U)
    S = noise.covariance(X)
    exact, vecs = torch.linalg.eigh(S)
    np.testing.assert_allclose(sk["variances"], exact.flip(0)[:5].numpy(), rtol=1e-6)
    overlap = (sk["directions"].T @ vecs.flip(1)[:, :5]).abs().diagonal()
    assert overlap.min() > 0.999
    np.testing.assert_allclose(sk["extra_var"], (U.T @ S @ U).diagonal().numpy(), rtol=1e-10)
    assert sk["trace"] == pytest.approx(float(S.trace()), rel=1e-10) and sk["count"] == K
    lam, Uh = np.array([2.0, 0.5]), U.numpy()
    st = noise.low_rank_stats(lam, Uh, X)
    Hk = torch.as_tensor(Uh @ np.diag(lam) @ Uh.T)
    assert st["tr_hs"] == pytest.approx(float((Hk * S).sum()), rel=1e-10)
    assert st["fro_s"] == pytest.approx(float(S.norm()), rel=1e-10)
    assert st["fro_h"] == pytest.approx(float(Hk.norm()), rel=1e-12)


def test_lanczos_stage_agrees_with_the_full_stage():
    """hessian: lanczos (no B x B matrix) against the dense stage on the same tiny run: with as
    many directions as the block has parameters the two must agree."""
    from dropout_sme import data, train

    digits = data.prepare({"source": "digits", "test_fraction": 0.25, "seed": 0})[0]
    digits = {k: v[:300] if k.startswith(("x_", "y_")) else v for k, v in digits.items()}
    model = {"arch": "fnn", "hidden": [6, 5], "activation": "tanh"}
    run = dict(experiment="t", setting="p0.8_lr0.1", dataset="digits", model=model,
               loss="cross_entropy", keep_prob=0.8, lr=0.1, mask="per_sample", steps=30,
               batch_size=None, eval_every=10, checkpoints=[], seeds=[0],
               trajectory={"block": "w2", "start": 20, "length": 10, "stride": 1},
               dtype="float64", seed_batching="loop", device="cpu", resume_every=100)
    out = train.train(run, digits, progress=False)
    spec = {**{k: run[k] for k in ("experiment", "setting", "keep_prob", "lr", "model", "loss",
                                 "mask")},
            "block": "w2", "masks": 2048, "alignment_masks": 512, "directions": 29,
            "flatness_factor": 2.0, "flatness_factors": [2.0], "flatness_cap": 100.0,
            "null_draws": 2, "batch": 64, "seed": 0, "theta_star": 20,
            "reference_masks": 2}
    x = torch.as_tensor(digits["x_train"], dtype=torch.float64)
    y = torch.as_tensor(digits["y_train"])
    quiet = lambda *_: None                                    # noqa: E731
    full = noise.analyse(spec, x, y, out["checkpoints"], out["trajectory"], log=quiet)
    low = noise.analyse({**spec, "hessian": "lanczos"}, x, y, out["checkpoints"],
                        out["trajectory"], log=quiet)
    a, b = full["alignment"], low["alignment"]
    # top-29 of a 30-parameter block: alpha differs only by the 30th Hessian direction
    np.testing.assert_allclose(b.alpha_debiased, a.alpha_debiased, rtol=0.05, atol=0.01)
    star_a, star_b = a[a.theta_star].iloc[0], b[b.theta_star].iloc[0]
    assert star_b.trace_s == pytest.approx(star_a.trace_s, rel=1e-9)
    assert star_b.alpha == pytest.approx(star_a.alpha, rel=0.05)
    da, db = full["directions"], low["directions"]
    for kind in ("gradient", "hessian"):
        va = da[da.kind == kind].set_index("index")
        vb = db[db.kind == kind].set_index("index")
        top = range(10)
        np.testing.assert_allclose(vb.variance[top], va.variance[top], rtol=1e-3)
        np.testing.assert_allclose(vb.width[top], va.width[top], rtol=1e-3)
    assert low["nulls"].empty and set(b.hessian) == {"lanczos top-29"}


@pytest.mark.parametrize("block,loss", [("w2", "cross_entropy"), ("w3", "cross_entropy"),
                                        ("w2", "mse")])
def test_fnn_without_biases_fast_paths_match_autograd(block, loss):
    """model.bias: false (Feng & Tu's FNN): no b_i at all; the kernel's mask gradients, line loss
    and closed-form Hessian against autograd on the generic functions."""
    g = torch.Generator().manual_seed(4)
    model = {"arch": "fnn", "hidden": [5, 4], "activation": "relu", "bias": False}
    params = models.init_params(model, 3, 2, g, torch.float64)
    assert sorted(params) == ["w1", "w2", "w3"]
    x = torch.randn(7, 3, generator=g, dtype=torch.float64)
    y = (torch.randint(0, 2, (7,), generator=g) if loss == "cross_entropy"
         else torch.randn(7, 2, generator=g, dtype=torch.float64))
    task = noise.Problem.of(model, params, x, y, loss, block)
    fast = noise.mask_gradients(task, 0.7, "per_sample", 20, np.random.default_rng(3), batch=8)
    slow = noise.vmapped_gradients(task, 0.7)
    rng = np.random.default_rng(3)
    ref = torch.cat([slow([noise.bernoulli((size, 7, w), 0.7, rng).double() for w in (5, 4)])
                     for size in (8, 8, 4)])
    torch.testing.assert_close(fast, ref, rtol=1e-9, atol=1e-12)
    V = torch.linalg.qr(torch.randn(params[block].numel(), 2, dtype=torch.float64))[0]
    t = torch.linspace(-1, 1, 5, dtype=torch.float64)[None]
    f = task.loss_fn()
    expected = torch.stack([torch.stack([f(task.theta + s * V[:, d]) for s in t[0]])
                            for d in range(2)])
    torch.testing.assert_close(noise.line_loss(task, V)(t), expected)
    torch.testing.assert_close(noise.line_loss(task, V)(t, [1]), expected[[1]])
    auto = hessian.full_hessian(f, task.theta)
    torch.testing.assert_close(hessian.block_hessian(task), auto, rtol=1e-8, atol=1e-10)
