"""Every random draw of the pipeline comes from a named stream here; no global reseeding anywhere.

A stream is a purpose (a name in ``PURPOSES``) and the fields that key it (a seed, a step, a
chunk ...); ``seed_sequence`` turns the pair into a ``numpy.random.SeedSequence`` and ``key``
into the identity of that sequence, so that a test can list the streams of every job of the DAG
and prove that no two jobs or purposes draw the same numbers unless the purpose says they must
(``Purpose.shared``: common random numbers, e.g. the settings of a seed start from the same
initial parameters, so that dropout and its no-dropout baseline are paired).

Each purpose belongs to a family, the construction its stream has always had (so that named
streams reproduce the numbers of earlier runs bitwise):

- ``spawn``: child ``code`` of ``SeedSequence(seed)`` (per-seed streams of training and data);
- ``noise``: ``SeedSequence([noise seed, run seed, keep_prob 1e9, lr 1e9, step, code])``, with
  the experiment's index among the analysed experiments appended when it is not 0 (the noise
  experiment is 0, so its streams are those of earlier runs; without the index two experiments
  with the same (keep_prob, lr) drew the same masks);
- ``sme``: ``SeedSequence([seed, code, variant, lr 1e9, keep_prob 1e9, chunk])`` (E1's paths);
- ``plain``: ``SeedSequence(seed)`` for code 0, else ``SeedSequence([seed, code])``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Purpose:
    family: str
    code: int
    shared: str = ""       # why different jobs may draw this very stream ("" = they never do)


_SEED_PAIRED = "paired by seed: every job that runs seed s draws the same numbers"
_NUMERICAL = ("a solver's start (Lanczos' vector, the sketch's test matrix): its result does "
              "not depend on it beyond the solver's tolerance")
PURPOSES = {
    # training and data (the spawn codes are the order of the original tuple of purposes)
    "init": Purpose("spawn", 0, _SEED_PAIRED + " (dropout runs and their baselines, E1's "
                    "theta_0, start from the same parameters)"),
    "data_order": Purpose("spawn", 1, _SEED_PAIRED + " (the same mini-batch order)"),
    "masks": Purpose("spawn", 2, _SEED_PAIRED + " (common random numbers across settings)"),
    "lanczos_start": Purpose("spawn", 3, _NUMERICAL),
    "sketch": Purpose("spawn", 4, _NUMERICAL),
    "data": Purpose("spawn", 5, "a dataset is a function of its spec: datasets of one seed "
                    "draw the same uniforms"),
    # the noise stage (E2-E5): codes as the stage has always used them, except keep_sweep
    "alignment_masks": Purpose("noise", 0),
    "theta_star_masks": Purpose("noise", 1),
    "null_draws": Purpose("noise", 2),
    "compare_sgd": Purpose("noise", 3),
    "compare_gaussian": Purpose("noise", 4),
    "keep_sweep_masks": Purpose("noise", 5),
    "mask_sensitivity_masks": Purpose("noise", 6),
    "sharpness_probes": Purpose("noise", 7),
    "reference_masks": Purpose("noise", 8),
    "compare_positive_control": Purpose("noise", 9),
    "compare_sgd_trained": Purpose("noise", 10),
    # E1: one stream per chunk of paths of each method
    **{f"sme_{m}": Purpose("sme", c, "common random numbers: the cells of the activation sweep "
                           "draw the masks and increments of the same (keep_prob, lr) cell")
       for m, c in (("dropout", 1), ("sme1", 2), ("sme2", 3), ("svag", 4), ("gf", 5),
                    ("gf2", 6))},
    # figures: resampling of the paths for the weak-order intervals
    "bootstrap": Purpose("plain", 0, "the figure and the table of one weak-order fit resample "
                         "the same way, so that they show the same interval"),
    # E1's exactly solvable reference: its data and initial parameters
    "exact_data": Purpose("plain", 1, "one problem: the exact reference and its Monte Carlo "
                          "runs (sme.linear) model the same data"),
    # figures: the resampling of the fluctuations' fits (as "bootstrap", for the other kind)
    "bootstrap_fluctuation": Purpose("plain", 2, "the figure and the table of one fluctuation "
                                     "fit resample the same way"),
}


_recording: list | None = None


@contextlib.contextmanager
def recording():
    """Collect (purpose, key) of every stream created inside the block (the tests' check that
    code draws only the streams its stage declares)."""
    global _recording
    outer, _recording = _recording, []
    try:
        yield _recording
    finally:
        _recording = outer


def _check(purpose: str) -> Purpose:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown random stream {purpose!r}; known: {', '.join(PURPOSES)}")
    return PURPOSES[purpose]


def _fixed(x: float) -> int:
    return round(float(x) * 1e9)


def seed_sequence(purpose: str, seed: int, **fields) -> np.random.SeedSequence:
    """The SeedSequence of one stream. ``seed`` is the root seed (a run's seed for ``spawn``
    purposes, the stage's own seed for ``noise`` and ``sme`` ones); ``fields`` are those of the
    purpose's family: ``run_seed``, ``keep_prob``, ``lr``, ``step``, ``experiment`` (noise),
    ``variant``, ``chunk`` (sme), each 0 when not given."""
    ss = _sequence(_check(purpose), seed, **fields)
    if _recording is not None:
        _recording.append((purpose, _identity(ss)))
    return ss


def _sequence(p: Purpose, seed, run_seed=0, keep_prob=0.0, lr=0.0, step=0, experiment=0,
              variant=0, chunk=0) -> np.random.SeedSequence:
    if p.family == "spawn":
        return np.random.SeedSequence(int(seed), spawn_key=(p.code,))
    if p.family == "noise":
        entropy = [int(seed), int(run_seed), _fixed(keep_prob), _fixed(lr), int(step), p.code]
        return np.random.SeedSequence(entropy + ([int(experiment)] if experiment else []))
    if p.family == "sme":
        return np.random.SeedSequence([int(seed), p.code, int(variant), _fixed(lr),
                                       _fixed(keep_prob), int(chunk)])
    return np.random.SeedSequence(int(seed) if p.code == 0 else [int(seed), p.code])


def key(purpose: str, seed: int, **fields) -> tuple:
    """The identity of a stream: two streams with equal keys draw the same numbers."""
    return _identity(_sequence(_check(purpose), seed, **fields))


def _identity(ss: np.random.SeedSequence) -> tuple:
    entropy = ss.entropy if isinstance(ss.entropy, int) else tuple(ss.entropy)
    return entropy, tuple(ss.spawn_key)


def stream(purpose: str, seed: int, **fields) -> np.random.Generator:
    """A numpy Generator on the named stream."""
    return np.random.default_rng(seed_sequence(purpose, seed, **fields))


def torch_stream(purpose: str, seed: int, device="cpu", **fields) -> torch.Generator:
    """A torch Generator on the named stream (seeded from its first 63 bits of state)."""
    import torch            # here, so that the data jobs (numpy streams only) start without it

    ss = seed_sequence(purpose, seed, **fields)
    g = torch.Generator(device=device)
    if PURPOSES[purpose].family == "sme":
        g.manual_seed(int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1)))
    else:
        state = ss.generate_state(2, np.uint32)
        g.manual_seed(int(state[0]) << 31 | int(state[1]) >> 1)  # < 2**63
    return g


def collisions(draws) -> list[str]:
    """Streams drawn by more than one (job, purpose) where the purpose does not declare them
    shared. ``draws``: iterable of (job, purpose, key). Returns one message per collision."""
    users: dict = {}
    for job, purpose, k in draws:
        users.setdefault(k, set()).add((job, purpose))
    out = []
    for k, who in users.items():
        purposes = {p for _, p in who}
        if len(who) > 1 and (len(purposes) > 1 or not PURPOSES[next(iter(purposes))].shared):
            out.append(f"stream {k} drawn by " + ", ".join(f"{j} ({p})" for j, p in sorted(who)))
    return out
