"""Functional models with an explicit dropout mask argument (``torch.func`` friendly).

Parameters are plain dicts of tensors; ``forward(model, params, x, masks)`` is a pure function, so
the same code runs one network or, under ``torch.func.vmap``, many seeds / paths / masks at once.
(One module for the architectures, their initialisation, masks and forward pass one function each
with a branch per architecture, read side by side; the sequence models' bodies are in
``transformer``.)

Dropout follows the paper's convention: each hidden output is multiplied by eta = 1/p with
probability p (the *keep* probability) and by 0 otherwise (inverted dropout), so E eta = 1 and
Var eta = (1-p)/p. ``masks=None`` is the dropout-free network.

Architectures:
- ``two_layer``: the theory's f(x) = sum_r a_r sigma(w_r.x);
- ``fnn``: dropout after every hidden layer;
- ``cnn``: stages of 3x3 convolutions (each + activation), each stage closed by 2x2 max pooling,
  then an FNN head with dropout after each hidden layer. ``channels: [8, 16]`` is the small CNN
  (one convolution per stage); ``[[64, 64], [128, 128], [256, 256, 256], ...]`` is VGG16's
  feature stack (VGG puts its dropout in the fully connected head, as here);
- ``resnet``: ResNet-(6k+2) for 32x32 images (He et al. 2016, CIFAR form: 16-32-64 channels,
  parameter-free shortcuts that subsample and zero-pad, global average pooling), then the same FNN
  head. ResNets carry no dropout of their own; the head's hidden layers are where it goes here.
  **BatchNorm** normalises with the statistics of the batch it is given and keeps no running
  averages: the network is then a pure function of (params, x), so ``torch.func`` transforms and
  Hessian-vector products see the same function that full-batch GD trains (the full training set
  is the batch). Evaluation on the test set uses the test batch's own statistics. ``norm: group``
  puts GroupNorm in its place (statistics per example and group of channels): the declared
  alternative under which full-batch gradients can be summed over chunks of the data.
- ``transformer`` and ``encoder_decoder``: the sequence models of ``models.transformer``
  (decoder-only, and the precursor's encoder-decoder), on token ids stored as floats.

Mask conventions (config key ``mask``):
- ``per_step``: one mask per hidden layer shared by every sample of the batch (the theory's);
- ``per_sample``: an independent mask for every sample (what ``torch.nn.Dropout`` does).
A mask's shape per sample is ``mask_shapes(model, n_in)``: (width,) for a hidden layer,
(positions, width) for a transformer sublayer.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..architectures import (ALL, ARCHS, HEADED, MASK_MODES, RESNET_WIDTHS, SEQUENCE, conv_stages,
                             head_layer, resnet_blocks, resnet_trunk_masks)
from .activations import ACTIVATIONS
from . import fnn, transformer
from .fnn import layers
from .losses import IGNORE, accuracy, loss_value  # noqa: F401  (the models' face)


def mask_shapes(model: dict, n_in: int | None = None) -> list[tuple]:
    """Per-sample shape of every dropout mask, in order (``n_in``: a transformer's positions)."""
    if model["arch"] == "two_layer":
        return [(model["width"],)]
    if model["arch"] in HEADED:
        return resnet_trunk_masks(model) + [(w,) for w in model["hidden"]]
    if model["arch"] in SEQUENCE:
        return transformer.mask_shapes(model, n_in)
    raise ValueError(f"unknown arch {model['arch']!r}; allowed: {', '.join(ARCHS)}")


def head(model: dict, params: dict, x, block: str):
    """(head model, head params, trunk output): the FNN head of a cnn or resnet applied to the
    trunk's output, when ``block`` is one of the head's parameters. The trunk carries no dropout,
    so the head alone gives the same outputs, masks and block derivatives, with the fast FNN paths
    of the noise stage; any other model or block (or a resnet with ``conv_dropout``, whose trunk
    has masks) comes back unchanged."""
    if model["arch"] not in ("cnn", "resnet") or head_layer(block) is None \
            or resnet_trunk_masks(model):
        return model, params, x
    head_model = {"arch": "fnn", "hidden": model["hidden"], "activation": model["activation"],
                  "bias": model.get("bias", True)}
    head_params = {k: v for k, v in params.items() if head_layer(k) is not None}
    return head_model, head_params, trunk(model, params, x)


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
    cnn: the same bounds for every layer (nn.Conv2d's default too; fan_in = in_channels x 3 x 3),
    or with ``init: he`` He-normal convolutions (std sqrt(2 / fan_in), zero bias), which a deep
    stack such as VGG16 needs to pass a signal at initialisation (torchvision's VGG does the same);
    ``n_in`` must equal the product of ``model["image"]`` (channels, height, width).
    resnet: He-normal convolutions (std sqrt(2 / fan_in), no bias), BatchNorm scale 1 and shift 0,
    the head as fnn. transformer, encoder_decoder (``n_in`` positions, ``n_out`` tokens): see
    ``transformer.init``.
    """
    def normal(*shape, std):
        return torch.randn(*shape, generator=generator, dtype=torch.float64).mul_(std).to(dtype)

    def uniform(*shape, bound):
        u = torch.rand(*shape, generator=generator, dtype=torch.float64)
        return u.mul_(2 * bound).sub_(bound).to(dtype)

    def linear(params, weight, bias, out, fan_in):
        """nn.Linear's default initialisation into params[weight] (and params[bias])."""
        bound = 1.0 / math.sqrt(fan_in)
        params[weight] = uniform(out, fan_in, bound=bound)
        if bias:
            params[bias] = uniform(out, bound=bound)

    arch = model["arch"]
    if arch == "two_layer":
        if n_out != 1:
            raise ValueError("two_layer has a scalar output: use it with a regression dataset")
        m, scale = model["width"], model.get("init_scale", 1.0)
        return {"w": normal(m, n_in, std=scale / math.sqrt(n_in)),
                "a": normal(m, std=scale / math.sqrt(m))}
    if arch in SEQUENCE:
        return transformer.init(model, n_in, n_out, normal, uniform, linear, dtype)
    if arch not in HEADED:
        raise ValueError(f"unknown arch {arch!r}; allowed: {', '.join(ARCHS)}")
    params, fan_in = {}, n_in
    if arch in ("cnn", "resnet"):
        channels, height, width = model["image"]
        if channels * height * width != n_in:
            raise ValueError(f"{arch} image {model['image']} has {channels * height * width} "
                             f"values; the data have {n_in} features")
    if arch == "cnn":
        conv = 0
        for stage in conv_stages(model):
            for out in stage:
                conv += 1
                fan_in = channels * 9
                if model.get("init", "torch") == "he":      # deep stacks (VGG16): He normal
                    params[f"conv{conv}_w"] = normal(out, channels, 3, 3,
                                                     std=math.sqrt(2.0 / fan_in))
                    params[f"conv{conv}_b"] = torch.zeros(out, dtype=dtype)
                else:
                    bound = 1.0 / math.sqrt(fan_in)
                    params[f"conv{conv}_w"] = uniform(out, channels, 3, 3, bound=bound)
                    params[f"conv{conv}_b"] = uniform(out, bound=bound)
                channels = out
            height, width = height // 2, width // 2
        fan_in = channels * height * width
    if arch == "resnet":
        def conv_bn(name, c_in, c_out):
            params[f"{name}_w"] = normal(c_out, c_in, 3, 3, std=math.sqrt(2.0 / (c_in * 9)))
            params[f"{name}_g"] = torch.ones(c_out, dtype=dtype)
            params[f"{name}_s"] = torch.zeros(c_out, dtype=dtype)

        conv_bn("stem", channels, RESNET_WIDTHS[0])
        c_in = RESNET_WIDTHS[0]
        for s, c_out in enumerate(RESNET_WIDTHS, start=1):
            for b in range(1, resnet_blocks(model) + 1):
                conv_bn(f"s{s}b{b}_1", c_in, c_out)
                conv_bn(f"s{s}b{b}_2", c_out, c_out)
                c_in = c_out
        fan_in = c_in
    for i, width in enumerate([*model["hidden"], n_out], start=1):
        linear(params, f"w{i}", f"b{i}" if model.get("bias", True) else None, width, fan_in)
        fan_in = width
    return params


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


def trunk(model: dict, params: dict, x: torch.Tensor, masks=None) -> torch.Tensor:
    """The convolutional part of a cnn or resnet: flat features (n, f) for its FNN head; mask-free
    except a resnet with ``conv_dropout`` (``masks``: its ``resnet_trunk_masks``, in order)."""
    act = ACTIVATIONS[model["activation"]]
    h = x.reshape(*x.shape[:-1], *model["image"])
    if model["arch"] == "cnn":
        conv = 0
        for stage in conv_stages(model):
            for _ in stage:
                conv += 1
                h = act(F.conv2d(h, params[f"conv{conv}_w"], params[f"conv{conv}_b"], padding=1))
            h = F.max_pool2d(h, 2)
        return h.flatten(-3)

    def conv_bn(h, name, stride=1):
        h = F.conv2d(h, params[f"{name}_w"], stride=stride, padding=1)
        if model.get("norm", "batch") == "group":       # per example: chunks are exact
            return F.group_norm(h, model.get("groups", 8), params[f"{name}_g"],
                                params[f"{name}_s"], 1e-5)
        return batch_norm(h, params[f"{name}_g"], params[f"{name}_s"])

    sites = iter(masks or ())

    def drop(h):
        mask = next(sites, None)
        return h if mask is None else h * mask

    h = drop(act(conv_bn(h, "stem")))
    for s in range(1, len(RESNET_WIDTHS) + 1):
        for b in range(1, resnet_blocks(model) + 1):
            stride = 2 if s > 1 and b == 1 else 1
            out = drop(act(conv_bn(h, f"s{s}b{b}_1", stride)))
            out = conv_bn(out, f"s{s}b{b}_2")
            if stride == 2:                 # option A: subsample, zero-pad the new channels
                short = h[..., ::2, ::2]
                pad = out.shape[-3] - short.shape[-3]
                short = F.pad(short, (0, 0, 0, 0, pad // 2, pad - pad // 2))
            else:
                short = h
            h = drop(act(out + short))
    return h.mean((-2, -1))


def batch_norm(h: torch.Tensor, scale, shift, eps: float = 1e-5) -> torch.Tensor:
    """BatchNorm of (n, C, H, W) with the batch's own statistics (no running averages): torch's
    fused kernel (benchmarks/resnet_step.py compares it with the statistics written out), or,
    for inputs with leading dimensions of their own, those statistics per leading index."""
    if h.dim() == 4:
        return F.batch_norm(h, None, None, scale, shift, training=True, eps=eps)
    mean = h.mean((-4, -2, -1), keepdim=True)
    var = h.var((-4, -2, -1), keepdim=True, unbiased=False)
    return (h - mean) * torch.rsqrt(var + eps) * scale[:, None, None] + shift[:, None, None]


def forward(model: dict, params: dict, x: torch.Tensor, masks=None) -> torch.Tensor:
    """Network output for inputs x (n, d): (n,) for two_layer, (n, classes) for fnn, cnn and
    resnet, (n, positions, tokens) for transformer (target positions only for encoder_decoder)."""
    act = ACTIVATIONS[model["activation"]]
    if model["arch"] == "two_layer":
        h = act(x @ params["w"].T)
        if masks is not None:
            h = h * masks[0]
        return h @ params["a"]
    if model["arch"] in SEQUENCE:
        return transformer.forward(model, params, x, masks, act)
    last = len(model["hidden"]) + 1
    n_trunk = len(resnet_trunk_masks(model))
    if masks is not None and n_trunk:
        trunk_masks, masks = masks[:n_trunk], masks[n_trunk:]
    else:
        trunk_masks = None
    h = x if model["arch"] == "fnn" else trunk(model, params, x, trunk_masks)
    h = layers(model, params, h, 1, last, masks)
    return fnn.linear(h, params, last)
