"""Device choice: ``cpu``, ``cuda`` or ``auto`` (cuda when available); nothing assumes CUDA.

On a machine with several GPUs, Snakemake runs concurrent jobs but does not say which GPU each
should use, so without care they all land on GPU 0. ``gpu_slot`` gives each job its own GPU:
it takes an exclusive lock file per GPU (``fcntl.flock``, released when the job ends, even if it
is killed) and waits while all are taken. Under SLURM, where ``CUDA_VISIBLE_DEVICES`` already
holds only the job's GPUs, the job simply gets the first of them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from pathlib import Path

import torch


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} requested but torch sees no CUDA device; "
                           "use device: auto or cpu")
    return torch.device(name)


@contextlib.contextmanager
def gpu_slot(name: str = "auto", lock_dir=None, poll: float = 1.0):
    """Resolve ``name`` and, for CUDA, hold one GPU for the duration: yields a torch.device."""
    device = resolve_device(name)
    count = torch.cuda.device_count() if device.type == "cuda" else 0
    if device.type != "cuda" or device.index is not None:
        yield device
        return
    if count <= 1:
        yield torch.device("cuda", 0)
        return
    folder = Path(lock_dir or os.environ.get("DROPOUT_SME_GPU_LOCKS")
                  or Path(tempfile.gettempdir()) / "dropout-sme-gpu-locks")
    folder.mkdir(parents=True, exist_ok=True)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "all").replace(",", "-")
    while True:
        for index in range(count):
            handle = open(folder / f"gpu-{visible}-{index}.lock", "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield torch.device("cuda", index)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        time.sleep(poll)


def total_memory_mb(device: torch.device) -> float:
    """The memory of the device a job runs on: the GPU's, or the machine's RAM."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory / 2 ** 20
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 20


def check_memory(need_mb, device: torch.device) -> None:
    """Refuse, before any work, a job whose estimated memory (``need_mb``, the cost plan's;
    None: no estimate) exceeds its device's."""
    if need_mb is None:
        return
    have = total_memory_mb(device)
    if need_mb > have:
        raise MemoryError(
            f"this job needs about {need_mb / 1024:.1f} GB on {device} by the cost plan "
            f"(python -m dropout_sme.plan), more than the device's {have / 1024:.1f} GB: lower its "
            "chunk, masks or batch in the config, or run it on a larger device")


@contextlib.contextmanager
def compute_job(name: str, threads: int, need_mb=None):
    """Everything a compute rule's script sets up: one GPU from the pool (``gpu_slot``), the
    memory check against the cost plan's estimate (``need_mb``), torch's thread count, the
    allocator tuning and timestamped INFO logging; yields the device."""
    import logging

    with gpu_slot(name) as device:
        check_memory(need_mb, device)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
        torch.set_num_threads(threads)
        tune_allocator()
        exact_float32()
        yield device


def exact_float32() -> None:
    """float32 means float32 on a GPU too: no TF32 (10-bit mantissa) in matrix products or
    convolutions. cuDNN allows TF32 by default; on an H200 it gave a ResNet's float32 gradient a
    relative error of 7.7e-3 against float64 (5e-7 without; benchmarks/gpu_check.py), which
    Hessians, noise covariances and the SME comparisons cannot absorb."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def tune_allocator() -> bool:
    """Keep freed memory in the process instead of returning it to the OS after every tensor.

    glibc serves allocations above 128 KiB with mmap and unmaps them on free, so loops over
    medium-sized tensors (the SME simulators, batched training) page-fault on every operation:
    several times slower on the CPU (``benchmarks/train_speed.py --no-tune``). Raising the mmap
    and trim thresholds at run time (mallopt) removes that. Returns False where glibc is not
    available (nothing changes there).
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
