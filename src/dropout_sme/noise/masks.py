"""Random gradient data: K full-batch dropout gradients of one block at frozen parameters, each
with fresh masks; their covariance estimates Sigma (docs/spec.md §1.6).

FNN weight blocks past the first layer take the kernel's fast path (``models.fnn``: the
mask-independent first layer computed once, masks from random bytes, the block gradient one
batched product); anything else is vmapped autograd.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import grad, vmap

from .. import models
from ..models import fnn


def bernoulli(shape: tuple, keep_prob: float, rng: np.random.Generator,
              device=None, dtype=torch.float32) -> torch.Tensor:
    """Exact Bernoulli(keep_prob) 0/1 entries (``dtype``; torch.uint8 skips writing floats) from
    one random byte each.

    A byte b is uniform on 0..255; keep when b < w = floor(256 p), and when b = w (probability
    1/256) keep with probability frac(256 p) from a fresh uniform: P(keep) = w/256 + frac/256 = p.
    Much faster than comparing float uniforms, the step that dominates K = 25,000 masks.
    With ``device`` the bytes cross to it (a quarter of the float32 mask) and the comparisons run
    there, the ties taking the same uniforms in the same order: the same masks as without, built
    where they are used (on a GPU, the host's comparisons would cost more than the gradients).
    """
    size = int(np.prod(shape))
    if keep_prob >= 1:
        return torch.ones(shape, device=device, dtype=dtype)
    raw = rng.bit_generator.random_raw(-(-size // 8)).view(np.uint8)[:size]
    whole = int(256 * keep_prob)
    frac = 256 * keep_prob - whole
    if device is None:
        keep = raw < whole
        if frac > 0:
            ties = np.flatnonzero(raw == whole)
            keep[ties] = rng.random(ties.size) < frac
        return torch.from_numpy(keep.view(np.uint8)).reshape(shape).to(dtype)
    raw = torch.from_numpy(raw).to(device)
    keep = raw < whole
    if frac > 0:
        ties = torch.nonzero(raw == whole).squeeze(1)            # ascending, as np.flatnonzero
        keep[ties] = torch.from_numpy(rng.random(ties.numel()) < frac).to(device)
    return keep.reshape(shape).to(dtype)


def mask_gradients(problem, keep_prob: float, mask: str, K: int, rng: np.random.Generator,
                   batch: int = 64) -> torch.Tensor:
    """(K, B) dropout gradients of the problem's block (flattened), one fresh set of masks each."""
    out = None
    start = 0
    for g in mask_gradient_batches(problem, keep_prob, mask, K, rng, batch):
        if out is None:
            out = torch.empty(K, g.shape[1], dtype=g.dtype)
        out[start:start + len(g)] = g
        start += len(g)
    return out


def mask_gradient_batches(problem, keep_prob: float, mask: str, K: int,
                          rng: np.random.Generator, batch: int = 64):
    """The K gradients of ``mask_gradients`` as (<= batch, B) CPU batches, never all at once."""
    if mask not in models.MASK_MODES:
        raise ValueError(f"mask must be one of {', '.join(models.MASK_MODES)}, got {mask!r}")
    shapes = models.mask_shapes(problem.model, problem.x.shape[-1])
    theta = problem.theta
    rows = problem.x.shape[0] if mask == "per_sample" else 1
    grad_fn = chunked_gradients(problem, keep_prob, mask)
    device = problem.x.device
    on_device = None if device.type == "cpu" else device        # (numpy is faster on the CPU)
    dtype = torch.uint8 if kernel_layer(problem) else theta.dtype     # the kernel takes bytes
    for start in range(0, K, batch):
        size = min(batch, K - start)
        masks = [bernoulli((size, rows, *shape), keep_prob, rng, on_device, dtype)
                 for shape in shapes]
        yield grad_fn(masks).cpu()


def chunked_gradients(problem, keep_prob: float, mask: str):
    """masks -> gradients of the whole batch, a part of the data at a time when the problem has
    ``chunk``: a per-sample mask is cut with its samples, a per-step one is shared by the parts."""
    parts = [(part, w, gradients(part, keep_prob)) for part, w in problem.parts()]
    if len(parts) == 1:
        return parts[0][2]

    def grad_fn(masks):
        total, start = 0, 0
        for part, w, fn in parts:
            n = part.x.shape[0]
            mine = [m[:, start:start + n] for m in masks] if mask == "per_sample" else masks
            total = total + w * fn(mine)
            start += n
        return total

    return grad_fn


def kernel_layer(problem) -> int | None:
    """i where the problem's block is the FNN weight matrix w_i past the first layer (the
    kernel's fast path), else None."""
    layer = fnn.weight_layer(problem.model, problem.block)
    return layer if layer is not None and layer >= 2 else None


def gradients(problem, keep_prob: float):
    """masks -> gradients of one (unchunked) problem: the FNN kernel's fast path for weight
    blocks past the first layer, vmapped autograd for anything else."""
    layer = kernel_layer(problem)
    if layer is not None:
        return fnn.weight_gradients(problem.model, problem.params, problem.x, problem.y,
                                    problem.loss, keep_prob, layer)
    return vmapped_gradients(problem, keep_prob)


def vmapped_gradients(problem, keep_prob: float):
    """Any model and block: masks (0/1) -> gradients, grad of the loss under vmap over draws."""
    theta = problem.theta

    def f(theta, masks):
        full = models.with_block(problem.params, problem.block, theta)
        masks = tuple(m / keep_prob for m in masks)
        return models.loss_value(problem.loss, models.forward(problem.model, full, problem.x,
                                                              masks), problem.y)

    g = vmap(grad(f), in_dims=(None, 0))
    return lambda masks: g(theta, tuple(masks))
