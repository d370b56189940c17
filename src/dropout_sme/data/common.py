"""What the datasets share: the sources, where the local ones come from, the token ids of the
sequence tasks, the error type and the helpers of the readers."""

from __future__ import annotations

import numpy as np

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



def first(k, available: int, what: str) -> int:
    if k is None:
        return available
    if k > available:
        raise DataError(f"{what}: asked for the first {k} examples, the files hold {available}")
    return int(k)


def standardize(arrays: dict) -> None:
    mean = arrays["x_train"].mean(0)
    std = arrays["x_train"].std(0)
    std[std == 0] = 1.0
    for split in ("train", "test"):
        arrays[f"x_{split}"] = ((arrays[f"x_{split}"] - mean) / std).astype(np.float32)
