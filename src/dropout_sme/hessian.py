"""Hessians of the dropout-free training loss with respect to one parameter block.

Groundwork of the noise-structure stage (E2-E4). The block is any named parameter (for the FNN
``w2`` is the 50x50 hidden-to-hidden matrix, 2,500 numbers). Every product H v is
forward-over-reverse (``torch.func.jvp`` of ``torch.func.grad``), about 3x a gradient:

- ``full_hessian``: all of H from H e_i, vmapped over chunks of basis vectors (blocks up to a few
  thousand parameters; 2,500 in about 1.5 s on 2 CPU cores);
- ``lanczos_top``: the top-k eigenpairs from Hessian-vector products alone
  (``scipy.sparse.linalg.eigsh(which="LA")``), for blocks too large to form.

The loss is the dropout-free one (``masks=None``): note that PyHessian-style code calls
``model.eval()`` and so gets the same, but silently.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import grad, jvp, vmap

from . import models


def block_loss(model: dict, params: dict, x, y, loss: str, block: str):
    """theta_block (flat) -> dropout-free training loss with the other parameters fixed."""
    if block not in params:
        raise KeyError(f"no parameter block {block!r}; the model has {', '.join(params)}")
    shape = params[block].shape

    def f(theta):
        full = {**params, block: theta.reshape(shape)}
        return models.loss_value(loss, models.forward(model, full, x), y)

    return f


def hvp_fn(f, theta):
    """v -> H v at theta, forward-over-reverse."""
    g = grad(f)

    def hvp(v):
        return jvp(g, (theta,), (v,))[1]

    return hvp


def full_hessian(f, theta, chunk: int = 500) -> torch.Tensor:
    """The whole Hessian of f at theta (flat), (B, B), symmetrised."""
    hvp = vmap(hvp_fn(f, theta), chunk_size=chunk)
    H = hvp(torch.eye(theta.numel(), dtype=theta.dtype, device=theta.device))
    return 0.5 * (H + H.T)


def lanczos_top(f, theta, k: int, tol: float = 1e-6, seed: int = 0):
    """Top-k eigenvalues (descending) and eigenvectors (columns) of the Hessian by Lanczos."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    hvp = hvp_fn(f, theta)
    n = theta.numel()

    def matvec(v):
        vt = torch.as_tensor(np.asarray(v).ravel(), dtype=theta.dtype, device=theta.device)
        return hvp(vt).detach().cpu().double().numpy()

    v0 = np.random.default_rng(seed).standard_normal(n)
    vals, vecs = eigsh(LinearOperator((n, n), matvec=matvec, dtype=np.float64), k=k,
                       which="LA", tol=tol, v0=v0)
    order = np.argsort(vals)[::-1]
    return vals[order], vecs[:, order]
