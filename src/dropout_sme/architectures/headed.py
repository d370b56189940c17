"""The architectures with an FNN head: a trunk (none for the FNN, convolutions for a cnn or
resnet), then hidden layers each followed by its dropout mask, then the output layer (nn.Linear's
initialisation, with biases unless ``bias: false``)."""

from __future__ import annotations

from . import Architecture, head_layer


def fnn_flops(widths) -> float:
    """Operations of a forward pass through linear layers of these widths."""
    return 2.0 * sum(a * b for a, b in zip(widths[:-1], widths[1:]))


class Headed(Architecture):
    """Subclasses give the trunk: its parameters (``trunk_names``, ``init_trunk``), its dropout
    sites (``trunk_masks``), its forward pass (``trunk``), its features and costs."""

    def trunk_names(self, model: dict) -> list[str]:
        return []

    def trunk_masks(self, model: dict) -> list[tuple]:
        """Per-sample shapes of the trunk's dropout sites (none: a mask-free trunk)."""
        return []

    def init_trunk(self, model: dict, n_in: int, draw, params: dict) -> int:
        """Fill ``params`` with the trunk's parameters; the number of features it gives."""
        return n_in

    def trunk(self, model: dict, params: dict, x, masks=None):
        return x

    def features(self, model: dict, data) -> int:
        """The trunk's output features per sample (the head's first fan-in)."""
        return data.features

    def trunk_flops(self, model: dict, data) -> float:
        return 0.0

    def trunk_kept(self, model: dict, data) -> float:
        return 0.0

    def param_names(self, model):
        kinds = "wb" if model.get("bias", True) else "w"
        layers = len(model["hidden"]) + 1
        return self.trunk_names(model) + [f"{p}{i}" for i in range(1, layers + 1) for p in kinds]

    def mask_shapes(self, model, n_in=None):
        return self.trunk_masks(model) + [(w,) for w in model["hidden"]]

    def init(self, model, n_in, n_out, draw):
        params = {}
        fan_in = self.init_trunk(model, n_in, draw, params)
        for i, width in enumerate([*model["hidden"], n_out], start=1):
            draw.linear(params, f"w{i}", f"b{i}" if model.get("bias", True) else None, width,
                        fan_in)
            fan_in = width
        return params

    def forward(self, model, params, x, masks=None):
        from ..models import fnn as kernel

        last = len(model["hidden"]) + 1
        n_trunk = len(self.trunk_masks(model))
        if masks is not None and n_trunk:
            trunk_masks, masks = masks[:n_trunk], masks[n_trunk:]
        else:
            trunk_masks = None
        h = self.trunk(model, params, x, trunk_masks)
        h = kernel.layers(model, params, h, 1, last, masks)
        return kernel.linear(h, params, last)

    def head(self, model, block):
        if head_layer(block) is None or self.trunk_masks(model):
            return None
        return {"arch": "fnn", "hidden": model["hidden"], "activation": model["activation"],
                "bias": model.get("bias", True)}

    def _head_widths(self, model, data):
        return [self.features(model, data), *model["hidden"], data.outputs]

    def flops(self, model, data, head_only=False):
        head = fnn_flops(self._head_widths(model, data))
        return head if head_only else self.trunk_flops(model, data) + head

    def kept(self, model, data, head_only=False):
        head = float(sum(model["hidden"]) + data.outputs)
        return head if head_only else self.trunk_kept(model, data) + head

    def block_size(self, model, data, block):
        i = head_layer(block)
        if i is None:
            return super().block_size(model, data, block)
        widths = self._head_widths(model, data)
        return widths[i - 1] * widths[i] if block.startswith("w") else widths[i]

    def toy(self, model, narrow, length):
        return {**model, "hidden": [narrow(h) for h in model["hidden"]]}
