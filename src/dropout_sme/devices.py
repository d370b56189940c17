"""Device choice: ``cpu``, ``cuda`` or ``auto`` (cuda when available); nothing assumes CUDA."""

from __future__ import annotations

import torch


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} requested but torch sees no CUDA device; "
                           "use device: auto or cpu")
    return torch.device(name)
