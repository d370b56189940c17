"""Functional models with an explicit dropout mask argument (``torch.func`` friendly).

Parameters are plain dicts of tensors; ``forward(model, params, x, masks)`` is a pure function, so
the same code runs one network or, under ``torch.func.vmap``, many seeds / paths / masks at once.

Dropout follows the paper's convention: each hidden output is multiplied by eta = 1/p with
probability p (the *keep* probability) and by 0 otherwise (inverted dropout), so E eta = 1 and
Var eta = (1-p)/p. ``masks=None`` is the dropout-free network.

Architectures: ``two_layer`` (the theory's f(x) = sum_r a_r sigma(w_r.x)), ``fnn`` (dropout after
every hidden layer) and ``cnn`` (3x3 convolutions, each followed by the activation and 2x2 max
pooling, then an FNN head with dropout after each hidden layer, as in the classic small CNNs; the
convolutions carry none).

Mask conventions (config key ``mask``):
- ``per_step``: one mask per hidden layer shared by every sample of the batch (the theory's);
- ``per_sample``: an independent mask for every sample (what ``torch.nn.Dropout`` does).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

ACTIVATIONS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "gelu": F.gelu,
    "softplus": F.softplus,
}
# sigma'(z) given z and h = sigma(z), in float ops (a bool mask times a float is slow on the CPU)
ACTIVATION_DERIVATIVES = {
    "tanh": lambda z, h: 1 - h * h,
    "relu": lambda z, h: torch.sign(h),
    "gelu": lambda z, h: 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    + z * torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi),
    "softplus": lambda z, h: torch.sigmoid(z),
}
MASK_MODES = ("per_step", "per_sample")
ARCHS = ("two_layer", "fnn", "cnn")


def hidden_widths(model: dict) -> list[int]:
    """Widths of the hidden layers that carry dropout, in order."""
    if model["arch"] == "two_layer":
        return [model["width"]]
    if model["arch"] in ("fnn", "cnn"):
        return list(model["hidden"])
    raise ValueError(f"unknown arch {model['arch']!r}; allowed: {', '.join(ARCHS)}")


ALL = "all"   # the block name of every parameter at once (flattened in the dict's order)


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


def init_params(model: dict, n_in: int, n_out: int, generator: torch.Generator,
                dtype=torch.float32) -> dict:
    """Initial parameters (on the CPU; move them with ``.to(device)``).

    two_layer: f(x) = sum_r a_r sigma(w_r.x), w_r ~ N(0, I/d), a_r ~ N(0, 1/m), times init_scale.
    fnn: PyTorch's nn.Linear default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases.
    cnn: the same bounds for every layer (nn.Conv2d's default too; fan_in = in_channels x 3 x 3);
    ``n_in`` must equal the product of ``model["image"]`` (channels, height, width).
    """
    def normal(*shape, std):
        return torch.randn(*shape, generator=generator, dtype=torch.float64).mul_(std).to(dtype)

    def uniform(*shape, bound):
        u = torch.rand(*shape, generator=generator, dtype=torch.float64)
        return u.mul_(2 * bound).sub_(bound).to(dtype)

    if model["arch"] == "two_layer":
        if n_out != 1:
            raise ValueError("two_layer has a scalar output: use it with a regression dataset")
        m, scale = model["width"], model.get("init_scale", 1.0)
        return {"w": normal(m, n_in, std=scale / math.sqrt(n_in)),
                "a": normal(m, std=scale / math.sqrt(m))}
    if model["arch"] in ("fnn", "cnn"):
        params, fan_in = {}, n_in
        if model["arch"] == "cnn":
            channels, height, width = model["image"]
            if channels * height * width != n_in:
                raise ValueError(f"cnn image {model['image']} has {channels * height * width} "
                                 f"values; the data have {n_in} features")
            for i, out in enumerate(model["channels"], start=1):
                bound = 1.0 / math.sqrt(channels * 9)
                params[f"conv{i}_w"] = uniform(out, channels, 3, 3, bound=bound)
                params[f"conv{i}_b"] = uniform(out, bound=bound)
                channels, height, width = out, height // 2, width // 2
            fan_in = channels * height * width
        for i, width in enumerate([*model["hidden"], n_out], start=1):
            bound = 1.0 / math.sqrt(fan_in)
            params[f"w{i}"] = uniform(width, fan_in, bound=bound)
            params[f"b{i}"] = uniform(width, bound=bound)
            fan_in = width
        return params
    raise ValueError(f"unknown arch {model['arch']!r}; allowed: {', '.join(ARCHS)}")


def sample_masks(model: dict, keep_prob: float, mode: str, n: int, generator: torch.Generator,
                 dtype=torch.float32, device="cpu", batch: tuple = ()) -> tuple:
    """One dropout mask per hidden layer: values 1/p (probability p) or 0.

    Shape (*batch, width) for ``per_step``, (*batch, n, width) for ``per_sample``; ``batch``
    gives that many independent draws at once (paths, masks of the random gradient data).
    """
    if mode not in MASK_MODES:
        raise ValueError(f"mask must be one of {', '.join(MASK_MODES)}, got {mode!r}")
    masks = []
    for width in hidden_widths(model):
        shape = (*batch, width) if mode == "per_step" else (*batch, n, width)
        u = torch.rand(shape, generator=generator, device=device, dtype=torch.float32)
        masks.append((u < keep_prob).to(dtype) / keep_prob)
    return tuple(masks)


def forward(model: dict, params: dict, x: torch.Tensor, masks=None) -> torch.Tensor:
    """Network output for inputs x (n, d): (n,) for two_layer, (n, classes) for fnn and cnn."""
    act = ACTIVATIONS[model["activation"]]
    if model["arch"] == "two_layer":
        h = act(x @ params["w"].T)
        if masks is not None:
            h = h * masks[0]
        return h @ params["a"]
    n_hidden = len(model["hidden"])
    h = x
    if model["arch"] == "cnn":
        h = x.reshape(*x.shape[:-1], *model["image"])
        for i in range(1, len(model["channels"]) + 1):
            h = act(F.conv2d(h, params[f"conv{i}_w"], params[f"conv{i}_b"], padding=1))
            h = F.max_pool2d(h, 2)
        h = h.flatten(-3)
    for i in range(1, n_hidden + 1):
        h = act(h @ params[f"w{i}"].T + params[f"b{i}"])
        if masks is not None:
            h = h * masks[i - 1]
    last = n_hidden + 1
    return h @ params[f"w{last}"].T + params[f"b{last}"]


def loss_value(kind: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``mse``: R_S = 1/(2n) sum_i (f(x_i) - y_i)^2 (the paper's convention); ``cross_entropy``."""
    if kind == "mse":
        return 0.5 * torch.mean((out - y) ** 2)
    if kind == "cross_entropy":
        return F.cross_entropy(out, y)
    raise ValueError(f"unknown loss {kind!r}; allowed: mse, cross_entropy")


def accuracy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (out.argmax(-1) == y).to(out.dtype).mean()
