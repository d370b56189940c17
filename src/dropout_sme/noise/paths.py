"""Runs continued from a checkpoint with every parameter moving: the noisy windows of the
comparison (mini-batch SGD, isotropic Gaussian noise) and the noise-free reference paths of the
fluctuation protocol (``noise.drift: fluctuation``, config/README.md):

- full-batch GD on the dropout-free loss: the reference of SGD and of Gaussian noise, whose means
  are the full-batch gradient;
- the mean-field path of dropout: GD on the mask-averaged loss, its gradient estimated each step
  from ``masks`` independent mask draws (the SME's drift grad L_S, Monte Carlo).

Each records the block before every update, as training records its window.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import models
from .problem import Problem


def continue_run(problem: Problem, lr: float, steps: int, rng: np.random.Generator | None,
                 batch: int | None = None, sigma: float | None = None,
                 dropout: tuple | None = None, last: bool = False):
    """(steps, B): the block at each step of GD from the problem's parameters, on the
    dropout-free loss with mini-batches of ``batch`` samples (without replacement) or Gaussian
    noise sigma xi added to every parameter's gradient, or (``dropout`` = (keep_prob, mask,
    masks)) on the dropout loss averaged over ``masks`` draws of the ``mask`` convention; with
    none of the three, full-batch GD (``rng`` may be None). Random numbers come from ``rng``,
    the named stream of the run. ``last``: also the parameters after the last step."""
    model, loss, block, x, y = problem.model, problem.loss, problem.block, problem.x, problem.y
    if rng is not None:
        gen = torch.Generator().manual_seed(int(rng.integers(2 ** 62)))
    if dropout is not None:
        mask_gen = torch.Generator(device=x.device).manual_seed(int(rng.integers(2 ** 62)))
    p = {k: v.detach().clone() for k, v in problem.params.items()}
    n, out = x.shape[0], []
    for _ in range(steps):
        out.append(models.block_vector(p, block).clone())
        leaves = {k: v.requires_grad_() for k, v in p.items()}
        if dropout is not None:
            grads = mean_field_gradients(problem, leaves, *dropout, mask_gen)
        else:
            xb, yb = x, y
            if batch is not None:
                idx = torch.from_numpy(rng.choice(n, size=batch, replace=False)).to(x.device)
                xb, yb = x[idx], y[idx]
            grads = gradients(model, loss, leaves, xb, yb, problem.chunk)
        with torch.no_grad():
            p = {}
            for (k, v), g in zip(leaves.items(), grads):
                if sigma is not None:
                    g = g + sigma * torch.randn(g.shape, generator=gen,
                                                dtype=g.dtype).to(g.device)
                p[k] = v.detach() - lr * g
    samples = torch.stack(out)
    return (samples, p) if last else samples


def mean_field_gradients(problem: Problem, leaves: dict, keep_prob: float, mask: str,
                         masks: int, gen: torch.Generator) -> list:
    """The dropout loss's gradient for every leaf averaged over ``masks`` independent draws
    (one pass of the data each: the memory of one training step)."""
    total = None
    for _ in range(masks):
        m = models.sample_masks(problem.model, keep_prob, mask, problem.x.shape[0], gen,
                                dtype=problem.x.dtype, device=problem.x.device,
                                n_in=problem.x.shape[-1])
        g = gradients(problem.model, problem.loss, leaves, problem.x, problem.y, problem.chunk,
                      m, mask == "per_sample")
        total = g if total is None else [a + b for a, b in zip(total, g)]
    return [t / masks for t in total]


def gradients(model: dict, loss: str, leaves: dict, x, y, chunk: int | None, masks=None,
              per_sample: bool = False) -> list:
    """Gradients of the mean loss over (x, y) for every leaf (with dropout ``masks``, cut with
    their samples when ``per_sample``), over micro-batches of ``chunk`` rows where set
    (``models.chunked_mean``: equal to the one-batch gradients)."""
    if not chunk or chunk >= x.shape[0]:
        value = models.loss_value(loss, models.forward(model, leaves, x, masks), y)
        return list(torch.autograd.grad(value, list(leaves.values())))

    def grad_and_sum(p, xc, yc, mc):
        value = models.loss_sum(loss, models.forward(model, p, xc, mc), yc)
        return dict(zip(p, torch.autograd.grad(value, list(p.values())))), value.detach()

    def masks_of(rows):
        if masks is None or not per_sample:
            return masks
        return tuple(m[rows] for m in masks)

    return list(models.chunked_mean(grad_and_sum, leaves, x, y, loss, chunk,
                                    masks_of)[0].values())
