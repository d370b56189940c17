"""Tiny dataset files in the real formats: MNIST IDX (raw or gzipped) and CIFAR pickle batches."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np

from dropout_sme.data import CIFAR_LAYOUT, MNIST_FILES


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def make_mnist(folder, n_train=30, n_test=12, gz=True, seed=0) -> dict:
    """Write the four IDX files; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for key, stem in MNIST_FILES.items():
        raw = idx_bytes(arrays[key])
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / stem).write_bytes(raw)
    return arrays


def make_cifar(folder, source="cifar10", per_batch=4, seed=0) -> dict:
    """Write the pickle batches of CIFAR-10 or CIFAR-100 under folder/<their folder name>."""
    rng = np.random.default_rng(seed)
    name, train_names, test_names, label_key, n_classes = CIFAR_LAYOUT[source]
    out = Path(folder) / name
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for fname in train_names + test_names:
        batch = {b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 label_key: rng.integers(0, n_classes, per_batch).tolist(),
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


def make_multi30k(folder, gz=False):
    """Multi30k task-1 text files in the real layout (one sentence per line), gzipped or not."""
    import gzip
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in MULTI30K_LINES.items():
        text = ("\n".join(lines) + "\n").encode("utf-8")
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(text))
        else:
            (folder / name).write_bytes(text)
