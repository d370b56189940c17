"""Functional models with an explicit dropout mask argument (``torch.func`` friendly).

Parameters are plain dicts of tensors; ``forward(model, params, x, masks)`` is a pure function, so
the same code runs one network or, under ``torch.func.vmap``, many seeds / paths / masks at once.
Each architecture is a module of ``architectures`` (its parameters, initialisation, mask shapes and
forward pass); these functions ask the registry for the model's.

Dropout follows the paper's convention: each hidden output is multiplied by eta = 1/p with
probability p (the *keep* probability) and by 0 otherwise (inverted dropout), so E eta = 1 and
Var eta = (1-p)/p. ``masks=None`` is the dropout-free network.

Mask conventions (config key ``mask``):
- ``per_step``: one mask per hidden layer shared by every sample of the batch (the theory's);
- ``per_sample``: an independent mask for every sample (what ``torch.nn.Dropout`` does).
A mask's shape per sample is ``mask_shapes(model, n_in)``: (width,) for a hidden layer,
(positions, width) for a transformer sublayer, (channels, height, width) for a convolution.
"""

from __future__ import annotations

import math

import torch

from .. import architectures
from ..architectures import ALL, MASK_MODES
from ..architectures.resnet import batch_norm  # noqa: F401  (the models' face)
from .losses import IGNORE, accuracy, loss_value  # noqa: F401  (the models' face)


def mask_shapes(model: dict, n_in: int | None = None) -> list[tuple]:
    """Per-sample shape of every dropout mask, in order (``n_in``: a transformer's positions)."""
    return architectures.of(model).mask_shapes(model, n_in)


def head(model: dict, params: dict, x, block: str):
    """(head model, head params, trunk output): the FNN head of a cnn or resnet applied to the
    trunk's output, when ``block`` is one of the head's parameters. The trunk carries no dropout,
    so the head alone gives the same outputs, masks and block derivatives, with the fast FNN paths
    of the noise stage; any other model or block (or a trunk with masks) comes back unchanged."""
    arch = architectures.of(model)
    head_model = arch.head(model, block)
    if head_model is None:
        return model, params, x
    head_params = {k: v for k, v in params.items() if architectures.head_layer(k) is not None}
    return head_model, head_params, arch.trunk(model, params, x)


def trunk(model: dict, params: dict, x: torch.Tensor, masks=None) -> torch.Tensor:
    """The flat features a cnn or resnet gives its FNN head (``masks``: the trunk's own)."""
    return architectures.of(model).trunk(model, params, x, masks)


def block_vector(params: dict, block: str, batch_dims: int = 0) -> torch.Tensor:
    """The parameters of ``block`` (a parameter name, or ``all``) as one flat vector, after
    ``batch_dims`` leading dimensions shared by every parameter (e.g. seeds)."""
    if block == ALL:
        return torch.cat([v.flatten(batch_dims) for v in params.values()], dim=batch_dims)
    if block not in params:
        raise KeyError(f"no parameter block {block!r}; the model has {', '.join(params)} "
                       f"(or {ALL!r})")
    return params[block].flatten(batch_dims)


def with_block(params: dict, block: str, theta: torch.Tensor) -> dict:
    """``params`` with ``block`` replaced by the flat vector ``theta`` (inverse of block_vector)."""
    if block != ALL:
        return {**params, block: theta.reshape(params[block].shape)}
    out, start = {}, 0
    for name, v in params.items():
        out[name] = theta[start:start + v.numel()].reshape(v.shape)
        start += v.numel()
    return out


class Draw:
    """The random draws of an initialisation, from one generator (float64 draws cast to
    ``dtype``, so that float32 and float64 networks start at the same point)."""

    def __init__(self, generator: torch.Generator, dtype=torch.float32):
        self.generator, self.dtype = generator, dtype

    def normal(self, *shape, std):
        z = torch.randn(*shape, generator=self.generator, dtype=torch.float64)
        return z.mul_(std).to(self.dtype)

    def uniform(self, *shape, bound):
        u = torch.rand(*shape, generator=self.generator, dtype=torch.float64)
        return u.mul_(2 * bound).sub_(bound).to(self.dtype)

    def ones(self, *shape):
        return torch.ones(*shape, dtype=self.dtype)

    def zeros(self, *shape):
        return torch.zeros(*shape, dtype=self.dtype)

    def linear(self, params: dict, weight: str, bias: str | None, out: int, fan_in: int):
        """nn.Linear's default initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), into
        params[weight] (and params[bias])."""
        bound = 1.0 / math.sqrt(fan_in)
        params[weight] = self.uniform(out, fan_in, bound=bound)
        if bias:
            params[bias] = self.uniform(out, bound=bound)


def init_params(model: dict, n_in: int, n_out: int, generator: torch.Generator,
                dtype=torch.float32) -> dict:
    """Initial parameters (on the CPU; move them with ``.to(device)``): each architecture's own
    initialisation (its module's docstring) from ``generator``. ``n_in``: features (positions for
    the sequence models), ``n_out``: outputs (classes, tokens, or 1)."""
    return architectures.of(model).init(model, n_in, n_out, Draw(generator, dtype))


def sample_masks(model: dict, keep_prob: float, mode: str, n: int, generator: torch.Generator,
                 dtype=torch.float32, device="cpu", batch: tuple = (), n_in=None) -> tuple:
    """One dropout mask per dropout site: values 1/p (probability p) or 0.

    Shape (*batch, *shape) for ``per_step``, (*batch, n, *shape) for ``per_sample``, with
    ``shape`` from ``mask_shapes(model, n_in)``; ``batch`` gives that many independent draws at
    once (paths, masks of the random gradient data).
    """
    if mode not in MASK_MODES:
        raise ValueError(f"mask must be one of {', '.join(MASK_MODES)}, got {mode!r}")
    masks = []
    for shape in mask_shapes(model, n_in):
        full = (*batch, *shape) if mode == "per_step" else (*batch, n, *shape)
        u = torch.rand(full, generator=generator, device=device, dtype=torch.float32)
        masks.append(u.lt_(keep_prob).to(dtype).div_(keep_prob))     # in place: no copies
    return tuple(masks)


def forward(model: dict, params: dict, x: torch.Tensor, masks=None) -> torch.Tensor:
    """Network output for inputs x (n, d): (n,) for two_layer, (n, classes) for fnn, cnn and
    resnet, (n, positions, tokens) for transformer (target positions only for encoder_decoder)."""
    return architectures.of(model).forward(model, params, x, masks)
