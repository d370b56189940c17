"""``resnet``: ResNet-(6k+2) for 32x32 images (He et al. 2016, CIFAR form: 16-32-64 channels,
parameter-free shortcuts that subsample and zero-pad, global average pooling), then an FNN head
with dropout after each hidden layer. ResNets carry no dropout of their own; the head's hidden
layers are where it goes, and with ``conv_dropout`` (the precursor's) also after the stem, after
each block's first convolution and after each block's residual sum.

**BatchNorm** normalises with the statistics of the batch it is given and keeps no running
averages: the network is then a pure function of (params, x), so ``torch.func`` transforms and
Hessian-vector products see the same function that full-batch GD trains (the full training set is
the batch); evaluation on the test set uses the test batch's own statistics. ``norm: group`` puts
GroupNorm in its place (statistics per example and group of channels): the declared alternative
under which full-batch gradients can be summed over chunks of the data. Initialisation: He-normal
convolutions (std sqrt(2 / fan_in), no bias), norm scale 1 and shift 0, the head as an FNN's.
``widths`` (default 16, 32, 64) sets the channels of the three stages: the toy config narrows
them as it narrows every other width."""

from __future__ import annotations

import math

from . import register
from .cnn import check_image
from .headed import Headed

WIDTHS = (16, 32, 64)


def widths(model: dict) -> tuple[int, int, int]:
    """The channels of the three stages."""
    out = tuple(model.get("widths", WIDTHS))
    if len(out) != 3 or min(out) < 1:
        raise ValueError(f"resnet widths must be three positive channel counts, got {out}")
    return out


def blocks(model: dict) -> int:
    """Basic blocks per stage of ResNet-depth: depth = 6 k + 2."""
    depth = model["depth"]
    if (depth - 2) % 6:
        raise ValueError(f"resnet depth must be 6k + 2 (20, 32, 44, ...), got {depth}")
    return (depth - 2) // 6


def units(model: dict) -> list[tuple[str, int, int, int]]:
    """(name, input channels, output channels, stride) of every convolution in forward order."""
    stages = widths(model)
    out, c_in = [("stem", None, stages[0], 1)], stages[0]
    for s, c_out in enumerate(stages, start=1):
        for b in range(1, blocks(model) + 1):
            out += [(f"s{s}b{b}_1", c_in, c_out, 2 if s > 1 and b == 1 else 1),
                    (f"s{s}b{b}_2", c_out, c_out, 1)]
            c_in = c_out
    return out


def batch_norm(h, scale, shift, eps: float = 1e-5):
    """BatchNorm of (n, C, H, W) with the batch's own statistics (no running averages): torch's
    fused kernel (benchmarks/resnet_step.py compares it with the statistics written out), or,
    for inputs with leading dimensions of their own, those statistics per leading index."""
    import torch
    import torch.nn.functional as F

    if h.dim() == 4:
        return F.batch_norm(h, None, None, scale, shift, training=True, eps=eps)
    mean = h.mean((-4, -2, -1), keepdim=True)
    var = h.var((-4, -2, -1), keepdim=True, unbiased=False)
    return (h - mean) * torch.rsqrt(var + eps) * scale[:, None, None] + shift[:, None, None]


@register
class ResNet(Headed):
    name = "resnet"

    def trunk_names(self, model):
        return [f"{u}_{p}" for u, *_ in units(model) for p in "wgs"]

    def trunk_masks(self, model):
        if not model.get("conv_dropout"):
            return []
        _, height, width = model["image"]
        stages = widths(model)
        shapes = [(stages[0], height, width)]
        for s, channels in enumerate(stages, start=1):
            for b in range(1, blocks(model) + 1):
                if s > 1 and b == 1:
                    height, width = (height + 1) // 2, (width + 1) // 2
                shapes += [(channels, height, width)] * 2
        return shapes

    def init_trunk(self, model, n_in, draw, params):
        check_image(model, n_in)
        for name, c_in, c_out, _ in units(model):
            c_in = model["image"][0] if c_in is None else c_in
            params[f"{name}_w"] = draw.normal(c_out, c_in, 3, 3, std=math.sqrt(2.0 / (c_in * 9)))
            params[f"{name}_g"] = draw.ones(c_out)
            params[f"{name}_s"] = draw.zeros(c_out)
        return widths(model)[-1]

    def trunk(self, model, params, x, masks=None):
        import torch.nn.functional as F

        from ..models.activations import ACTIVATIONS

        act = ACTIVATIONS[model["activation"]]
        h = x.reshape(*x.shape[:-1], *model["image"])

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
        for s in range(1, len(widths(model)) + 1):
            for b in range(1, blocks(model) + 1):
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

    def features(self, model, data):
        return widths(model)[-1]

    def trunk_flops(self, model, data):
        c, h, w = model.get("image") or data.image
        stages = widths(model)
        total = 18.0 * c * stages[0] * h * w
        c = stages[0]
        for s, width in enumerate(stages):
            for b in range(blocks(model)):
                if s and not b:
                    h, w = h // 2, w // 2
                total += 18.0 * (c + width) * width * h * w
                c = width
        return total

    def trunk_kept(self, model, data):
        _, h, w = model.get("image") or data.image
        stages = widths(model)
        kept = 3 * stages[0] * h * w
        for s, width in enumerate(stages):
            for b in range(blocks(model)):
                if s and not b:
                    h, w = h // 2, w // 2
                kept += 6 * width * h * w                 # two convolutions, batch norms, sums
        return kept

    def config_error(self, model, name, dataset):
        stages = widths(model)
        groups = model.get("groups", 8)
        if model.get("norm", "batch") == "group" and any(c % groups for c in stages):
            return "groups", (f"got {groups}; allowed: a divisor of every stage's channels "
                              f"{'-'.join(map(str, stages))} (GroupNorm splits them in groups)")
        return None

    def chunk_refusal(self, model):
        if model.get("norm", "batch") == "batch":
            return ("resnet with batch norm", "batch norm takes its statistics over the whole "
                    "batch, which micro-batches cannot reproduce", "model.norm: group")
        return None

    def label(self, model):
        norm = "GroupNorm" if model.get("norm") == "group" else "BatchNorm"
        sites = ", conv dropout" if model.get("conv_dropout") else ""
        stages = widths(model)
        channels = "" if stages == WIDTHS else f"{'-'.join(map(str, stages))} channels, "
        return f"ResNet-{model['depth']} ({channels}{norm}{sites}) + {model['hidden']}"

    def toy(self, model, narrow, length):
        """ResNet-8 with every stage's channels narrowed; GroupNorm's groups divide them."""
        out = {**super().toy(model, narrow, length), "depth": 8,
               "widths": [narrow(c) for c in widths(model)]}
        if model.get("norm") == "group":
            out["groups"] = math.gcd(model.get("groups", 8), *out["widths"])
        return out
