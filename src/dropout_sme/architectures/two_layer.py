"""``two_layer``: the theory's network f(x) = sum_r a_r sigma(w_r.x) with dropout on its m hidden
units; w_r ~ N(0, I/d), a_r ~ N(0, 1/m), times ``init_scale``. One output: regression only."""

from __future__ import annotations

import math

from . import Architecture, register


@register
class TwoLayer(Architecture):
    name = "two_layer"
    scalar_output = True

    def param_names(self, model):
        return ["w", "a"]

    def mask_shapes(self, model, n_in=None):
        return [(model["width"],)]

    def init(self, model, n_in, n_out, draw):
        if n_out != 1:
            raise ValueError("two_layer has a scalar output: use it with a regression dataset")
        m, scale = model["width"], model.get("init_scale", 1.0)
        return {"w": draw.normal(m, n_in, std=scale / math.sqrt(n_in)),
                "a": draw.normal(m, std=scale / math.sqrt(m))}

    def forward(self, model, params, x, masks=None):
        from ..models.activations import ACTIVATIONS

        h = ACTIVATIONS[model["activation"]](x @ params["w"].T)
        if masks is not None:
            h = h * masks[0]
        return h @ params["a"]

    def flops(self, model, data, head_only=False):
        return 2.0 * model["width"] * (data.features + 1)

    def kept(self, model, data, head_only=False):
        return float(model["width"])

    def label(self, model):
        return f"two-layer m={model['width']}"

    def toy(self, model, narrow, length):
        return dict(model)
