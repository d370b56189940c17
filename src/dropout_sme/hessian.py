"""Hessians of the dropout-free training loss with respect to one parameter block.

Groundwork of the noise-structure stage (E2-E4). The block is any named parameter (for the FNN
``w2`` is the 50x50 hidden-to-hidden matrix, 2,500 numbers). Every product H v is
forward-over-reverse (``torch.func.jvp`` of ``torch.func.grad``), about 3x a gradient:

- ``full_hessian``: all of H from H e_i, vmapped over chunks of basis vectors (blocks up to a few
  thousand parameters; 2,500 in about 1.5 s on 2 CPU cores);
- ``lanczos_top``: the top-k eigenpairs from Hessian-vector products alone
  (``scipy.sparse.linalg.eigsh(which="LA")``), for blocks too large to form;
- ``block_hessian``: the full block Hessian by the fastest exact route: for the FNN's last hidden
  weight block (``w2`` of the default FNN) the closed form ``fnn_last_hidden_hessian``, one
  (n x B) GEMM, about 10x faster than B products; every other block via ``full_hessian``.

The loss is the dropout-free one (``masks=None``): note that PyHessian-style code calls
``model.eval()`` and so gets the same, but silently.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import grad, jvp, vmap

from . import models, rng


def block_loss(model: dict, params: dict, x, y, loss: str, block: str):
    """theta_block (flat) -> dropout-free training loss with the other parameters fixed
    (``block="all"``: every parameter)."""
    models.block_vector(params, block)          # a clear error for an unknown block
    model, params, x = models.head(model, params, x, block)   # a cnn/resnet head: trunk once

    def f(theta):
        full = models.with_block(params, block, theta)
        return models.loss_value(loss, models.forward(model, full, x), y)

    return f


def hvp_fn(f, theta):
    """v -> H v at theta, forward-over-reverse."""
    g = grad(f)

    def hvp(v):
        return jvp(g, (theta,), (v,))[1]

    return hvp


def hvp_sequential(f, theta):
    """v -> H v at theta by reverse-over-reverse on one retained graph of the gradient.

    For many products in sequence (Lanczos, power iteration) this is cheaper than
    ``hvp_fn``, which redoes the forward pass each time: 1.8x a gradient against 4.7x for the
    default FNN's w2 block (benchmarks/hessian_speed.py); ``hvp_fn`` is the one that vmaps.
    """
    w = theta.detach().clone().requires_grad_()
    with torch.enable_grad():
        (g,) = torch.autograd.grad(f(w), w, create_graph=True)

    def hvp(v):
        (hv,) = torch.autograd.grad(g, w, grad_outputs=v, retain_graph=True)
        return hv.detach()

    return hvp


def full_hessian(f, theta, chunk: int = 500) -> torch.Tensor:
    """The whole Hessian of f at theta (flat), (B, B), symmetrised."""
    hvp = vmap(hvp_fn(f, theta), chunk_size=chunk)
    H = hvp(torch.eye(theta.numel(), dtype=theta.dtype, device=theta.device))
    return 0.5 * (H + H.T)


def lanczos_top(f, theta, k: int, tol: float = 1e-6, seed: int = 0):
    """Top-k eigenvalues (descending) and eigenvectors (columns) of the Hessian by Lanczos."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    hvp = hvp_sequential(f, theta)
    n = theta.numel()

    def matvec(v):
        vt = torch.as_tensor(np.asarray(v).ravel(), dtype=theta.dtype, device=theta.device)
        return hvp(vt).detach().cpu().double().numpy()

    v0 = rng.stream("lanczos_start", seed).standard_normal(n)
    vals, vecs = eigsh(LinearOperator((n, n), matvec=matvec, dtype=np.float64), k=k,
                       which="LA", tol=tol, v0=v0)
    order = np.argsort(vals)[::-1]
    return vals[order], vecs[:, order]


def block_hessian(model: dict, params: dict, x, y, loss: str, block: str) -> torch.Tensor:
    """The (B, B) Hessian of the dropout-free training loss in ``block``, exact either way."""
    model, params, x = models.head(model, params, x, block)
    if model["arch"] == "fnn" and block == f"w{len(model['hidden'])}":
        return fnn_last_hidden_hessian(model, params, x, y, loss)
    return full_hessian(block_loss(model, params, x, y, loss, block),
                        models.block_vector(params, block))


def fnn_last_hidden_hessian(model: dict, params: dict, x, y, loss: str) -> torch.Tensor:
    """Closed-form Hessian in the last hidden weight matrix W (out = V sigma(W a + b) + c).

    With z_i = W a_i + b, D_i = diag sigma'(z_i), A_i = d^2 l_i / d out^2 and g_i = V^T dl_i/d out
    (l_i the sample's share of the mean loss): d^2 L / dW_jk dW_JK = sum_i M_i[j, J] a_ik a_iK with
    M_i = D_i V^T A_i V D_i + diag(g_i sigma''(z_i)); i.e. H = P^T Q over samples, with
    P_i = vec M_i and Q_i = vec(a_i a_i^T), reordered to the row-major (j, k) index of W.
    """
    from torch.func import hessian as func_hessian

    last = len(model["hidden"]) + 1
    act = models.ACTIVATIONS[model["activation"]]
    h = x
    for i in range(1, last - 1):
        h = act(h @ params[f"w{i}"].T + params[f"b{i}"])
    W, V = params[f"w{last - 1}"], params[f"w{last}"]
    z = h @ W.T + params[f"b{last - 1}"]
    out = act(z) @ V.T + params[f"b{last}"]
    n = x.shape[0]

    if loss == "cross_entropy":                             # A_i = (diag s - s s^T) / n
        prob = torch.softmax(out, -1)
        dl = (prob - torch.nn.functional.one_hot(y, out.shape[-1]).to(prob.dtype)) / n
        A = (torch.diag_embed(prob) - prob[:, :, None] * prob[:, None, :]) / n
    else:
        def sample_loss(o, t):
            return models.loss_value(loss, o[None], t[None]) / n

        dl = vmap(grad(sample_loss))(out, y)                # (n, C)
        A = vmap(func_hessian(sample_loss))(out, y)         # (n, C, C)

    def d_act(u):                                           # sigma' elementwise (separable)
        return grad(lambda v: act(v).sum())(u)

    d1 = d_act(z)                                           # sigma'(z), (n, width)
    d2 = grad(lambda v: d_act(v).sum())(z)                  # sigma''(z)
    VD = V[None] * d1[:, None, :]                           # V D_i, (n, C, width)
    M = VD.transpose(1, 2) @ A @ VD + torch.diag_embed((dl @ V) * d2)
    width, fan_in = W.shape
    P = M.reshape(n, width * width)
    Q = (h[:, :, None] * h[:, None, :]).reshape(n, fan_in * fan_in)
    H = (P.T @ Q).reshape(width, width, fan_in, fan_in).permute(0, 2, 1, 3)
    H = H.reshape(width * fan_in, width * fan_in)
    return 0.5 * (H + H.T)
