"""The named random streams of the noise jobs (``rng`` purposes and the fields that key them): each
job's draws and the declarations the stream test checks (tests/test_streams.py)."""

from __future__ import annotations

import numpy as np

from .. import rng


def stream_of(spec: dict, purpose: str, run_seed: int, step: int) -> dict:
    """The named stream (``rng`` purpose and fields) of a noise-stage draw: keyed by the noise
    seed, the training run's seed, the setting's (keep_prob, lr), the checkpoint's step and the
    experiment's index among the analysed ones (``experiment_index``)."""
    return {"purpose": purpose, "seed": spec["seed"], "run_seed": run_seed,
            "keep_prob": spec["keep_prob"], "lr": spec["lr"], "step": step,
            "experiment": spec.get("experiment_index", 0)}


def stream(spec: dict, purpose: str, run_seed: int, step: int) -> np.random.Generator:
    return rng.stream(**stream_of(spec, purpose, run_seed, step))


def streams(spec: dict, seeds, steps, kind: str = "stage") -> list[dict]:
    """Every stream one job of the noise stage draws (``kind``: ``stage``, ``compare``,
    ``keep_sweep``, ``mask_sensitivity`` or ``sharpness``, whose ``steps`` is the last
    checkpoint's) for the run's ``seeds`` and checkpoint ``steps``."""
    star = spec["theta_star"]
    if kind == "compare":
        return [stream_of(spec, p, s, star) for s in seeds
                for p in ("compare_sgd", "compare_gaussian", "compare_positive_control",
                          "compare_sgd_trained")]
    if kind == "sharpness":
        return [stream_of(spec, "sharpness_probes", s, t) for s in seeds for t in steps] + [
            {"purpose": "lanczos_start", "seed": s} for s in seeds]
    if kind in ("keep_sweep", "mask_sensitivity"):
        return [stream_of(spec, f"{kind}_masks", s, star) for s in spec["seeds"]]
    out = [stream_of(spec, "alignment_masks", s, t) for s in seeds for t in steps if t != star]
    out += [stream_of(spec, p, s, star) for s in seeds
            for p in ("theta_star_masks", "reference_masks")]
    if spec.get("hessian", "full") == "lanczos":
        return out + [{"purpose": p, "seed": s} for s in seeds for p in ("lanczos_start",
                                                                          "sketch")]
    return out + [stream_of(spec, "null_draws", 0, star)]
