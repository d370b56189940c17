"""Tiny dataset files in the published formats (MNIST IDX, CIFAR pickle batches, Multi30k text):
what the tests and the toy-scale paper config (``dropout_sme.toy``) read instead of the real
datasets. Labels cycle through every class, so the first ``n_classes`` images of a split hold one
of each; pixels and sentences are random (seeded)."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np

from .common import CIFAR_LAYOUT, MNIST_FILES


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _labels(n: int, n_classes: int, rng) -> np.ndarray:
    """Every class once in each run of ``n_classes`` examples, in a random order per run."""
    runs = [rng.permutation(n_classes) for _ in range(-(-n // n_classes))]
    return np.concatenate(runs)[:n] if runs else np.zeros(0, dtype=np.int64)


def make_mnist(folder, n_train=30, n_test=12, gz=True, seed=0) -> dict:
    """Write the four IDX files; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": _labels(n_train, 10, rng).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": _labels(n_test, 10, rng).astype(np.uint8),
    }
    for key, stem in MNIST_FILES.items():
        raw = idx_bytes(arrays[key])
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / stem).write_bytes(raw)
    return arrays


def make_cifar(folder, source="cifar10", per_batch=4, seed=0) -> dict:
    """Write the pickle batches of CIFAR-10 or CIFAR-100 under folder/<their folder name>; the
    training batches together hold ``per_batch`` x batches images, every class in each run of
    ``n_classes``."""
    rng = np.random.default_rng(seed)
    name, train_names, test_names, label_key, n_classes = CIFAR_LAYOUT[source]
    out = Path(folder) / name
    out.mkdir(parents=True, exist_ok=True)
    labels = {"train": _labels(per_batch * len(train_names), n_classes, rng).tolist(),
              "test": _labels(per_batch * len(test_names), n_classes, rng).tolist()}
    written = {}
    for split, names in (("train", train_names), ("test", test_names)):
        for i, fname in enumerate(names):
            batch = {b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                     label_key: labels[split][i * per_batch:(i + 1) * per_batch],
                     b"batch_label": fname.encode()}
            with open(out / fname, "wb") as fh:
                pickle.dump(batch, fh, protocol=2)
            written[fname] = batch
    return written


MULTI30K_LINES = {
    "train.de": ["Ein Mann läuft.", "Eine Frau singt laut!", "Ein Hund läuft."],
    "train.en": ["A man runs.", "A woman sings loudly!", "A dog runs."],
    "val.de": ["Ein Kind singt.", "Ein Mann."],
    "val.en": ["A child sings.", "A man."],
}
_WORDS = {"de": ["ein", "mann", "eine", "frau", "hund", "kind", "läuft", "singt", "laut", "rot"],
          "en": ["a", "man", "a", "woman", "dog", "child", "runs", "sings", "loudly", "red"]}


def multi30k_lines(n_train: int, n_test: int, seed: int = 0) -> dict:
    """Random word-for-word sentence pairs (German and English), ``n_train`` and ``n_test``."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, n in (("train", n_train), ("val", n_test)):
        picks = [rng.integers(0, len(_WORDS["de"]), rng.integers(2, 7)) for _ in range(n)]
        for lang in ("de", "en"):
            out[f"{split}.{lang}"] = [" ".join(_WORDS[lang][i] for i in p).capitalize() + "."
                                      for p in picks]
    return out


def make_multi30k(folder, gz=False, lines=None):
    """Multi30k task-1 text files in the real layout (one sentence per line), gzipped or not:
    ``lines`` (file name -> sentences; default ``MULTI30K_LINES``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, sentences in (lines or MULTI30K_LINES).items():
        text = ("\n".join(sentences) + "\n").encode("utf-8")
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(text))
        else:
            (folder / name).write_bytes(text)
