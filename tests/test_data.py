import gzip

import numpy as np
import pytest
from fixtures import idx_bytes, make_cifar, make_mnist, make_multi30k

from dropout_sme import data
from dropout_sme.data import DataError
from dropout_sme import rng as streams


def test_digits_split_is_stratified_and_standardised():
    arrays, meta = data.prepare({"source": "digits", "test_fraction": 0.25, "seed": 0})
    assert meta["n_train"] + meta["n_test"] == 1797 and meta["n_features"] == 64
    assert arrays["x_train"].dtype == np.float32 and arrays["y_train"].dtype == np.int64
    counts_tr = np.bincount(arrays["y_train"]) / meta["n_train"]
    counts_te = np.bincount(arrays["y_test"]) / meta["n_test"]
    assert np.abs(counts_tr - counts_te).max() < 0.01  # stratified
    x = arrays["x_train"]
    varying = x.std(0) > 0
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(0)[varying], 1, atol=1e-4)


def test_teacher_is_reproducible_and_is_a_tanh_teacher_plus_noise():
    spec = {"source": "synthetic_teacher", "n_train": 50, "n_test": 20, "d": 5, "width": 4,
            "noise": 0.0, "seed": 3}
    a1, m1 = data.prepare(spec)
    a2, m2 = data.prepare(spec)
    assert m1["content_hash"] == m2["content_hash"]
    assert a1["x_train"].shape == (50, 5) and a1["y_test"].shape == (20,)
    # Noise-free targets are a width-4 tanh network of x: the teacher's hidden features, fitted by
    # least squares from the known first-layer weights, reproduce y exactly.
    rng = streams.stream("data", 3)
    w = rng.standard_normal((4, 5)) / np.sqrt(5)
    hidden = np.tanh(a1["x_train"] @ w.T)
    coef, *_ = np.linalg.lstsq(hidden, a1["y_train"], rcond=None)
    np.testing.assert_allclose(hidden @ coef, a1["y_train"], atol=1e-10)
    assert data.prepare({**spec, "seed": 4})[1]["content_hash"] != m1["content_hash"]
    noisy, _ = data.prepare({**spec, "noise": 0.5})
    resid = noisy["y_train"] - a1["y_train"]
    assert 0.35 < resid.std() < 0.65  # label noise of the configured size on the same teacher


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reads_idx_fixtures(tmp_path, gz):
    written = make_mnist(tmp_path, n_train=30, n_test=12, gz=gz)
    arrays, meta = data.prepare({"source": "mnist", "n_train": 20, "n_test": None}, tmp_path)
    assert arrays["x_train"].shape == (20, 784) and arrays["x_test"].shape == (12, 784)
    np.testing.assert_allclose(arrays["x_train"][3].reshape(28, 28) * 255,
                               written["train_images"][3], atol=1e-4)
    np.testing.assert_array_equal(arrays["y_train"], written["train_labels"][:20])
    assert meta["image_shape"] == [1, 28, 28] and meta["n_classes"] == 10


def test_mnist_in_torchvision_layout(tmp_path):
    make_mnist(tmp_path / "MNIST" / "raw")
    arrays, _ = data.prepare({"source": "mnist", "n_train": None, "n_test": None}, tmp_path)
    assert len(arrays["x_train"]) == 30


def test_mnist_missing_files_are_each_named(tmp_path):
    make_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError) as err:
        data.prepare({"source": "mnist"}, tmp_path)
    msg = str(err.value)
    assert "t10k-labels-idx1-ubyte" in msg and "train-images-idx3-ubyte" in msg
    assert "train-labels" not in msg and "yann.lecun.com" in msg


def test_mnist_truncated_and_corrupt_files(tmp_path):
    make_mnist(tmp_path, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated"):
        data.prepare({"source": "mnist"}, tmp_path)
    path.write_bytes(b"\x12\x34" + path.read_bytes()[2:])
    with pytest.raises(DataError, match="magic"):
        data.prepare({"source": "mnist"}, tmp_path)


def test_mnist_truncated_gzip(tmp_path):
    make_mnist(tmp_path, gz=True)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz"):
        data.prepare({"source": "mnist"}, tmp_path)


def test_mnist_asking_for_more_than_the_files_hold(tmp_path):
    make_mnist(tmp_path, n_train=30)
    with pytest.raises(DataError, match="first 100"):
        data.prepare({"source": "mnist", "n_train": 100}, tmp_path)


def test_mnist_without_data_dir_is_an_error():
    with pytest.raises(DataError, match="data_dir"):
        data.prepare({"source": "mnist"}, None)


def test_idx_round_trip():
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = idx_bytes(a)
    assert gzip.decompress(gzip.compress(raw)) == raw


@pytest.mark.parametrize("source,n_classes,n_train", [("cifar10", 10, 20), ("cifar100", 100, 4)])
def test_cifar_reads_pickle_batches(tmp_path, source, n_classes, n_train):
    written = make_cifar(tmp_path, source, per_batch=4)
    arrays, meta = data.prepare({"source": source, "n_train": None, "n_test": None}, tmp_path)
    assert arrays["x_train"].shape == (n_train, 3072) and arrays["x_test"].shape == (4, 3072)
    first = written["data_batch_1" if source == "cifar10" else "train"]
    np.testing.assert_allclose(arrays["x_train"][:4] * 255, first[b"data"], atol=1e-3)
    assert meta["n_classes"] == n_classes and meta["image_shape"] == [3, 32, 32]
    # the model's width is the dataset's classes, also where a subset misses some of them
    assert int(arrays["n_classes"]) == n_classes and arrays["y_train"].max() < n_classes


def test_fixture_labels_cover_every_class_and_bad_labels_are_refused(tmp_path):
    make_cifar(tmp_path, "cifar100", per_batch=100)
    arrays, _ = data.prepare({"source": "cifar100", "n_train": 100, "n_test": 100}, tmp_path)
    assert sorted(arrays["y_train"]) == list(range(100))
    make_mnist(tmp_path / "m", n_train=20, n_test=10)
    labels = tmp_path / "m" / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(idx_bytes(np.full(20, 12, dtype=np.uint8))))
    with pytest.raises(DataError, match=r"mnist train labels span \[12, 12\].*\[0, 10\)"):
        data.prepare({"source": "mnist"}, tmp_path / "m")


def test_cifar_missing_and_corrupt(tmp_path):
    make_cifar(tmp_path, "cifar10")
    folder = tmp_path / "cifar-10-batches-py"
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataError, match="data_batch_3"):
        data.prepare({"source": "cifar10"}, tmp_path)
    make_cifar(tmp_path, "cifar10")
    (folder / "test_batch").write_bytes((folder / "test_batch").read_bytes()[:500])
    with pytest.raises(DataError, match="test_batch.*corrupt"):
        data.prepare({"source": "cifar10"}, tmp_path)


def test_no_silent_fallback_for_unknown_source():
    with pytest.raises(DataError, match="unknown dataset source"):
        data.prepare({"source": "imagenet"})


def test_synthetic_sequence_layout_for_the_decoder():
    spec = {"source": "synthetic_sequence", "task": "reverse", "length": 5, "symbols": 6,
            "n_train": 20, "n_test": 7, "seed": 3}
    arrays, meta = data.prepare(spec)
    x, y = arrays["x_train"], arrays["y_train"]
    assert x.shape == (20, 10) and y.shape == (20, 10) and x.dtype == np.float32
    src = x[:, :5].astype(np.int64)
    assert (x[:, 5] == data.BOS).all() and (y[:, :5] == -1).all()
    np.testing.assert_array_equal(y[:, 5:], src[:, ::-1])              # the reversed source
    np.testing.assert_array_equal(x[:, 6:], y[:, 5:-1])                # teacher forcing, shifted
    assert src.min() >= data.SPECIAL and src.max() < int(arrays["n_classes"]) == data.SPECIAL + 6
    assert meta["n_test"] == 7 and meta["chance_accuracy"] == 1 / 6
    again, _ = data.prepare(spec)
    np.testing.assert_array_equal(again["x_test"], arrays["x_test"])
    copy, _ = data.prepare({**spec, "task": "copy"})
    np.testing.assert_array_equal(copy["y_train"][:, 5:], copy["x_train"][:, :5])


@pytest.mark.parametrize("gz,sub", [(False, ""), (True, "multi30k")])
def test_multi30k_reads_local_text_files(tmp_path, gz, sub):
    make_multi30k(tmp_path / sub, gz=gz)
    spec = {"source": "multi30k", "src_lang": "de", "tgt_lang": "en", "n_train": 2, "n_test": 2,
            "vocab": 12, "src_length": 4, "tgt_length": 3}
    arrays, meta = data.prepare(spec, tmp_path)
    assert arrays["x_train"].shape == (2, 7) and arrays["y_train"].shape == (2, 7)
    assert int(arrays["n_classes"]) == 12 and meta["n_train"] == 2
    # vocabulary of the 2 training pairs, by count then alphabet: ! . a (twice each), then
    # ein eine frau laut loudly (4 + 8 = 12 tokens); every other word is UNK (3)
    x, y = arrays["x_train"].astype(np.int64), arrays["y_train"]
    np.testing.assert_array_equal(x[0], [7, 3, 3, 5, data.BOS, 6, 3])      # ein mann laeuft . | a man
    np.testing.assert_array_equal(y[0], [-1, -1, -1, -1, 6, 3, 3])         # a man runs (cut: no EOS)
    longer = data.prepare({**spec, "tgt_length": 6}, tmp_path)[0]
    np.testing.assert_array_equal(longer["y_test"][1], [-1] * 4 + [6, 3, 5, data.EOS, -1, -1])
    assert data.tokenize("A man, running!") == ["a", "man", ",", "running", "!"]


def test_multi30k_missing_files_and_too_many_pairs(tmp_path):
    make_multi30k(tmp_path)
    (tmp_path / "val.en").unlink()
    spec = {"source": "multi30k", "src_lang": "de", "tgt_lang": "en", "n_train": 2, "n_test": 2,
            "vocab": 12, "src_length": 4, "tgt_length": 3}
    with pytest.raises(DataError, match="val.en.*train.en, train.de, val.en, val.de"):
        data.prepare(spec, tmp_path)
    make_multi30k(tmp_path)
    with pytest.raises(DataError, match="first 5 examples, the files hold 3"):
        data.prepare({**spec, "n_train": 5}, tmp_path)
    with pytest.raises(DataError, match="set data_dir"):
        data.prepare(spec, None)
