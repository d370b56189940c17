"""The machine's rates now, one thread: float32 matmul (compute-bound) and an elementwise add
(memory-bound). On a shared machine the two drift apart between runs, so timings from different
runs compare only beside them (docs/performance.md)."""

import time

import numpy as np
import torch


def timed(fn, reps: int = 1) -> float:
    """Fastest wall time of ``reps`` calls after one warm-up call."""
    fn()
    best = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def matmul_rate() -> float:
    """FLOP/s of a float32 2000 x 2000 matrix product."""
    a = torch.randn(2000, 2000)
    return 2 * 2000 ** 3 / timed(lambda: a @ a, reps=5)


def elementwise_rate() -> float:
    """Bytes/s of an out-of-place float32 add of two 64 MiB tensors (read two, write one)."""
    a, b = torch.randn(1 << 24), torch.randn(1 << 24)
    out = torch.empty_like(a)
    return 3 * a.numel() * 4 / timed(lambda: torch.add(a, b, out=out), reps=5)


def describe() -> str:
    """The rates on one thread, as one line."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return (f"float32 2000^3 matmul {matmul_rate() / 1e9:.1f} GFLOP/s, elementwise add "
                f"{elementwise_rate() / 1e9:.1f} GB/s (one thread)")
    finally:
        torch.set_num_threads(threads)
