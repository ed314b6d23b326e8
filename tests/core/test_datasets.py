"""The data-set loaders: tiny IDX files written here, the shipped digits, file:// downloads."""

import gzip
import hashlib

import numpy as np
import pytest

from synlearn.core.datasets import (
    IMAGES_MAGIC, LABELS_MAGIC, MNIST_SIZES, check_mnist_folder, digits_train_test, download,
    load_digits, load_mnist, read_idx, stratified_split,
)
from synlearn.core.errors import ConfigError, DatasetError

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(array, magic=None, dims=None):
    """An IDX file of unsigned bytes holding ``array`` (header overridable)."""
    array = np.asarray(array, dtype=np.uint8)
    magic = (0x0800 | array.ndim) if magic is None else magic
    dims = array.shape if dims is None else dims
    return (np.array([magic], ">u4").tobytes() + np.array(dims, ">i4").tobytes()
            + array.tobytes())


def tiny_mnist(folder, n_train=5, n_test=3, gzipped=False, seed=0):
    """Write the four files with random pixels; return the arrays written."""
    rng = np.random.default_rng(seed)
    data = {}
    for images, labels, n in ((NAMES[0], NAMES[1], n_train), (NAMES[2], NAMES[3], n_test)):
        data[images] = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        data[images][0, 0, :2] = (0, 255)  # both ends of the range
        data[labels] = rng.integers(0, 10, size=n, dtype=np.uint8)
    for name, array in data.items():
        raw = idx_bytes(array)
        if gzipped:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)
    return data


@pytest.mark.parametrize("gzipped", [False, True])
def test_mnist_loads_values_shapes_and_dtypes(tmp_path, gzipped):
    written = tiny_mnist(tmp_path, gzipped=gzipped)
    train, test = load_mnist(tmp_path)
    for part, (images, labels), n in ((train, NAMES[:2], 5), (test, NAMES[2:], 3)):
        assert part.images.shape == (n, 28, 28) and part.images.dtype == np.float64
        assert part.labels.shape == (n,) and part.labels.dtype == np.int64
        np.testing.assert_array_equal(part.images, written[images] / 255.0)
        np.testing.assert_array_equal(part.labels, written[labels])
        assert part.images.min() == 0.0 and part.images.max() == 1.0


def test_mnist_mixes_plain_and_gzipped_files(tmp_path):
    written = tiny_mnist(tmp_path)
    raw = (tmp_path / NAMES[0]).read_bytes()
    (tmp_path / NAMES[0]).unlink()
    (tmp_path / f"{NAMES[0]}.gz").write_bytes(gzip.compress(raw))
    train, _ = load_mnist(tmp_path)
    np.testing.assert_array_equal(train.images, written[NAMES[0]] / 255.0)


def corrupt(folder, kind):
    """Damage the tiny folder one way; return the path the error must name."""
    images = folder / NAMES[0]
    labels = folder / NAMES[1]
    pixels = np.zeros((5, 28, 28), np.uint8)
    if kind == "missing":
        images.unlink()
    elif kind == "truncated":
        images.write_bytes(images.read_bytes()[:-100])
    elif kind == "trailing bytes":
        images.write_bytes(images.read_bytes() + b"\0")
    elif kind == "wrong magic":
        images.write_bytes(idx_bytes(pixels, magic=LABELS_MAGIC, dims=(5,)))
    elif kind == "dimensions not matching the size":
        images.write_bytes(idx_bytes(pixels, dims=(6, 28, 28)))
    elif kind == "not 28x28":
        images.write_bytes(idx_bytes(np.zeros((5, 27, 29), np.uint8)))
    elif kind == "count mismatch":
        labels.write_bytes(idx_bytes(np.zeros(4, np.uint8)))
        return labels
    elif kind == "header cut":
        images.write_bytes(images.read_bytes()[:10])
    elif kind == "truncated gzip":
        images.unlink()
        compressed = gzip.compress(idx_bytes(pixels))
        (folder / f"{NAMES[0]}.gz").write_bytes(compressed[: len(compressed) // 2])
        return folder / f"{NAMES[0]}.gz"
    elif kind == "label out of range":
        labels.write_bytes(idx_bytes(np.full(5, 10, np.uint8)))
        return labels
    return images


BAD = ["missing", "truncated", "trailing bytes", "wrong magic", "dimensions not matching the size",
       "not 28x28", "count mismatch", "header cut", "truncated gzip", "label out of range"]


@pytest.mark.parametrize("kind", BAD)
def test_every_bad_file_raises_naming_its_path(tmp_path, kind):
    tiny_mnist(tmp_path)
    path = corrupt(tmp_path, kind)
    with pytest.raises(DatasetError) as caught:
        load_mnist(tmp_path)
    assert isinstance(caught.value, ConfigError)
    message = str(caught.value)
    assert str(path) in message
    if kind != "label out of range":
        assert all(name in message for name in NAMES) and "47040016" in message


def test_read_idx_messages_say_what_is_wrong(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(DatasetError, match="magic number 0x00000801.*expected 0x00000803"):
        read_idx(path, IMAGES_MAGIC)
    path.write_bytes(idx_bytes(np.zeros(3, np.uint8), dims=(4,)))
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(path, LABELS_MAGIC)
    with pytest.raises(DatasetError, match="missing"):
        read_idx(tmp_path / "absent", LABELS_MAGIC)
    path.write_bytes(idx_bytes(np.arange(6, dtype=np.uint8).reshape(1, 2, 3)))
    array = read_idx(path, IMAGES_MAGIC)
    assert array.dtype == np.uint8 and array.shape == (1, 2, 3) and array[0, 1, 2] == 5


def test_check_mnist_folder_lists_the_expected_files(tmp_path):
    with pytest.raises(DatasetError) as caught:
        check_mnist_folder(tmp_path)
    message = str(caught.value)
    for name, size in MNIST_SIZES.items():
        assert f"{tmp_path / name}: missing" in message and f"{name} ({size} bytes" in message
    assert sorted(MNIST_SIZES.values()) == [10008, 60008, 7840016, 47040016]
    with pytest.raises(DatasetError, match="no such folder"):
        check_mnist_folder(tmp_path / "absent")


@pytest.mark.parametrize("gzipped", [False, True])
def test_check_mnist_folder_checks_sizes_without_reading(tmp_path, gzipped):
    tiny_mnist(tmp_path, gzipped=gzipped)
    suffix = ".gz" if gzipped else ""
    with pytest.raises(DatasetError) as caught:  # tiny files are not the canonical sizes
        check_mnist_folder(tmp_path)
    assert f"{tmp_path / NAMES[0]}{suffix}: {16 + 5 * 784} bytes uncompressed, expected 47040016" \
        in str(caught.value)
    tiny = {NAMES[0]: 16 + 5 * 784, NAMES[1]: 8 + 5, NAMES[2]: 16 + 3 * 784, NAMES[3]: 8 + 3}
    found = check_mnist_folder(tmp_path, sizes=tiny)
    assert found == {name: tmp_path / f"{name}{suffix}" for name in NAMES}
    # a label file where an image file belongs: right size, wrong magic
    path = tmp_path / f"{NAMES[2]}{suffix}"
    swapped = idx_bytes(np.zeros(16 + 3 * 784 - 8, np.uint8))
    path.write_bytes(gzip.compress(swapped) if gzipped else swapped)
    with pytest.raises(DatasetError, match=f"{path}: magic number 0x00000801"):
        check_mnist_folder(tmp_path, sizes=tiny)


def test_download_from_a_file_url_checks_the_digest(tmp_path):
    source = tmp_path / "source.bin"
    content = bytes(range(256)) * 5000  # more than one read chunk
    source.write_bytes(content)
    digest = hashlib.sha256(content).hexdigest()
    out = tmp_path / "out"
    written = download(source.as_uri(), out / "data.bin", digest.upper())
    assert written == out / "data.bin" and written.read_bytes() == content
    assert sorted(p.name for p in out.iterdir()) == ["data.bin"]

    wrong = "0" * 64
    with pytest.raises(DatasetError) as caught:
        download(source.as_uri(), out / "other.bin", wrong)
    message = str(caught.value)
    assert source.as_uri() in message and wrong in message and digest in message
    assert sorted(p.name for p in out.iterdir()) == ["data.bin"]  # nothing new, no temp file


def test_a_failed_transfer_writes_nothing(tmp_path):
    missing = (tmp_path / "absent.bin").as_uri()
    with pytest.raises(DatasetError) as caught:
        download(missing, tmp_path / "out" / "data.bin", "a" * 64)
    assert missing in str(caught.value) and "a" * 64 in str(caught.value)
    assert not any((tmp_path / "out").iterdir())
    with pytest.raises(DatasetError, match="64 hex digits"):
        download(missing, tmp_path / "out" / "data.bin", "not-a-digest")


def test_digits_shapes_dtypes_and_range():
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float64
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    assert set(np.unique(labels)) == set(range(10))
    # pixels are the 4-bit counts over 16
    np.testing.assert_array_equal(np.unique(images * 16), np.arange(17))


def test_the_digits_split_is_deterministic_disjoint_complete_and_stratified():
    _, labels = load_digits()
    train, test = stratified_split(labels)
    again_train, again_test = stratified_split(labels, seed=np.random.default_rng(0))
    np.testing.assert_array_equal(train, again_train)
    np.testing.assert_array_equal(test, again_test)
    assert len(np.intersect1d(train, test)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(1797))
    assert (len(train), len(test)) == (1438, 359)
    share = np.bincount(labels[test], minlength=10) / np.bincount(labels, minlength=10)
    assert np.all(np.abs(share - 0.2) < 1 / 170)
    other = stratified_split(labels, seed=1)[1]
    assert not np.array_equal(other, test)
    (train_part, test_part) = digits_train_test()
    np.testing.assert_array_equal(test_part.labels, labels[test])
    assert train_part.images.shape == (1438, 8, 8)
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ConfigError, match="test_fraction"):
            stratified_split(labels, bad)
