"""The update rules of training, on stacked parameters (a leading seed dimension).

- ``gd``: theta <- theta - lr g, the paper's full-batch GD and the only optimizer the SME theory
  speaks about;
- ``adam``: Adam (Kingma & Ba 2015, with bias correction, as torch.optim.Adam) under Vaswani et
  al.'s warm-up schedule (2017, eq. 3): the rate rises linearly to the setting's ``lr`` at step
  ``warmup`` and falls like 1/sqrt(step) after it, lr_t = lr min(t / warmup, sqrt(warmup / t))
  at update t = 1, 2, ... (their d_model^-0.5 warmup^-0.5 is then lr). The precursor's
  transformer trained so; runs that use it are outside the SME theory (config/README.md).

An optimizer's state is a dict of tensors, saved with a run's resume state.
"""

from __future__ import annotations

import math

import torch

OPTIMIZERS = ("gd", "adam")


def warmup_rate(lr: float, warmup: int, t: int) -> float:
    """The rate of update t = 1, 2, ... (Vaswani et al.'s schedule with peak ``lr``)."""
    return lr * min(t / warmup, math.sqrt(warmup / t))


class GD:
    def __init__(self, lr: float):
        self.lr = lr

    def update(self, params: dict, grads: dict, t: int) -> dict:
        """Parameters after update t = 1, 2, ... with gradients ``grads``."""
        return {k: p - self.lr * grads[k] for k, p in params.items()}

    def state(self) -> dict:
        return {}

    def load(self, state: dict, device) -> None:
        pass


class Adam:
    def __init__(self, lr: float, betas=(0.9, 0.98), eps: float = 1e-9, warmup: int = 4000):
        self.lr, self.betas, self.eps, self.warmup = lr, tuple(betas), eps, warmup
        self.m: dict = {}
        self.v: dict = {}

    def update(self, params: dict, grads: dict, t: int) -> dict:
        b1, b2 = self.betas
        rate = warmup_rate(self.lr, self.warmup, t)
        out = {}
        for k, p in params.items():
            g = grads[k]
            m = self.m.get(k, torch.zeros_like(p)).mul(b1).add_(g, alpha=1 - b1)
            v = self.v.get(k, torch.zeros_like(p)).mul(b2).addcmul_(g, g, value=1 - b2)
            self.m[k], self.v[k] = m, v
            denom = (v / (1 - b2 ** t)).sqrt_().add_(self.eps)
            out[k] = p - rate / (1 - b1 ** t) * m / denom
        return out

    def state(self) -> dict:
        return {"m": {k: v.cpu() for k, v in self.m.items()},
                "v": {k: v.cpu() for k, v in self.v.items()}}

    def load(self, state: dict, device) -> None:
        self.m = {k: v.to(device) for k, v in state["m"].items()}
        self.v = {k: v.to(device) for k, v in state["v"].items()}


def make(spec: dict | None, lr: float):
    """The optimizer of a run: ``spec`` is the experiment's ``optimizer`` (None or name gd: GD)."""
    spec = spec or {"name": "gd"}
    if spec["name"] == "gd":
        return GD(lr)
    if spec["name"] == "adam":
        return Adam(lr, **{k: v for k, v in spec.items() if k != "name"})
    raise ValueError(f"unknown optimizer {spec['name']!r}; allowed: {', '.join(OPTIMIZERS)}")
