"""Another dropout noise at a fixed theta* (the landscape fixed, the noise varied): other keep
probabilities (figS8, the ``noise_keep`` rule) and the other mask convention (table 7, the
``noise_mask`` rule)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import hessian
from .estimators import alignment, covariance, spectrum
from .flatness import flatness
from .masks import mask_gradients
from .problem import at_checkpoint
from .streams import stream


def theta_star_noise(spec: dict, x, y, checkpoints: dict, purpose: str = "keep_sweep",
                     log=print) -> pd.DataFrame:
    """At theta* of each of ``spec["seeds"]``, dropout noise of keep probability
    ``spec["keep_prob"]`` and mask convention ``spec["mask"]``: K gradients of the block, their
    top PCA directions with their interval flatness (``flatness_factor``) and alpha(H, Sigma),
    drawn from the streams of ``purpose`` (``keep_sweep`` or ``mask_sensitivity``).
    Returns one row per (seed, direction), with ``alpha`` repeated on the seed's rows."""
    p, star = spec["keep_prob"], spec["theta_star"]
    factor = float(spec["flatness_factor"])
    rows = []
    for seed in spec["seeds"]:
        problem = at_checkpoint(spec, x, y, checkpoints, star, seed)
        G = mask_gradients(problem, p, spec["mask"], spec["masks"],
                           stream(spec, f"{purpose}_masks", seed, star), batch=spec["batch"])
        S = covariance(G).double()
        H = hessian.block_hessian(problem).double()
        variances, vecs = spectrum(S.float(), spec["directions"])
        variances = variances[:vecs.shape[1]]
        flat = flatness(problem, vecs, [factor], spec["flatness_cap"])[factor]
        rows.append(pd.DataFrame({
            "keep_prob": p, "mask": spec["mask"], "seed": seed, "index": np.arange(len(variances)),
            "variance": variances, "width": flat["width"],
            "flagged": flat["flagged"], "factor": factor, "alpha": alignment(H, S),
            "trace_s": float(S.trace()), "masks": spec["masks"], "block": spec["block"]}))
        log(f"seed {seed}: keep_prob {p:g}, {spec['mask']} masks, K = {spec['masks']} gradients "
            f"of {spec['block']}")
    return pd.concat(rows, ignore_index=True)

