"""``cnn``: stages of 3x3 convolutions (each + activation), each stage closed by 2x2 max pooling,
then an FNN head with dropout after each hidden layer. ``channels: [8, 16]`` is the small CNN (one
convolution per stage); ``[[64, 64], [128, 128], [256, 256, 256], ...]`` is VGG16's feature stack
(VGG puts its dropout in the fully connected head, as here). Initialisation: nn.Conv2d's default
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (fan_in = in_channels x 3 x 3), or with ``init: he``
He-normal convolutions (std sqrt(2 / fan_in), zero bias), which a deep stack such as VGG16 needs
to pass a signal at initialisation (torchvision's VGG does the same)."""

from __future__ import annotations

import math

from . import register
from .headed import Headed


def conv_stages(model: dict) -> list[list[int]]:
    """A cnn's ``channels`` as stages (each a list of convolution widths, closed by pooling)."""
    return [[c] if isinstance(c, int) else list(c) for c in model["channels"]]


def check_image(model: dict, n_in: int) -> None:
    channels, height, width = model["image"]
    if channels * height * width != n_in:
        raise ValueError(f"{model['arch']} image {model['image']} has "
                         f"{channels * height * width} values; the data have {n_in} features")


@register
class CNN(Headed):
    name = "cnn"

    def trunk_names(self, model):
        convs = sum(len(stage) for stage in conv_stages(model))
        return [f"conv{c}_{p}" for c in range(1, convs + 1) for p in "wb"]

    def init_trunk(self, model, n_in, draw, params):
        check_image(model, n_in)
        channels, height, width = model["image"]
        conv = 0
        for stage in conv_stages(model):
            for out in stage:
                conv += 1
                fan_in = channels * 9
                if model.get("init", "torch") == "he":      # deep stacks (VGG16): He normal
                    params[f"conv{conv}_w"] = draw.normal(out, channels, 3, 3,
                                                          std=math.sqrt(2.0 / fan_in))
                    params[f"conv{conv}_b"] = draw.zeros(out)
                else:
                    bound = 1.0 / math.sqrt(fan_in)
                    params[f"conv{conv}_w"] = draw.uniform(out, channels, 3, 3, bound=bound)
                    params[f"conv{conv}_b"] = draw.uniform(out, bound=bound)
                channels = out
            height, width = height // 2, width // 2
        return channels * height * width

    def trunk(self, model, params, x, masks=None):
        import torch.nn.functional as F

        from ..models.activations import ACTIVATIONS

        act = ACTIVATIONS[model["activation"]]
        h = x.reshape(*x.shape[:-1], *model["image"])
        conv = 0
        for stage in conv_stages(model):
            for _ in stage:
                conv += 1
                h = act(F.conv2d(h, params[f"conv{conv}_w"], params[f"conv{conv}_b"], padding=1))
            h = F.max_pool2d(h, 2)
        return h.flatten(-3)

    def features(self, model, data):
        _, h, w = model.get("image") or data.image
        stages = conv_stages(model)
        return stages[-1][-1] * (h >> len(stages)) * (w >> len(stages))

    def trunk_flops(self, model, data):
        c, h, w = model.get("image") or data.image
        total = 0.0
        for stage in conv_stages(model):
            for width in stage:
                total += 18.0 * c * width * h * w
                c = width
            h, w = h // 2, w // 2
        return total

    def trunk_kept(self, model, data):
        _, h, w = model.get("image") or data.image
        kept = 0.0
        for stage in conv_stages(model):
            kept += sum(2 * width * h * w for width in stage)
            h, w = h // 2, w // 2
        return kept

    def label(self, model):
        return f"CNN {model['channels']} + {model['hidden']}"

    def toy(self, model, narrow, length):
        channels = [[narrow(c) for c in s] if isinstance(s, list) else narrow(s)
                    for s in model["channels"]]
        return {**super().toy(model, narrow, length), "channels": channels}
