"""The datasets that ship with the packages: a synthetic two-layer teacher, scikit-learn's digits
and synthetic token sequences."""

from __future__ import annotations

import numpy as np

from ..rng import stream as named_stream
from .common import BOS, PAD, SPECIAL



def synthetic_teacher(spec: dict) -> tuple[dict, dict]:
    """Scalar regression targets of a random two-layer tanh teacher, plus Gaussian label noise.

    x ~ N(0, I_d); teacher f*(x) = sum_r a_r tanh(w_r.x) with w_r ~ N(0, I/d), a_r ~ N(0, 1/width);
    y = f*(x) + noise * N(0, 1). Float64, as the SME checks need.
    """
    rng = named_stream("data", spec["seed"])
    d, width = spec["d"], spec["width"]
    n = spec["n_train"] + spec["n_test"]
    w = rng.standard_normal((width, d)) / np.sqrt(d)
    a = rng.standard_normal(width) / np.sqrt(width)
    x = rng.standard_normal((n, d))
    y = np.tanh(x @ w.T) @ a + spec["noise"] * rng.standard_normal(n)
    k = spec["n_train"]
    arrays = {"x_train": x[:k], "y_train": y[:k], "x_test": x[k:], "y_test": y[k:]}
    return arrays, {"task": "regression", "n_classes": None, "image_shape": None}


def digits(spec: dict) -> tuple[dict, dict]:
    """scikit-learn's bundled 8x8 digits: stratified train/test split, standardised on train."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=spec["test_fraction"], stratify=y, random_state=spec["seed"])
    mean, std = x_tr.mean(0), x_tr.std(0)
    std[std == 0] = 1.0  # constant border pixels
    arrays = {
        "x_train": ((x_tr - mean) / std).astype(np.float32), "y_train": y_tr.astype(np.int64),
        "x_test": ((x_te - mean) / std).astype(np.float32), "y_test": y_te.astype(np.int64),
    }
    return arrays, {"task": "classification", "n_classes": 10, "image_shape": [1, 8, 8]}


def sequence_pairs(src: np.ndarray, tgt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decoder-only layout of (source, target) token rows: input = source, BOS, target[:-1];
    label = IGNORE over the source, then the target, with IGNORE where the target is padding.
    Inputs are stored as float32 (the pipeline's feature dtype; ids are exact)."""
    n = len(src)
    x = np.concatenate([src, np.full((n, 1), BOS), tgt[:, :-1]], axis=1).astype(np.float32)
    y = np.concatenate([np.full(src.shape, -1), np.where(tgt == PAD, -1, tgt)], axis=1)
    return x, y.astype(np.int64)


def synthetic_sequence(spec: dict) -> tuple[dict, dict]:
    """Random token sequences and a fixed rule: ``reverse`` (target = source backwards) or
    ``copy``; ``length`` source tokens drawn uniformly from ``symbols`` symbols."""
    rng = named_stream("data", spec["seed"])
    n = spec["n_train"] + spec["n_test"]
    src = rng.integers(SPECIAL, SPECIAL + spec["symbols"], size=(n, spec["length"]))
    tgt = src[:, ::-1] if spec["task"] == "reverse" else src.copy()
    x, y = sequence_pairs(src, tgt)
    k = spec["n_train"]
    arrays = {"x_train": x[:k], "y_train": y[:k], "x_test": x[k:], "y_test": y[k:],
              "n_classes": np.int64(SPECIAL + spec["symbols"])}
    return arrays, {"task": "sequence", "n_classes": SPECIAL + spec["symbols"],
                    "image_shape": None, "chance_accuracy": 1.0 / spec["symbols"]}
