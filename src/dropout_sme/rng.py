"""Randomness: one root seed → ``numpy.random.SeedSequence`` → one independent stream per purpose.

No global reseeding anywhere: every random draw takes an explicit generator from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

# Fixed order: adding a purpose at the end never changes the streams of the existing ones.
PURPOSES = ("init", "data_order", "masks", "probes", "brownian", "data")


def seed_sequence(seed: int, purpose: str) -> np.random.SeedSequence:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown random stream {purpose!r}; known: {', '.join(PURPOSES)}")
    return np.random.SeedSequence(int(seed)).spawn(len(PURPOSES))[PURPOSES.index(purpose)]


def numpy_rng(seed: int, purpose: str) -> np.random.Generator:
    return np.random.default_rng(seed_sequence(seed, purpose))


def torch_generator(seed: int, purpose: str, device="cpu") -> torch.Generator:
    import torch            # here, so that the data jobs (numpy streams only) start without it

    state = seed_sequence(seed, purpose).generate_state(2, np.uint32)
    g = torch.Generator(device=device)
    g.manual_seed(int(state[0]) << 31 | int(state[1]) >> 1)  # < 2**63
    return g
