"""The datasets read from local files in their published formats: MNIST (IDX), CIFAR-10/100
(python pickle batches) and Multi30k (text). A missing or damaged file is an error that names it."""

from __future__ import annotations

import gzip
import pickle
import zlib
from pathlib import Path

import numpy as np

from .common import (CIFAR_LAYOUT, EOS, MNIST_FILES, MULTI30K_SPLITS, PAD, SPECIAL, UNK,
                     WHERE_TO_GET, DataError, first, standardize)
from .embedded import sequence_pairs


def _read_lines(path) -> list[str]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def tokenize(line: str) -> list[str]:
    """Lower-case words and punctuation marks."""
    import re

    return re.findall(r"\w+|[^\w\s]", line.lower())


def multi30k(data_dir, spec: dict) -> tuple[dict, dict]:
    """Multi30k sentence pairs as token rows for the decoder-only transformer.

    Training pairs: the first ``n_train`` (2,048 in the group's earlier work) of train.<src> /
    train.<tgt>; test pairs: the first ``n_test`` of val.*. Word-level tokens, one vocabulary for
    both languages: the ``vocab`` - 4 most frequent words of the training pairs (ties broken
    alphabetically), the rest UNK. Source and target cut or padded to ``src_length`` /
    ``tgt_length`` (the target ends with EOS when it fits).
    """
    from collections import Counter

    text = {}
    for split, stem in MULTI30K_SPLITS.items():
        for side in ("src", "tgt"):
            lang = spec[f"{side}_lang"]
            candidates = [folder / f"{stem}.{lang}{gz}" for folder in
                          (Path(data_dir), Path(data_dir) / "multi30k") for gz in ("", ".gz")]
            path = next((c for c in candidates if c.is_file()), None)
            if path is None:
                raise DataError(f"multi30k: no {stem}.{lang} (or {stem}.{lang}.gz) in "
                                f"{data_dir} or {Path(data_dir) / 'multi30k'}; data_dir should "
                                f"hold {WHERE_TO_GET['multi30k']}")
            text[split, side] = _read_lines(path)
    limits = {"train": spec["n_train"], "test": spec["n_test"]}
    pairs = {}
    for split in MULTI30K_SPLITS:
        if len(text[split, "src"]) != len(text[split, "tgt"]):
            raise DataError(f"multi30k {split}: {len(text[split, 'src'])} source lines but "
                            f"{len(text[split, 'tgt'])} target lines")
        k = first(limits[split], len(text[split, "src"]), f"multi30k {split}")
        pairs[split] = [(tokenize(a), tokenize(b))
                        for a, b in zip(text[split, "src"][:k], text[split, "tgt"][:k])]
    counts = Counter(w for a, b in pairs["train"] for w in a + b)
    words = sorted(counts, key=lambda w: (-counts[w], w))[:spec["vocab"] - SPECIAL]
    index = {w: i + SPECIAL for i, w in enumerate(words)}

    def encode(words, length, eos):
        ids = [index.get(w, UNK) for w in words] + ([EOS] if eos else [])
        return (ids + [PAD] * length)[:length]

    arrays = {}
    for split in MULTI30K_SPLITS:
        src = np.array([encode(a, spec["src_length"], False) for a, _ in pairs[split]])
        tgt = np.array([encode(b, spec["tgt_length"], True) for _, b in pairs[split]])
        arrays[f"x_{split}"], arrays[f"y_{split}"] = sequence_pairs(src, tgt)
    arrays["n_classes"] = np.int64(SPECIAL + len(words))
    known = sum(counts[w] for w in words) / max(1, sum(counts.values()))
    return arrays, {"task": "sequence", "n_classes": SPECIAL + len(words), "image_shape": None,
                    "vocab_coverage": known}


# ---------------------------------------------------------------- MNIST (IDX files)
def find_mnist_files(data_dir) -> dict:
    """Locate the four IDX files (raw or .gz) in data_dir, data_dir/mnist or data_dir/MNIST/raw."""
    data_dir = Path(data_dir)
    folders = [data_dir, data_dir / "mnist", data_dir / "MNIST" / "raw"]
    found, missing = {}, []
    for key, stem in MNIST_FILES.items():
        hits = [f / name for f in folders for name in (stem, stem + ".gz") if (f / name).is_file()]
        if hits:
            found[key] = hits[0]
        else:
            missing.append(stem + "[.gz]")
    if missing:
        raise DataError(
            f"MNIST files missing in data_dir {str(data_dir)!r} (looked in ., mnist/, MNIST/raw/): "
            f"{', '.join(missing)}. Obtain {WHERE_TO_GET['mnist']}.")
    return found


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzipped or raw) of unsigned bytes; errors name the file and the problem."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot decompress ({exc}); the file is truncated or corrupt") \
            from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != 0x08:
        raise DataError(f"{path}: IDX element type 0x{raw[2]:02x}, expected 0x08 (unsigned byte)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise DataError(f"{path}: truncated or corrupt: header announces {dims} = {expected} bytes "
                        f"of data, the file holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def mnist(data_dir, spec: dict) -> tuple[dict, dict]:
    """MNIST from IDX files: the first n_train training and n_test test images, pixels / 255."""
    files = find_mnist_files(data_dir)
    parts = {k: read_idx(p) for k, p in files.items()}
    arrays = {}
    for split in ("train", "test"):
        x, y = parts[f"{split}_images"], parts[f"{split}_labels"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataError(f"MNIST {split}: images {x.shape} and labels {y.shape} do not match")
        k = first(spec.get(f"n_{split}"), len(x), f"MNIST {split}")
        arrays[f"x_{split}"] = (x[:k].reshape(k, -1) / 255.0).astype(np.float32)
        arrays[f"y_{split}"] = y[:k].astype(np.int64)
    if spec.get("standardize"):
        standardize(arrays)
    shape = [1, *parts["train_images"].shape[1:]]
    return arrays, {"task": "classification", "n_classes": 10, "image_shape": shape,
                    "files": {k: str(p) for k, p in files.items()}}


# ---------------------------------------------------------------- CIFAR (python pickle batches)
def find_cifar_files(data_dir, source: str) -> tuple[list, list]:
    folder_name, train_names, test_names, _, _ = CIFAR_LAYOUT[source]
    data_dir = Path(data_dir)
    folder = data_dir / folder_name if (data_dir / folder_name).is_dir() else data_dir
    missing = [n for n in train_names + test_names if not (folder / n).is_file()]
    if missing:
        raise DataError(
            f"{source} files missing in {str(folder)!r}: {', '.join(missing)} "
            f"(expected in data_dir/{folder_name}/). Obtain {WHERE_TO_GET[source]}.")
    return [folder / n for n in train_names], [folder / n for n in test_names]


def read_cifar_batch(path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            batch = pickle.load(fh, encoding="bytes")
        x = np.asarray(batch[b"data"], dtype=np.uint8)
        y = np.asarray(batch[label_key], dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, AttributeError,
            IndexError) as exc:
        raise DataError(f"{path}: not a readable CIFAR batch ({type(exc).__name__}: {exc}); "
                        "the file is truncated or corrupt") from None
    if x.ndim != 2 or x.shape[1] != 3 * 32 * 32 or len(x) != len(y):
        raise DataError(f"{path}: CIFAR batch has data {x.shape} and {len(y)} labels; "
                        "expected (N, 3072) and N labels")
    return x, y


def cifar(data_dir, source: str, spec: dict) -> tuple[dict, dict]:
    """CIFAR-10/100 from the python pickle batches: first n_train / n_test images, pixels / 255."""
    train_files, test_files = find_cifar_files(data_dir, source)
    _, _, _, label_key, n_classes = CIFAR_LAYOUT[source]
    arrays = {}
    for split, files in (("train", train_files), ("test", test_files)):
        xs, ys = zip(*(read_cifar_batch(f, label_key) for f in files))
        x, y = np.concatenate(xs), np.concatenate(ys)
        k = first(spec.get(f"n_{split}"), len(x), f"{source} {split}")
        arrays[f"x_{split}"] = (x[:k] / 255.0).astype(np.float32)
        arrays[f"y_{split}"] = y[:k]
    if spec.get("standardize"):
        standardize(arrays)
    return arrays, {"task": "classification", "n_classes": n_classes, "image_shape": [3, 32, 32],
                    "files": [str(f) for f in train_files + test_files]}

