"""One analysed problem: a model's parameters, the training data, the loss and the parameter block
whose noise and landscape the stage measures, with the head applied once.

For a cnn or resnet and a block of its FNN head, ``Problem.of`` runs the mask-free trunk once and
keeps the head (``models.head``): every later gradient, Hessian and line loss then runs on the
head alone, with the FNN kernel. ``at_checkpoint`` is the one place where the noise stage, the
comparisons and the keep sweep set up a checkpoint of a training run (theta* among them).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch

from .. import models


@dataclass(frozen=True)
class Problem:
    model: dict
    params: dict
    x: torch.Tensor
    y: torch.Tensor
    loss: str
    block: str

    @classmethod
    def of(cls, model: dict, params: dict, x, y, loss: str, block: str) -> Problem:
        models.block_vector(params, block)          # a clear error for an unknown block
        model, params, x = models.head(model, params, x, block)
        return cls(model, params, x, y, loss, block)

    @property
    def theta(self) -> torch.Tensor:
        """The block's parameters, flat."""
        return models.block_vector(self.params, self.block)

    def loss_fn(self):
        """theta_block (flat) -> dropout-free training loss, the other parameters fixed."""
        def f(theta):
            full = models.with_block(self.params, self.block, theta)
            return models.loss_value(self.loss, models.forward(self.model, full, self.x), self.y)

        return f

    @cached_property
    def loss0(self) -> float:
        """The dropout-free training loss at the parameters (computed once per problem)."""
        return float(self.loss_fn()(self.theta))


def at_checkpoint(spec: dict, x, y, checkpoints: dict, step: int, seed: int) -> Problem:
    """The problem of ``spec`` (model, loss, block) at checkpoint ``step`` of run ``seed``
    (``checkpoints``: {"steps", "seeds", "params"} as written by training), on x's device."""
    i = [int(s) for s in checkpoints["steps"]].index(step)
    s = [int(s) for s in checkpoints["seeds"]].index(seed)
    params = {k: v[i, s].to(x.device) for k, v in checkpoints["params"].items()}
    return Problem.of(spec["model"], params, x, y, spec["loss"], spec["block"])
