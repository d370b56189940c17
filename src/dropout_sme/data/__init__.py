"""Datasets: synthetic teacher data and scikit-learn's digits (embedded), MNIST and CIFAR (local files).

``prepare(spec, data_dir)`` returns the arrays written to ``results/data/<name>.npz`` and the
metadata of their JSON sidecar. Features are flat float32 rows (``image_shape`` in the metadata says
how to fold them back into images); labels are int64 classes, or float64 targets for regression.
A missing or damaged file is an error that names it: there is no fallback to another dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import arrays_hash
from .common import (BOS, CIFAR_LAYOUT, EOS, MNIST_FILES, NEEDS_DATA_DIR, PAD, SOURCES, SPECIAL,
                     UNK, WHERE_TO_GET, DataError)
from .embedded import digits, sequence_pairs, synthetic_sequence, synthetic_teacher
from .files import cifar, mnist, multi30k, read_idx, tokenize

__all__ = ["BOS", "CIFAR_LAYOUT", "EOS", "MNIST_FILES", "NEEDS_DATA_DIR", "PAD", "SOURCES",
           "SPECIAL", "UNK", "WHERE_TO_GET", "DataError", "digits", "sequence_pairs",
           "synthetic_sequence", "synthetic_teacher", "cifar", "mnist", "multi30k", "read_idx",
           "tokenize", "streams", "prepare", "load"]


def streams(spec: dict) -> list[dict]:
    """The named streams a dataset draws (the synthetic ones; digits' split is scikit-learn's
    stratified split with the spec's seed as its ``random_state``)."""
    synthetic = spec["source"] in ("synthetic_teacher", "synthetic_sequence")
    return [{"purpose": "data", "seed": spec["seed"]}] if synthetic else []


def prepare(spec: dict, data_dir=None) -> tuple[dict, dict]:
    """Build one dataset from its config ``spec``; returns (arrays, metadata)."""
    source = spec["source"]
    if source == "synthetic_teacher":
        arrays, meta = synthetic_teacher(spec)
    elif source == "digits":
        arrays, meta = digits(spec)
    elif source == "synthetic_sequence":
        arrays, meta = synthetic_sequence(spec)
    elif source == "multi30k":
        arrays, meta = multi30k(_need_dir(source, data_dir), spec)
    elif source == "mnist":
        arrays, meta = mnist(_need_dir(source, data_dir), spec)
    elif source in CIFAR_LAYOUT:
        arrays, meta = cifar(_need_dir(source, data_dir), source, spec)
    else:
        raise DataError(f"unknown dataset source {source!r}; allowed: {', '.join(SOURCES)}")
    if meta["task"] == "classification":
        _check_labels(arrays, meta["n_classes"], source)
        arrays["n_classes"] = np.int64(meta["n_classes"])   # the model's width, whichever appear
    meta.update(
        source=source,
        n_train=int(len(arrays["x_train"])),
        n_test=int(len(arrays["x_test"])),
        n_features=int(arrays["x_train"].shape[1]),
        content_hash=arrays_hash(arrays),
    )
    return arrays, meta


def _check_labels(arrays: dict, n_classes: int, source: str) -> None:
    for split in ("train", "test"):
        y = arrays[f"y_{split}"]
        if len(y) and (y.min() < 0 or y.max() >= n_classes):
            raise DataError(f"{source} {split} labels span [{y.min()}, {y.max()}]; a {source} "
                            f"label is a class in [0, {n_classes}): the files are not {source}'s")


def _need_dir(source, data_dir) -> Path:
    if not data_dir:
        raise DataError(f"dataset source {source!r} reads local files: set data_dir in the config "
                        f"(it should hold {WHERE_TO_GET[source]})")
    path = Path(data_dir)
    if not path.is_dir():
        raise DataError(f"data_dir {str(path)!r} is not a folder")
    return path



def load(path) -> dict:
    """Load a prepared dataset (.npz) as a dict of numpy arrays."""
    with np.load(path) as f:
        return {k: f[k] for k in f.files}
