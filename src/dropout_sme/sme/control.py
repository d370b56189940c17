r"""A control variate with mean exactly zero for the E1 simulators: the tangent process.

Each noisy method (dropout GD, the SMEs, SVAG) is paired, path by path, with its linearisation
around its own noise-free path xbar_t (GD on L_S for dropout and SVAG, the SME's drift for an SME):

    Y_{k+1} = Y_k - dt H(xbar_k) Y_k + (the noise of the path's own step k),   Y_0 = 0,

H the Hessian of L_S. The noise of step k (dropout: -dt (grad R^drop(theta_k; eta_k) -
grad L_S(theta_k)); an SME: its Gaussian increment) has mean zero given everything before it,
whatever theta_k is (E_eta grad R^drop = grad L_S at every theta; the normals are fresh), and H is
deterministic, so by induction E Y_t = 0 exactly. Hence

    E g(theta_t) = E[g(theta_t) - grad g(xbar_t) . Y_t]

for every test function g, and the right side has a much smaller variance: theta_t - xbar_t - Y_t
is O(lr) where theta_t - xbar_t is O(sqrt(lr)), so the variance per path falls from O(lr) to
O(lr^2), by a factor that grows as 1/lr. Driving Y by the noise at xbar instead of the path's own
also has mean zero but tracks the path less closely (the variance reductions of both, and of a
quadratic term that was tried and dropped: docs/findings.md). The estimator stays unbiased for
any path count: the coefficient of Y is 1, not fitted.

A tangent state is (xbar_a, xbar_w, Y_a, Y_w): xbar unbatched, Y with the paths' batch dimension.
"""

from __future__ import annotations

import torch
from torch.func import jacrev

from ..memory import dense_hessian_pays
from . import twolayer as tl


def start(prob, paths: int) -> tuple:
    """xbar_0 = theta_0, Y_0 = 0 for ``paths`` paths."""
    return (prob.a0.clone(), prob.w0.clone(), prob.a0.new_zeros(paths, prob.m),
            prob.w0.new_zeros(paths, prob.m, prob.d))


def step(prob, tangent: tuple, dt: float, lr: float, order: int, noise) -> tuple:
    """One step of size dt: xbar takes the noise-free Euler step of the SME of ``order`` (order 1:
    GD on L_S, the noise-free dropout and SVAG step), Y <- Y - dt H(xbar) Y + noise, where
    ``noise`` (na, nw) is the path's own step's noise, batched over paths."""
    xa, xw, ya, yw = tangent
    net = prob.net(xa, xw)
    fa, fw = prob.em_step(xa, xw, dt, lr, order, net=net)
    ha, hw = _hessian_times(net, prob.p, ya, yw)
    return fa, fw, ya - dt * ha + noise[0], yw - dt * hw + noise[1]


def _hessian_times(net, p: float, ya, yw, dense: bool | None = None):
    """H(xbar) Y for every path by the cheaper exact route (``dense``: None chooses by
    ``dense_hessian_pays``): the closed-form Hessian-vector product of each path's Y, or H formed
    once (P products at the one point xbar) and one (paths, P) x (P, P) product when the paths
    outnumber what H costs."""
    m, d = net.w.shape
    if dense is None:
        dense = dense_hessian_pays(m, d, net.n, ya.shape[0])
    if not dense:
        return net.hvp_modified_loss(p, ya, yw)
    eye = torch.eye(m * (d + 1), dtype=ya.dtype, device=ya.device).reshape(-1, m, d + 1)
    hess = tl.flatten(*net.hvp_modified_loss(p, eye[..., 0], eye[..., 1:]))   # (P, P)
    hy = (tl.flatten(ya, yw) @ hess).reshape(*ya.shape, d + 1)                # H symmetric
    return hy[..., 0], hy[..., 1:]


def value(prob, tangent: tuple) -> torch.Tensor:
    """grad g(xbar) . Y for the test functions g of ``prob``: (paths, 3), mean exactly zero."""
    xa, xw, ya, yw = tangent
    ja, jw = jacrev(prob.test_functions, argnums=(0, 1))(xa, xw)   # (3, m), (3, m, d)
    return ya @ ja.T + yw.flatten(-2) @ jw.flatten(-2).T
