r"""A control variate with mean exactly zero for the E1 simulators: the tangent process.

Each noisy method (dropout GD, the SMEs, SVAG) is paired, path by path, with the linearisation of
its noise around its own noise-free path xbar_t (GD or the method's drift without noise):

    Y_{k+1} = Y_k - dt H(xbar_k) Y_k + (noise of the step evaluated at xbar_k),   Y_0 = 0,

driven by the *same* masks (dropout, SVAG) or normals (SMEs) as the path. H is the Hessian of
L_S. The noise at the deterministic xbar_k has mean zero (E_eta grad R^drop = grad L_S; the SME's
Gaussian increment is centred) and is independent of Y_k, so Y_t is a linear function of centred
noise with deterministic coefficients: E Y_t = 0 exactly, whatever xbar, H or the step. Hence

    E g(theta_t) = E[g(theta_t) - grad g(xbar_t) . Y_t]

for every test function g, and the right side has a much smaller variance: theta_t - xbar_t - Y_t
is O(lr) where theta_t - xbar_t is O(sqrt(lr)), so the variance per path falls from O(lr) to
O(lr^2) (a factor that grows as 1/lr: measured about 3 at lr 0.2 and 50 at lr 0.0125, keep_prob
0.5). A quadratic term (with E Y Y^T from a covariance recursion) was tried and removed little
more. The estimator stays unbiased for any path count: the coefficient of Y is 1, not fitted.

A tangent state is (xbar_a, xbar_w, Y_a, Y_w): xbar unbatched, Y with the paths' batch dimension.
"""

from __future__ import annotations

import math

import torch
from torch.func import jacrev

from . import twolayer as tl


def start(prob, paths: int) -> tuple:
    """xbar_0 = theta_0, Y_0 = 0 for ``paths`` paths."""
    return (prob.a0.clone(), prob.w0.clone(), prob.a0.new_zeros(paths, prob.m),
            prob.w0.new_zeros(paths, prob.m, prob.d))


def dropout_step(prob, tangent: tuple, masks, coefs, dt: float) -> tuple:
    """One step of size dt of a method whose gradient is sum_j coefs_j grad R^drop(eta_j)
    (dropout: one mask, coefficient 1; SVAG: two masks, c1 + c2 = 1), ``masks`` the path's."""
    xa, xw, ya, yw = tangent
    net = prob.net(xa, xw)
    ga, gw = net.grad_modified_loss(prob.p)
    ha, hw = _hessian_times(net, prob.p, ya, yw)
    na, nw = ga, gw                                  # noise = grad L_S - sum_j c_j grad R^drop
    for mask, c in zip(masks, coefs):
        da, dw = net.dropout_grad(mask, prob.mask)
        na, nw = na - c * da, nw - c * dw
    return xa - dt * ga, xw - dt * gw, ya - dt * ha + dt * na, yw - dt * hw + dt * nw


def em_step(prob, tangent: tuple, dt: float, lr: float, order: int, normals) -> tuple:
    """One Euler-Maruyama step of size dt of the SME of ``order``, driven by the path's normals."""
    xa, xw, ya, yw = tangent
    fa, fw = prob.em_step(xa, xw, dt, lr, order)     # the noise-free path
    net = prob.net(xa, xw)
    ha, hw = _hessian_times(net, prob.p, ya, yw)
    na, nw = net.gaussian_noise(prob.p, *normals, prob.mask)
    kappa = math.sqrt(lr * dt)
    return fa, fw, ya - dt * ha + kappa * na, yw - dt * hw + kappa * nw


def _hessian_times(net, p: float, ya, yw):
    """H(xbar) Y for every path: H formed once (P Hessian-vector products at the one point xbar),
    then one (paths, P) x (P, P) product, far cheaper than a Hessian-vector product per path."""
    m, d = net.w.shape
    eye = torch.eye(m * (d + 1), dtype=ya.dtype, device=ya.device).reshape(-1, m, d + 1)
    hess = tl.flatten(*net.hvp_modified_loss(p, eye[..., 0], eye[..., 1:]))   # (P, P)
    hy = (tl.flatten(ya, yw) @ hess).reshape(*ya.shape, d + 1)                # H symmetric
    return hy[..., 0], hy[..., 1:]


def value(prob, tangent: tuple) -> torch.Tensor:
    """grad g(xbar) . Y for the test functions g of ``prob``: (paths, 3), mean exactly zero."""
    xa, xw, ya, yw = tangent
    ja, jw = jacrev(prob.test_functions, argnums=(0, 1))(xa, xw)   # (3, m), (3, m, d)
    return ya @ ja.T + yw.flatten(-2) @ jw.flatten(-2).T
