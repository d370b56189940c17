"""``fnn``: a feed-forward network with dropout after every hidden layer (nn.Linear's
initialisation). The noise stage's closed forms (``models.fnn``) are written for it."""

from __future__ import annotations

from . import register
from .headed import Headed


@register
class FNN(Headed):
    name = "fnn"
    fnn_kernel = True

    def head(self, model, block):
        return None         # the whole network is its head

    def label(self, model):
        return "FNN " + "-".join(str(w) for w in model["hidden"])
