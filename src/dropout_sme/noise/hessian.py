"""Hessians of the dropout-free training loss with respect to one parameter block.

Groundwork of the noise-structure stage (E2-E4). The block is any named parameter (for the FNN
``w2`` is the 50x50 hidden-to-hidden matrix, 2,500 numbers). Every product H v is
forward-over-reverse (``torch.func.jvp`` of ``torch.func.grad``), a few gradients' cost:

- ``full_hessian``: all of H from H e_i, vmapped over chunks of basis vectors (blocks up to a few
  thousand parameters); ``block_hessian`` vmaps as many columns as fit the device
  (``Problem.vmap_chunk``: ``memory``, the model of what one column holds);
- ``lanczos_top``: the top-k eigenpairs from Hessian-vector products alone
  (``scipy.sparse.linalg.eigsh(which="LA")``), for blocks too large to form;
- ``block_hessian``: the full block Hessian of a ``Problem`` by the fastest exact route: for the
  FNN's last hidden weight block (``w2`` of the default FNN) the kernel's closed form
  (``models.fnn.last_hidden_hessian``, one (n x B) GEMM); every other block via ``full_hessian``;
- ``problem_hvp``: a ``Problem``'s products, over chunks of its data when it has ``chunk``.

The loss is the dropout-free one (``masks=None``): note that PyHessian-style code calls
``model.eval()`` and so gets the same, but silently.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import grad, jvp, vmap

from .. import memory, rng
from ..models import fnn


def hvp_fn(f, theta):
    """v -> H v at theta, forward-over-reverse."""
    g = grad(f)

    def hvp(v):
        return jvp(g, (theta,), (v,))[1]

    return hvp


def hvp_sequential(f, theta):
    """v -> H v at theta by reverse-over-reverse on one retained graph of the gradient.

    For many products in sequence (Lanczos, power iteration) this is cheaper than
    ``hvp_fn``, which redoes the forward pass each time (benchmarks/hessian_speed.py measures
    both); ``hvp_fn`` is the one that vmaps.
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


def problem_hvp(problem):
    """v -> H v of a Problem's dropout-free loss in its block: ``hvp_sequential`` on one retained
    graph, or with ``chunk`` the parts' forward-over-reverse products summed (each part's graph
    built and freed within a product: memory of one part, time of a forward pass more)."""
    if not problem.chunked:
        return hvp_sequential(problem.loss_fn(), problem.theta)
    g, theta = problem.grad_fn(), problem.theta
    return lambda v: jvp(g, (theta,), (v,))[1]


def lanczos_top(f, theta, k: int, tol: float = 1e-6, seed: int = 0, hvp=None):
    """Top-k eigenvalues (descending) and eigenvectors (columns) of the Hessian by Lanczos
    (products by ``hvp``, default ``hvp_sequential(f, theta)``)."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    hvp = hvp or hvp_sequential(f, theta)
    n = theta.numel()

    def matvec(v):
        vt = torch.as_tensor(np.asarray(v).ravel(), dtype=theta.dtype, device=theta.device)
        return hvp(vt).detach().cpu().double().numpy()

    v0 = rng.stream("lanczos_start", seed).standard_normal(n)
    vals, vecs = eigsh(LinearOperator((n, n), matvec=matvec, dtype=np.float64), k=k,
                       which="LA", tol=tol, v0=v0)
    order = np.argsort(vals)[::-1]
    return vals[order], vecs[:, order]


def block_hessian(problem) -> torch.Tensor:
    """The (B, B) Hessian of the dropout-free training loss in the problem's block, exact either
    way: the FNN's last hidden weight block by the kernel's closed form, any other by
    ``full_hessian``; with ``chunk``, the parts' Hessians summed."""
    if problem.chunked:
        return problem.summed(block_hessian)
    model = problem.model
    if memory.closed_form_hessian(model, problem.block):
        return fnn.last_hidden_hessian(model, problem.params, problem.x, problem.y, problem.loss)
    return full_hessian(problem.loss_fn(), problem.theta, problem.vmap_chunk("hessian"))

