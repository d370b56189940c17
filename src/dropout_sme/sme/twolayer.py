r"""Dropout noise of the theory's two-layer net f(x) = sum_r a_r sigma(w_r . x), in closed form.

Notation of docs/spec.md §1.4: p = keep probability, s = (1-p)/p, xi_r = eta_r - 1;
l_{r,i} = a_r sigma(w_r.x_i), e_i = f(x_i) - y_i (dropout-free residual),
g_{r,i} = grad_{(a_r, w_r)} l_{r,i} = (sigma(w_r.x_i), a_r sigma'(w_r.x_i) x_i).
Parameters are flattened unit by unit: theta = (a_1, w_1, a_2, w_2, ...), P = m (d + 1).

Every gradient-like quantity here is J[W] = (1/n) sum_i W_{r,i} g_{r,i} for some weights W (one
block per unit r): the dropout gradient (W = (e_i + sum_a xi_a l_{a,i}) (1 + xi_r)), the gradient
of the modified loss (W = e_i + s l_{r,i}) and the Gaussian SME noise (below). All functions accept
leading batch dimensions (paths) on a (..., m) and w (..., m, d); float64 is advised.

Gaussian noise with covariance Sigma without forming Sigma. A two-point xi satisfies
xi^2 = c xi + s with c = 1/p - 2, so the centred dropout gradient is J[W] with
    W_{r,i} = (e_i + c l_{r,i}) xi_r + sum_a l_{a,i} xi_a + sum_{a != r} l_{a,i} xi_r xi_a,
a linear map of the variables xi_a (variance s) and xi_r xi_a, r < a (variance s^2), which are
pairwise uncorrelated. Replacing them by independent normals zeta_a ~ N(0, s) and
Z_{ra} = Z_{ar} ~ N(0, s^2) gives a Gaussian vector with exactly the covariance Sigma: an exact
square-root factor of Sigma at the cost of about one gradient (``gaussian_noise``; the explicit
factor is ``noise_factor``, checked against ``sigma_closed_form`` in the tests).
For per-sample masks every example has its own xi, zeta and Z.
"""

from __future__ import annotations

import itertools
from functools import cached_property

import torch

from ..architectures import MASK_MODES
from ..models.activations import ACTIVATIONS, DERIVATIVES


def activation(name: str):
    """(sigma, sigma', sigma'') of the smooth activations of the theory (and relu, where it fails),
    the derivatives from ``models.activations``. tanh is computed as 2 sigmoid(2z) - 1 (equal to
    rounding, and faster than torch.tanh on the CPU)."""
    if name not in DERIVATIVES:
        raise ValueError(f"unknown activation {name!r}; allowed: {', '.join(DERIVATIVES)}")
    sigma = (lambda z: 2 * torch.sigmoid(2 * z) - 1) if name == "tanh" else ACTIVATIONS[name]
    return (sigma, *DERIVATIVES[name])


def output(a, w, x, act: str = "tanh"):
    """f(x_i) = sum_r a_r sigma(w_r . x_i) for a (..., m), w (..., m, d), x (n, d): (..., n).
    tanh as 2a sigmoid(2z) - a, the factors 2 on the small tensors (faster on many paths)."""
    if act == "tanh":
        h = torch.sigmoid_((2 * w) @ x.T)
        return ((2 * a)[..., None, :] @ h).squeeze(-2) - a.sum(-1, keepdim=True)
    return (a[..., None, :] @ activation(act)[0](w @ x.T)).squeeze(-2)


def moments(p: float) -> dict:
    """Moments of xi = eta - 1: s = E xi^2, kappa3 = E xi^3, mu4 = E xi^4, c with xi^2 = c xi + s."""
    s = (1 - p) / p
    return {"s": s, "kappa3": s * (1 - 2 * p) / p, "mu4": (1 - p) ** 4 / p ** 3 + (1 - p),
            "c": 1 / p - 2}


class Net:
    """The quantities of one evaluation at parameters (a, w): features, residuals and J."""

    def __init__(self, a, w, x, y, act: str = "tanh"):
        sigma, dsigma, self._d2sigma = activation(act)
        self.a, self.w, self.x, self.y = a, w, x, y
        self.n = x.shape[0]
        self.z = z = w @ x.T                       # (..., m, n)
        self.h = sigma(z)
        self.dh = dsigma(z, self.h)
        self.ell = a[..., None] * self.h           # l_{r,i}
        self.e = self.ell.sum(-2) - y              # e_i, (..., n)

    @cached_property
    def adh(self):
        """a_r sigma'(w_r . x_i), (..., m, n): the factor of x_i in g_{r,i}."""
        return self.a[..., None] * self.dh

    def J(self, W):
        """(1/n) sum_i W_{r,i} g_{r,i}, returned as (grad_a (..., m), grad_w (..., m, d))."""
        ga = (W * self.h).sum(-1) / self.n
        gw = ((W * self.adh) @ self.x) / self.n
        return ga, gw

    def loss(self):
        """R_S = 1/(2n) sum_i e_i^2."""
        return 0.5 * (self.e ** 2).mean(-1)

    def modified_loss(self, p: float):
        """L_S = R_S + s/(2n) sum_i sum_r l_{r,i}^2 (= E_eta R^drop for both mask conventions)."""
        s = (1 - p) / p
        return self.loss() + 0.5 * s * (self.ell ** 2).sum(-2).mean(-1)

    def modified_residual(self, p: float):
        """u_{r,i} = e_i + s l_{r,i}: grad L_S = J[u]."""
        return torch.add(self.e[..., None, :], self.ell, alpha=(1 - p) / p)

    def grad_modified_loss(self, p: float):
        return self.J(self.modified_residual(p))

    def hvp_modified_loss(self, p: float, va, vw, u=None):
        """Hessian of L_S times the direction (va (..., m), vw (..., m, d)), in closed form
        (``u``: ``modified_residual(p)`` if the caller has it).

        With u_{r,i} = e_i + s l_{r,i} and dz_{r,i} = vw_r . x_i, the directional derivative of
        grad_a L_S = (1/n) sum_i u sigma and grad_w L_S = (1/n) sum_i u a sigma' x_i:
        d grad_a = (1/n) sum_i (du sigma + u sigma' dz),
        d grad_w = (1/n) sum_i (du a sigma' + u sigma' va + u a sigma'' dz) x_i.
        """
        s = (1 - p) / p
        dz = vw @ self.x.T                                           # (..., m, n)
        dell = torch.addcmul(va[..., None] * self.h, self.adh, dz)
        du = torch.add(dell.sum(-2, keepdim=True), dell, alpha=s)    # d u_{r,i}
        u = self.modified_residual(p) if u is None else u
        udh = u * self.dh
        ha = torch.addcmul(du * self.h, udh, dz).sum(-1) / self.n
        curv = self.a[..., None] * self._d2sigma(self.z, self.h) * u
        coef = torch.addcmul(torch.addcmul(du * self.adh, udh, va[..., None]), curv, dz)
        return ha, (coef @ self.x) / self.n

    def dropout_loss(self, eta, mode: str = "per_step"):
        """R^drop(theta; eta): eta (..., m) per step or (..., n, m) per sample."""
        return 0.5 * (self._dropout_residual(eta, mode) ** 2).mean(-1)

    def dropout_grad(self, eta, mode: str = "per_step"):
        res = self._dropout_residual(eta, mode)           # (..., n)
        return self.J(res[..., None, :] * _unit_major(eta, mode))

    def _dropout_residual(self, eta, mode):
        return (_unit_major(eta, mode) * self.ell).sum(-2) - self.y

    def noise_weights(self, p: float, zeta, Z, mode: str = "per_step"):
        """W of the Gaussian surrogate (see the module doc). per_step: zeta (..., m), Z (..., m, m)
        symmetric with zero diagonal; per_sample: zeta (..., n, m), Z (..., n, m, m)."""
        c = 1 / p - 2
        zt = _unit_major(zeta, mode)                        # (..., m, 1) or (..., m, n)
        lin = (self.e[..., None, :] + c * self.ell) * zt
        shared = (zt * self.ell).sum(-2, keepdim=True)
        if mode == "per_step":
            pair = Z @ self.ell
        else:
            pair = torch.einsum("...nra,...an->...rn", Z, self.ell)
        return lin + shared + pair

    def gaussian_noise(self, p: float, zeta, Z, mode: str = "per_step"):
        """A draw of N(0, Sigma(theta)) from zeta, Z of ``sample_normals`` (see noise_weights)."""
        return self.J(self.noise_weights(p, zeta, Z, mode))


def _unit_major(eta, mode):
    """Mask-like tensor as (..., m, 1) (per step) or (..., m, n) (per sample, given (..., n, m))."""
    if mode == "per_step":
        return eta[..., :, None]
    if mode == "per_sample":
        return eta.transpose(-1, -2)
    raise ValueError(f"mask must be one of {MASK_MODES}, got {mode!r}")


def flatten(ga, gw):
    """(grad_a (..., m), grad_w (..., m, d)) -> (..., m (d + 1)), unit by unit."""
    return torch.cat([ga[..., None], gw], dim=-1).flatten(-2)


def sample_normals(p: float, mode: str, shape, m: int, n: int, generator, dtype, device="cpu"):
    """zeta ~ N(0, s), Z symmetric with N(0, s^2) off the diagonal, for `gaussian_noise`."""
    s = (1 - p) / p
    lead = (*shape, n) if mode == "per_sample" else tuple(shape)
    zeta = torch.randn(*lead, m, generator=generator, dtype=dtype, device=device) * s ** 0.5
    upper = torch.randn(*lead, m, m, generator=generator, dtype=dtype, device=device).triu(1) * s
    return zeta, upper + upper.transpose(-1, -2)


# ------------------------------------------------------------------ Sigma three ways (one theta)
def sigma_closed_form(a, w, x, y, p: float, mode: str = "per_step", act: str = "tanh"):
    """Sigma(theta) = Cov_eta[grad R^drop] from the closed form of docs/spec.md §1.4, (P, P)."""
    net = Net(a, w, x, y, act)
    mom = moments(p)
    s, k3, mu4 = mom["s"], mom["kappa3"], mom["mu4"]
    n, m = net.n, a.shape[-1]
    ell, e = net.ell, net.e                                     # (m, n), (n,)
    g = torch.cat([net.h[..., None], (a[:, None] * net.dh)[..., None] * x], dim=-1)  # (m, n, d+1)
    if mode == "per_step":
        G = ell.T @ ell                                          # G_ij
        # C^{rk}_{ij}, all (r, k, i, j) at once
        C = (s * G[None, None]
             + s * ell[None, :, :, None] * e[None, None, None, :]
             + s * e[None, None, :, None] * ell[:, None, None, :]
             + k3 * (ell[None, :, :, None] * ell[None, :, None, :]
                     + ell[:, None, :, None] * ell[:, None, None, :]))
        off = s * s * ell[None, :, :, None] * ell[:, None, None, :]
        diag = (s * e[:, None] * e[None, :]
                + k3 * (e[:, None] * ell[:, None, :] + e[None, :] * ell[:, :, None])
                + (mu4 - 2 * s * s) * ell[:, :, None] * ell[:, None, :] + s * s * G[None])
        eye = torch.eye(m, dtype=a.dtype, device=a.device)
        C = C + (1 - eye)[:, :, None, None] * off + eye[:, :, None, None] * diag[:, None]
        sigma = torch.einsum("rkij,ria,kjb->rakb", C, g, g) / n ** 2
    elif mode == "per_sample":
        # independent masks per example: only the i = j terms of the same formula survive
        Gd = (ell * ell).sum(0)                                  # G_ii
        C = (s * Gd[None, None] + s * ell[None, :, :] * e + s * e * ell[:, None, :]
             + k3 * (ell[None] ** 2 + ell[:, None] ** 2))
        off = s * s * ell[None, :, :] * ell[:, None, :]
        diag = (s * e * e + 2 * k3 * e * ell + (mu4 - 2 * s * s) * ell ** 2 + s * s * Gd)
        eye = torch.eye(m, dtype=a.dtype, device=a.device)
        C = C + (1 - eye)[:, :, None] * off + eye[:, :, None] * diag[:, None]
        sigma = torch.einsum("rki,ria,kib->rakb", C, g, g) / n ** 2
    else:
        raise ValueError(f"mask must be one of {MASK_MODES}, got {mode!r}")
    P = m * (x.shape[1] + 1)
    return sigma.reshape(P, P)


def all_masks(m: int, p: float, dtype=torch.float64):
    """Every mask in {0, 1/p}^m with its probability: (2^m, m), (2^m,)."""
    bits = torch.tensor(list(itertools.product([0.0, 1.0], repeat=m)), dtype=dtype)
    prob = (p ** bits.sum(1)) * ((1 - p) ** (m - bits.sum(1)))
    return bits / p, prob


def sigma_enumeration(a, w, x, y, p: float, mode: str = "per_step", act: str = "tanh"):
    """Sigma by exact enumeration of all 2^m masks (m <= 12); per_sample: per example, summed."""
    m = a.shape[-1]
    if m > 12:
        raise ValueError("exact enumeration is limited to m <= 12 hidden units")
    masks, prob = all_masks(m, p, a.dtype)
    if mode == "per_step":
        grads = flatten(*Net(a, w, x, y, act).dropout_grad(masks, mode))  # (2^m, P)
        mean = prob @ grads
        centred = grads - mean
        return (centred * prob[:, None]).T @ centred
    if mode != "per_sample":
        raise ValueError(f"mask must be one of {MASK_MODES}, got {mode!r}")
    n = x.shape[0]
    total = 0
    for i in range(n):  # grad R^drop = (1/n) sum_i u_i with independent u_i: Sigma = sum Cov(u_i/n)
        u = flatten(*Net(a, w, x[i:i + 1], y[i:i + 1], act).dropout_grad(masks)) / n
        centred = u - prob @ u
        total = total + (centred * prob[:, None]).T @ centred
    return total


def mean_grad_enumeration(a, w, x, y, p: float, act: str = "tanh"):
    """E_eta grad R^drop and E_eta R^drop by enumeration (per-step masks)."""
    masks, prob = all_masks(a.shape[-1], p, a.dtype)
    net = Net(a, w, x, y, act)
    return prob @ flatten(*net.dropout_grad(masks)), prob @ net.dropout_loss(masks)


def noise_factor(a, w, x, y, p: float, mode: str = "per_step", act: str = "tanh"):
    """The explicit factor K (P, q) of gaussian_noise: K K^T = Sigma (for tests and small nets)."""
    net = Net(a, w, x, y, act)
    m, n = a.shape[-1], x.shape[0]
    s = (1 - p) / p
    lead = (n,) if mode == "per_sample" else ()
    cols = []
    for idx in itertools.product(*[range(k) for k in lead], range(m)):
        zeta = torch.zeros(*lead, m, dtype=a.dtype)
        zeta[idx] = s ** 0.5
        cols.append(flatten(*net.gaussian_noise(p, zeta, torch.zeros(*lead, m, m, dtype=a.dtype),
                                                mode)))
    for idx in itertools.product(*[range(k) for k in lead]):
        for r in range(m):
            for q in range(r + 1, m):
                Z = torch.zeros(*lead, m, m, dtype=a.dtype)
                Z[(*idx, r, q)] = Z[(*idx, q, r)] = s
                cols.append(flatten(*net.gaussian_noise(p, torch.zeros(*lead, m, dtype=a.dtype),
                                                        Z, mode)))
    return torch.stack(cols, dim=1)
