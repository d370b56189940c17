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


def tune_allocator() -> bool:
    """Keep freed memory in the process instead of returning it to the OS after every tensor.

    glibc serves allocations above 128 KiB with mmap and unmaps them on free, so loops over
    medium-sized tensors (the SME simulators, batched training) page-fault on every operation:
    measured 2-4x slower on the CPU. Raising the mmap and trim thresholds at run time (mallopt)
    removes that. Returns False where glibc is not available (nothing changes there).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
        big = 1 << 30
        return bool(libc.mallopt(m_mmap_threshold, big) and libc.mallopt(m_trim_threshold, big)
                    and libc.mallopt(m_top_pad, 64 << 20))
    except (OSError, AttributeError):
        return False
