"""The activations and their derivatives, in one place.

``ACTIVATIONS[name]`` is sigma; ``DERIVATIVES[name]`` is (sigma', sigma''), each taking (z, h)
with h = sigma(z), so that no activation is evaluated twice, and written in float operations (a
bool mask times a float is slow on the CPU). relu's are those of its smooth neighbours where they
exist (0 at 0): the theory needs a smooth activation, relu shows what happens where it fails.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

ACTIVATIONS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "gelu": F.gelu,
    "softplus": F.softplus,
}


def _phi(z):
    return torch.exp(-0.5 * z * z) / (2 * torch.pi) ** 0.5


def _cdf(z):
    return 0.5 * (1 + torch.erf(z / 2 ** 0.5))


DERIVATIVES = {
    "tanh": (lambda z, h: 1 - h * h, lambda z, h: -2 * h * (1 - h * h)),
    "relu": (lambda z, h: torch.sign(h), lambda z, h: torch.zeros_like(z)),
    "gelu": (lambda z, h: _cdf(z) + z * _phi(z), lambda z, h: _phi(z) * (2 - z * z)),
    "softplus": (lambda z, h: torch.sigmoid(z),
                 lambda z, h: torch.sigmoid(z) * (1 - torch.sigmoid(z))),
}

