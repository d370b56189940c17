r"""Simulators of dropout GD and of its stochastic modified equations, vectorised over paths.
(A little over 300 lines: the five methods share one chunked loop and one recorder, kept together.)

All methods start every path from the same theta_0 and record test functions g(theta) at the times
t = 0, record_every, 2 record_every, ..., horizon (t = N lr for dropout's N-th step):

- ``dropout``: theta_{N+1} = theta_N - lr grad R^drop(theta_N; eta_N), independent masks per path;
- ``sme1``: Euler-Maruyama for dTheta = -grad L_S dt + sqrt(lr) Sigma^{1/2} dW at step h = lr/k;
- ``sme2``: the same with drift -grad(L_S + (lr/4) |grad L_S|^2) = -(grad L_S + (lr/2) H grad L_S);
- ``svag`` with its l: SVAG (Li, Malladi, Arora 2021): step lr/l with c1 grad R^drop(eta1) +
  c2 grad R^drop(eta2), c_{1,2} = (1 +- sqrt(2l - 1))/2 (mean grad L_S, covariance l Sigma);
- ``gf``: gradient flow on L_S (drift only), the noise-free reference of the order-1 SME;
- ``gf2``: the order-2 SME's drift without its diffusion, the noise-free reference of the
  order-2 SME (the two flows show whether, and where, the diffusion term matters).

The SME noise N(0, Sigma(Theta)) is drawn through the exact factor of ``twolayer`` (no Sigma is
formed), per path. With ``extrapolate`` (default) the SMEs and the flow are integrated at steps h
and h/2 driven by the same Brownian path and combined as 2 g_{h/2} - g_h (Talay-Tubaro), which
removes the integrator's O(h) weak error: without it Euler-Maruyama's own error, O(lr/k), would hide
the O(lr^2) accuracy of the order-2 SME.

Paths run in chunks (memory, progress); chunk c of a method draws from its own named stream,
``rng`` purpose ``sme_<method>`` keyed by (seed, l, lr, keep_prob, chunk) (l: SVAG's l, else 0)
(``streams``), so results do not
depend on the order in which chunks run. What is kept is, per batch of paths, the mean of each g
at each time ("batch means": means, standard errors and bootstrap intervals over paths all
follow from them), and the batch's fluctuations, the variance over its paths of R_S and
E|theta - E theta|^2 (``fluctuations``: the test functions that see the diffusion, which any
deterministic flow gets wrong at order lr^0).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .. import rng
from ..models import sample_masks
from . import control
from . import twolayer as tl

# A path has diverged when a test function is not finite or exceeds BLOWUP * (1 + |g(theta_0)|).
# A method stops at the first record where one of its paths has: E g does not exist there.
BLOWUP = 1e6
FLOWS = ("gf", "gf2")      # deterministic: one path says it all


class Problem:
    """Data, initial parameters and dropout setting of one simulation (all on one device)."""

    def __init__(self, data: dict, a0, w0, keep_prob: float, mask: str = "per_step",
                 activation: str = "tanh", dtype=torch.float64, device="cpu"):
        t = lambda v: torch.as_tensor(np.asarray(v), dtype=dtype, device=device)  # noqa: E731
        # x column-major (a transposed view of its (d, n) copy): the gradients' products
        # (paths, m, n) @ x run about twice as fast on it (BLAS), 5-10% of a simulation
        self.x, self.y = t(data["x_train"]).T.contiguous().T, t(data["y_train"])
        self.x_test, self.y_test = t(data["x_test"]), t(data["y_test"])
        self.a0, self.w0 = t(a0), t(w0)
        self.p, self.mask, self.act = float(keep_prob), mask, activation
        self.dtype, self.device = dtype, torch.device(device)
        self.m, self.d = self.w0.shape
        self.n = self.x.shape[0]

    def net(self, a, w):
        return tl.Net(a, w, self.x, self.y, self.act)

    def output(self, a, w, x):
        """The net's output f(x_i) for inputs x (n, d): (..., n)."""
        return tl.output(a, w, x, self.act)

    def test_functions(self, a, w) -> torch.Tensor:
        """(paths, 3): R_S, |theta|^2, test loss (each R = 1/(2n) sum (f - y)^2)."""
        def loss(x, y):
            return 0.5 * ((self.output(a, w, x) - y) ** 2).mean(-1)

        sq = (a * a).sum(-1) + (w * w).sum((-1, -2))
        return torch.stack([loss(self.x, self.y), sq, loss(self.x_test, self.y_test)], dim=-1)

    def masks(self, paths: int, gen):
        model = {"arch": "two_layer", "width": self.m}
        return sample_masks(model, self.p, self.mask, self.n, gen, self.dtype, self.device,
                            batch=(paths,))[0]

    def method_grad(self, a, w, masks, coefs, net=None):
        """sum_j c_j grad R^drop(theta; eta_j): dropout GD (one mask, c = 1) or SVAG (two masks,
        ``svag_coefficients``: mean grad L_S, covariance l Sigma). ``net``: self.net(a, w) if
        the caller has it."""
        net = net or self.net(a, w)
        grads = [net.dropout_grad(mask, self.mask) for mask in masks]
        return (sum(c * g[0] for c, g in zip(coefs, grads)),
                sum(c * g[1] for c, g in zip(coefs, grads)))

    def normals(self, paths: int, gen):
        return tl.sample_normals(self.p, self.mask, (paths,), self.m, self.n, gen, self.dtype,
                                 self.device)

    def em_step(self, a, w, dt: float, lr: float, order: int, normals=None, net=None,
                noise=None):
        """One Euler-Maruyama step of the SME (normals=None: of the flow):
        Theta <- Theta - dt (grad L_S + (lr/2) H grad L_S [order 2]) + sqrt(lr dt) N(0, Sigma).
        ``net``: self.net(a, w), ``noise``: ``increment(net, dt, lr, normals)``, if the caller
        has them."""
        net = net or self.net(a, w)
        da, dw = self.drift(net, dt, lr, order)
        if noise is None and normals is not None:
            noise = self.increment(net, dt, lr, normals)
        if noise is not None:
            da, dw = da + noise[0], dw + noise[1]
        return a + da, w + dw

    def drift(self, net, dt: float, lr: float, order: int):
        """-dt times the SME's drift at ``net``: grad L_S, and for order 2 + (lr/2) H grad L_S
        (= grad (lr/4)|grad L_S|^2)."""
        u = net.modified_residual(self.p)
        ga, gw = net.J(u)
        if order == 2:
            ha, hw = net.hvp_modified_loss(self.p, ga, gw, u)
            return -dt * torch.add(ga, ha, alpha=0.5 * lr), -dt * torch.add(gw, hw, alpha=0.5 * lr)
        return -dt * ga, -dt * gw

    def increment(self, net, dt: float, lr: float, normals):
        """The step's Gaussian increment sqrt(lr dt) N(0, Sigma) from ``normals``."""
        kappa = math.sqrt(lr * dt)
        na, nw = net.gaussian_noise(self.p, *normals, self.mask)
        return kappa * na, kappa * nw


def svag_coefficients(l: int) -> tuple[float, float]:
    """SVAG's c1, c2 = (1 +- sqrt(2l - 1))/2: c1 grad R^drop(eta1) + c2 grad R^drop(eta2) has mean
    grad L_S and covariance l Sigma."""
    root = math.sqrt(2 * l - 1)
    return (1 + root) / 2, (1 - root) / 2


def chunk_stream(seed: int, method: str, variant: int, lr: float, keep_prob: float,
                 chunk: int) -> dict:
    """The named stream (``rng`` purpose and fields) of one chunk of paths of one method."""
    return {"purpose": f"sme_{method}", "seed": seed, "variant": variant, "lr": lr,
            "keep_prob": keep_prob, "chunk": chunk}


def streams(spec: dict) -> list[dict]:
    """Every stream one E1 cell (``sme_spec``) draws: theta_0's and each chunk of each method."""
    out = [{"purpose": "init", "seed": spec["init_seed"]}]
    chunks = math.ceil(spec["paths"] / spec["chunk"])
    for method in ("dropout", "gf", *spec["methods"]):
        variants = spec["svag_l"] if method == "svag" else [0]
        for variant in variants:
            out += [chunk_stream(spec["seed"], method, variant, spec["lr"], spec["keep_prob"], c)
                    for c in range(1 if method in FLOWS else chunks)]
    return out


def _steps(total: float, step: float, what: str) -> int:
    k = round(total / step)
    if k < 1 or abs(k * step - total) > 1e-9 * max(1.0, total):
        raise ValueError(f"{what}: {total:g} is not a whole multiple of {step:g}")
    return k


def run_chunk(prob: Problem, method: str, lr: float, horizon: float, record_every: float,
              paths: int, gen, substeps: int = 4, svag_l: int = 2, extrapolate: bool = True,
              control_variate: bool = False, raw: bool = False) -> torch.Tensor:
    """Simulate ``paths`` paths; returns g at each record time, (records, paths, 3), and with
    ``control_variate`` (noisy methods) g - grad g(xbar) . Y beside it, (records, paths, 6)
    (``control``). The run stops at the first record where a path has blown up (fewer records
    are then returned). With ``raw`` the parameters (a, w flattened) follow the test functions
    in the last dimension and the step sizes are not mixed: (levels, records, paths, columns),
    combined with ``LEVEL_WEIGHTS[levels]`` (a nonlinear statistic of the paths, such as their
    variance, is extrapolated after it is formed, not path by path)."""
    n_rec = _steps(horizon, record_every, "horizon / record_every")
    per_rec = _steps(record_every, lr, "record_every / lr")   # dropout steps between records
    a = prob.a0.expand(paths, -1).clone()
    w = prob.w0.expand(paths, -1, -1).clone()
    tangent = control.start(prob, paths) if control_variate and method not in FLOWS else None

    def record(state):
        g = prob.test_functions(state[0], state[1])
        cols = [g] if state[2] is None else [g, g - control.value(prob, state[2])]
        if raw:
            cols += [state[0], state[1].flatten(-2)]
        return torch.cat(cols, -1)

    if method in ("dropout", "svag"):
        l = svag_l if method == "svag" else 1
        coefs = svag_coefficients(l) if method == "svag" else (1.0,)
        out = [record((a, w, tangent))]
        for _ in range(n_rec):
            for _ in range(per_rec * l):
                masks = [prob.masks(paths, gen) for _ in coefs]
                net = prob.net(a, w)
                ga, gw = prob.method_grad(a, w, masks, coefs, net)
                if tangent is not None:   # the step's noise: -(lr/l) (g - grad L_S(theta))
                    la, lw = net.grad_modified_loss(prob.p)
                    tangent = control.step(prob, tangent, lr / l, lr, 1,
                                           ((lr / l) * (la - ga), (lr / l) * (lw - gw)))
                a, w = a - (lr / l) * ga, w - (lr / l) * gw
            out.append(record((a, w, tangent)))
            if blown_up(out[-1], out[0]).any():
                break
        return torch.stack(out)[None] if raw else torch.stack(out)

    if method not in ("sme1", "sme2", *FLOWS):
        raise ValueError(f"unknown method {method!r}; allowed: dropout, sme1, sme2, svag, gf, "
                         f"gf2")
    order = 2 if method in ("sme2", "gf2") else 1

    def step(state, dt, normals):
        a, w, tan = state
        net = prob.net(a, w)
        # the path's Gaussian increment, formed once: it moves the path and drives its tangent
        noise = prob.increment(net, dt, lr, normals) if normals is not None else None
        if tan is not None:
            tan = control.step(prob, tan, dt, lr, order, noise)
        return (*prob.em_step(a, w, dt, lr, order, net=net, noise=noise), tan)

    return euler_maruyama(
        step, None if method in FLOWS else (lambda: prob.normals(paths, gen)),
        (a, w, tangent), lr / substeps, n_rec, per_rec * substeps, record, extrapolate,
        stop=lambda g, g0: bool(blown_up(g, g0).any()), mix=not raw)


def blown_up(g, g0):
    """Paths whose test functions are not finite or beyond BLOWUP * (1 + |g(theta_0)|)."""
    return (~torch.isfinite(g) | (g.abs() > BLOWUP * (1 + g0.abs()))).any(-1)


def _pad(vals: torch.Tensor, n_rec: int) -> torch.Tensor:
    """Records (levels, reached, ...) -> (levels, n_rec + 1, ...), NaN for those a stopped run
    never reached."""
    missing = n_rec + 1 - vals.shape[1]
    return torch.cat([vals, vals.new_full((vals.shape[0], missing, *vals.shape[2:]),
                                          float("nan"))], 1)


# How the levels of a raw run combine: one step size as it is; the Talay-Tubaro extrapolation
# 2 (step h/2) - (step h) of the fine and the coarse level.
LEVEL_WEIGHTS = {1: (1.0,), 2: (2.0, -1.0)}


def euler_maruyama(step, normals, state, h: float, n_rec: int, per_rec: int, record,
                   extrapolate: bool = True, stop=None, mix: bool = True) -> torch.Tensor:
    """Integrate an SDE with Euler-Maruyama steps of size h; record(state) every per_rec steps.

    ``step(state, dt, normals)`` makes one step of length dt driven by ``normals`` (a tuple of
    tensors scaled so that dt and the normals give the increment; None for an ODE);
    ``normals()`` draws them (None: no noise). With ``extrapolate`` a second path at step h/2
    driven by the same Brownian path (two fine increments sum to the coarse one) is run beside it
    and 2 record(fine) - record(coarse) is returned: the Talay-Tubaro extrapolation, weak error
    O(h^2) instead of O(h). Returns (n_rec + 1, ...) stacked records; ``stop(record, first)``
    ends the run early, and only the records reached are returned. ``mix=False``: the levels
    unmixed, (levels, n_rec + 1, ...), fine first (``LEVEL_WEIGHTS``).
    """
    coarse, fine = state, state
    rec_c, rec_f = [record(state)], [record(state)]
    for _ in range(n_rec):
        for _ in range(per_rec):
            n1 = normals() if normals else None
            if extrapolate:
                n2 = normals() if normals else None
                fine = step(step(fine, h / 2, n1), h / 2, n2)
                if normals:
                    n1 = tuple((u + v) / math.sqrt(2) for u, v in zip(n1, n2))
            coarse = step(coarse, h, n1)
        rec_c.append(record(coarse))
        if extrapolate:
            rec_f.append(record(fine))
        if stop and any(stop(r[-1], r[0]) for r in ((rec_c, rec_f) if extrapolate else (rec_c,))):
            break
    out = torch.stack(rec_c)
    if not mix:
        return torch.stack([torch.stack(rec_f), out]) if extrapolate else out[None]
    return 2 * torch.stack(rec_f) - out if extrapolate else out


def fluctuations(levels: torch.Tensor, flow: bool) -> np.ndarray:
    """(records, 2): the unbiased variance over paths of R_S and the trace of the covariance of
    theta (E|theta - E theta|^2), each formed per level and combined with ``LEVEL_WEIGHTS``.
    ``levels``: (levels, records, paths, 1 + P), R_S first. A deterministic flow has none."""
    if flow:
        return np.zeros((levels.shape[1], 2))
    var = levels.double().var(2)                                   # (levels, records, 1 + P)
    stats = torch.stack([var[..., 0], var[..., 1:].sum(-1)], -1)
    weights = torch.tensor(LEVEL_WEIGHTS[levels.shape[0]], dtype=stats.dtype)
    return torch.einsum("l,lrk->rk", weights, stats).numpy()


def simulate(prob: Problem, method: str, lr: float, horizon: float, record_every: float,
             n_paths: int, chunk: int, seed: int, substeps: int = 4, svag_l: int = 2,
             extrapolate: bool = True, batch: int | None = None, progress=None,
             control_variate: bool = False) -> dict:
    """All chunks of one method. Returns the record times and "batch means": the mean of each g
    over consecutive groups of ``batch`` paths (default: one group per chunk),
    (groups, records, 3), with the group sizes and the number of diverged paths of each group
    (see BLOWUP); a group with a diverged path has NaN means, since E g is then undefined, and
    the method stops at the end of the chunk where that happened (so the count is a minimum).
    With ``control_variate`` the batch means are those of g - grad g(xbar) . Y (``control``) and
    the plain means of g are returned beside them as "uncorrected_means". "batch_fluct"
    (groups, records, 2): each group's ``fluctuations`` (plain paths, no control variate), the
    variance of R_S and E|theta - E theta|^2 within the group, unbiased, so that their mean and
    standard error over groups follow as those of the means do."""
    flow = method in FLOWS
    if flow:
        n_paths, chunk, batch = 1, 1, 1
    batch = batch or chunk
    if chunk % batch:
        raise ValueError(f"chunk ({chunk}) must be a multiple of batch ({batch})")
    if batch < 2 and not flow:
        raise ValueError(f"batch must hold at least 2 paths (a variance within it), got {batch}")
    n_rec = _steps(horizon, record_every, "horizon / record_every")
    means, fluct, sizes, diverged = [], [], [], []
    for c in range(math.ceil(n_paths / chunk)):
        size = min(chunk, n_paths - c * chunk)
        gen = rng.torch_stream(device=prob.device, **chunk_stream(
            seed, method, svag_l if method == "svag" else 0, lr, prob.p, c))
        with torch.no_grad():
            levels = run_chunk(prob, method, lr, horizon, record_every, size, gen, substeps,
                               svag_l, extrapolate, control_variate, raw=True)
        n_g = 6 if control_variate and not flow else 3
        bad = torch.stack([blown_up(v, v[0]) for v in levels]).any(0).any(0)   # (size,)
        levels = _pad(levels, n_rec)
        weights = LEVEL_WEIGHTS[levels.shape[0]]
        vals = sum(wt * v[..., :n_g] for wt, v in zip(weights, levels))  # (records, size, n_g)
        spread = torch.cat([levels[..., :1], levels[..., n_g:]], -1)     # plain R_S, theta
        for start in range(0, size, batch):
            part = vals[:, start:start + batch]
            n_bad = int(bad[start:start + batch].sum())
            mean = part.mean(1).cpu().numpy()
            var = fluctuations(spread[:, :, start:start + batch].cpu(), flow)
            means.append(np.full_like(mean, np.nan) if n_bad else mean)
            fluct.append(np.full_like(var, np.nan) if n_bad else var)
            sizes.append(part.shape[1])
            diverged.append(n_bad)
        if progress is not None:
            progress(size)
        if bad.any():  # E g does not exist: no point simulating the other chunks
            break
    times = np.arange(len(means[0])) * record_every
    means = np.stack(means)
    out = {"times": times, "batch_means": means[..., -3:], "batch_sizes": np.asarray(sizes),
           "batch_diverged": np.asarray(diverged), "batch_fluct": np.stack(fluct)}
    if means.shape[-1] == 6:
        out["uncorrected_means"] = means[..., :3]
    return out
