"""Datasets: synthetic teacher data and scikit-learn's digits (embedded), MNIST and CIFAR (local files).

``prepare(spec, data_dir)`` returns the arrays written to ``results/data/<name>.npz`` and the
metadata of their JSON sidecar. Features are flat float32 rows (``image_shape`` in the metadata says
how to fold them back into images); labels are int64 classes, or float64 targets for regression.
A missing or damaged file is an error that names it: there is no fallback to another dataset.
"""

from __future__ import annotations

import gzip
import pickle
import zlib
from pathlib import Path

import numpy as np

from .io import arrays_hash
from .rng import stream as named_stream

SOURCES = ("synthetic_teacher", "digits", "synthetic_sequence", "mnist", "cifar10", "cifar100",
           "multi30k")
NEEDS_DATA_DIR = ("mnist", "cifar10", "cifar100", "multi30k")
PAD, BOS, EOS, UNK = 0, 1, 2, 3      # token ids shared by the sequence datasets
SPECIAL = 4
MULTI30K_SPLITS = {"train": "train", "test": "val"}   # test pairs: the validation files

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
CIFAR_LAYOUT = {
    "cifar10": ("cifar-10-batches-py",
                [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], b"labels", 10),
    "cifar100": ("cifar-100-python", ["train"], ["test"], b"fine_labels", 100),
}
WHERE_TO_GET = {
    "mnist": "the four IDX files from http://yann.lecun.com/exdb/mnist/ (or any mirror, e.g. "
             "https://ossci-datasets.s3.amazonaws.com/mnist/), gzipped or not",
    "cifar10": "cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, "
               "unpacked into data_dir",
    "cifar100": "cifar-100-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, "
                "unpacked into data_dir",
    "multi30k": "the Multi30k task-1 text files train.en, train.de, val.en, val.de (gzipped or "
                "not) from https://github.com/multi30k/dataset (data/task1/raw), in data_dir or "
                "data_dir/multi30k",
}


class DataError(RuntimeError):
    """A dataset cannot be prepared: missing, truncated or corrupt files, or a bad request."""


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
    meta.update(
        source=source,
        n_train=int(len(arrays["x_train"])),
        n_test=int(len(arrays["x_test"])),
        n_features=int(arrays["x_train"].shape[1]),
        content_hash=arrays_hash(arrays),
    )
    return arrays, meta


def _need_dir(source, data_dir) -> Path:
    if not data_dir:
        raise DataError(f"dataset source {source!r} reads local files: set data_dir in the config "
                        f"(it should hold {WHERE_TO_GET[source]})")
    path = Path(data_dir)
    if not path.is_dir():
        raise DataError(f"data_dir {str(path)!r} is not a folder")
    return path


# ---------------------------------------------------------------- embedded data
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


# ---------------------------------------------------------------- sequences (transformer)
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
        k = _first(limits[split], len(text[split, "src"]), f"multi30k {split}")
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
        k = _first(spec.get(f"n_{split}"), len(x), f"MNIST {split}")
        arrays[f"x_{split}"] = (x[:k].reshape(k, -1) / 255.0).astype(np.float32)
        arrays[f"y_{split}"] = y[:k].astype(np.int64)
    if spec.get("standardize"):
        _standardize(arrays)
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
        k = _first(spec.get(f"n_{split}"), len(x), f"{source} {split}")
        arrays[f"x_{split}"] = (x[:k] / 255.0).astype(np.float32)
        arrays[f"y_{split}"] = y[:k]
    if spec.get("standardize"):
        _standardize(arrays)
    return arrays, {"task": "classification", "n_classes": n_classes, "image_shape": [3, 32, 32],
                    "files": [str(f) for f in train_files + test_files]}


def _first(k, available: int, what: str) -> int:
    if k is None:
        return available
    if k > available:
        raise DataError(f"{what}: asked for the first {k} examples, the files hold {available}")
    return int(k)


def _standardize(arrays: dict) -> None:
    mean = arrays["x_train"].mean(0)
    std = arrays["x_train"].std(0)
    std[std == 0] = 1.0
    for split in ("train", "test"):
        arrays[f"x_{split}"] = ((arrays[f"x_{split}"] - mean) / std).astype(np.float32)


def load(path) -> dict:
    """Load a prepared dataset (.npz) as a dict of numpy arrays."""
    with np.load(path) as f:
        return {k: f[k] for k in f.files}
