"""CIFAR-10: tiny files of the real format written here, standardisation, augmentation,
and a file:// download of a tiny tarball."""

import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest

from synlearn.core.errors import ConfigError, DatasetError
from synlearn.hsic.cifar import (
    FILES, FOLDER_NAME, augment_window, channel_stats, check_cifar_folder, cifar_task,
    download_cifar10, load_cifar10, read_batch, standardise, write_batch,
)

PER_FILE = 20


def tiny_cifar(folder, per_file=PER_FILE, seed=0):
    """Write the six files with random pixels (real format, CHW rows); return them NHWC."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in FILES:
        images = rng.integers(0, 256, size=(per_file, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, per_file)
        write_batch(folder / name, images, labels)
        written[name] = (images, labels)
    return written


def test_the_files_are_read_in_the_standard_layout(tmp_path):
    written = tiny_cifar(tmp_path)
    raw = pickle.loads((tmp_path / "data_batch_1").read_bytes(), encoding="bytes")
    assert raw[b"data"].shape == (PER_FILE, 3072) and raw[b"data"].dtype == np.uint8
    # row layout: 1024 red, 1024 green, 1024 blue values, each plane row-major
    images, _ = written["data_batch_1"]
    assert raw[b"data"][3, 1024 + 32 * 5 + 7] == images[3, 5, 7, 1]
    train, test = load_cifar10(tmp_path)
    assert train.images.shape == (5 * PER_FILE, 32, 32, 3) and train.images.dtype == np.uint8
    assert train.labels.dtype == np.int64 and test.images.shape == (PER_FILE, 32, 32, 3)
    np.testing.assert_array_equal(train.images[PER_FILE:2 * PER_FILE], written["data_batch_2"][0])
    np.testing.assert_array_equal(train.labels[-PER_FILE:], written["data_batch_5"][1])
    np.testing.assert_array_equal(test.images, written["test_batch"][0])
    assert check_cifar_folder(tmp_path, read=True, images_per_file=PER_FILE) == {
        name: tmp_path / name for name in FILES}


def pickled(content):
    buffer = io.BytesIO()
    pickle.dump(content, buffer, protocol=2)
    return buffer.getvalue()


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


BAD = {
    "missing": None,
    "empty": b"",
    "not a pickle": b"hello world",
    "truncated": "truncate",
    "not a dict": pickled([1, 2, 3]),
    "no labels": pickled({b"data": np.zeros((2, 3072), np.uint8)}),
    "wrong dtype": pickled({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}),
    "wrong row size": pickled({b"data": np.zeros((2, 3000), np.uint8), b"labels": [0, 1]}),
    "count mismatch": pickled({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}),
    "label out of range": pickled({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}),
    "foreign global": pickled({b"data": Evil(), b"labels": []}),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_every_bad_file_raises_naming_its_path_and_writes_nothing(tmp_path, kind, capsys):
    tiny_cifar(tmp_path)
    path = tmp_path / "data_batch_3"
    if BAD[kind] is None:
        path.unlink()
    elif BAD[kind] == "truncate":
        path.write_bytes(path.read_bytes()[:5000])
    else:
        path.write_bytes(BAD[kind])
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(DatasetError) as caught:
        load_cifar10(tmp_path)
    assert isinstance(caught.value, ConfigError)
    message = str(caught.value)
    assert str(path) in message and "b'data'" in message and "data_batch_5" in message
    with pytest.raises(DatasetError, match=str(path)):
        check_cifar_folder(tmp_path, read=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert "never run" not in capsys.readouterr().out


def test_the_checks_say_what_is_wrong(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        check_cifar_folder(tmp_path / "absent")
    with pytest.raises(DatasetError) as caught:
        check_cifar_folder(tmp_path)
    assert all(f"{tmp_path / name}: missing" in str(caught.value) for name in FILES)
    tiny_cifar(tmp_path)
    check_cifar_folder(tmp_path)  # the cheap check does not count images
    with pytest.raises(DatasetError, match=f"{PER_FILE} images, expected 10000"):
        check_cifar_folder(tmp_path, read=True, images_per_file=10000)
    with pytest.raises(DatasetError, match="missing"):
        read_batch(tmp_path / "absent")


def test_standardisation_uses_training_statistics_per_channel(tmp_path):
    tiny_cifar(tmp_path)
    train, test = load_cifar10(tmp_path)
    task = cifar_task(train, test)
    x = task.train.inputs.reshape(-1, 32, 32, 3)
    np.testing.assert_allclose(x.mean(axis=(0, 1, 2)), 0.0, atol=1e-12)
    np.testing.assert_allclose(x.std(axis=(0, 1, 2)), 1.0, rtol=1e-12)
    mean, std = channel_stats(train.images)
    np.testing.assert_allclose(task.test.inputs, standardise(test.images, mean, std))
    # flattened NHWC: entry (h, w, c) at (h * 32 + w) * 3 + c
    assert task.test.inputs[2, (4 * 32 + 9) * 3 + 2] == pytest.approx(
        (test.images[2, 4, 9, 2] / 255.0 - mean[2]) / std[2])
    assert task.train.targets.shape == (100, 10) and task.test.labels.shape == (PER_FILE,)


def test_augmentation_shares_the_crop_flips_per_image_and_is_deterministic():
    rng = np.random.default_rng(0)
    shape = (6, 5, 2)
    x = rng.standard_normal((8, 60))
    images = x.reshape(8, *shape)
    seen_offsets, seen_flip_mixes = set(), 0
    for seed in range(40):
        out = augment_window(x, np.random.default_rng(seed), shape)
        again = augment_window(x, np.random.default_rng(seed), shape)
        np.testing.assert_array_equal(out, again)
        draw = np.random.default_rng(seed)
        dy, dx = draw.integers(0, 3, 2)
        flips = draw.random(8) < 0.5
        padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)))
        crop = padded[:, dy:dy + 6, dx:dx + 5]
        want = np.where(flips[:, None, None, None], crop[:, :, ::-1], crop)
        np.testing.assert_array_equal(out.reshape(8, *shape), want)
        seen_offsets.add((int(dy), int(dx)))
        seen_flip_mixes += 0 < flips.sum() < 8
    assert len(seen_offsets) == 9 and seen_flip_mixes > 30
    assert x.shape == (8, 60) and np.array_equal(x.reshape(8, *shape), images)  # unchanged
    # with no flips drawn, every image is the same shift of itself (offset shared)
    out = augment_window(np.ones((3, 60)), np.random.default_rng(1), shape)
    assert np.array_equal(out[0], out[1]) and np.array_equal(out[1], out[2])


def test_the_test_set_is_not_augmented(tmp_path):
    tiny_cifar(tmp_path)
    train, test = load_cifar10(tmp_path)
    one, two = cifar_task(train, test), cifar_task(train, test)
    np.testing.assert_array_equal(one.test.inputs, two.test.inputs)


def tiny_tarball(tmp_path):
    source = tmp_path / "source" / FOLDER_NAME
    tiny_cifar(source, per_file=3)
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in FILES:
            tar.add(source / name, arcname=f"{FOLDER_NAME}/{name}")
        tar.add(source / "data_batch_1", arcname="readme.html")  # ignored
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


def test_download_extracts_the_folder_atomically_after_the_digest(tmp_path):
    archive, digest = tiny_tarball(tmp_path)
    data = tmp_path / "data"
    folder = download_cifar10(data / FOLDER_NAME, digest, archive.as_uri())
    assert folder == data / FOLDER_NAME
    assert sorted(p.name for p in data.iterdir()) == [FOLDER_NAME]  # no temporary left
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    train, _ = load_cifar10(folder, images_per_file=3)
    assert train.images.shape == (15, 32, 32, 3)
    # present: returned without a download
    assert download_cifar10(folder, "0" * 64, (tmp_path / "absent").as_uri()) == folder


def test_a_bad_download_writes_nothing(tmp_path):
    archive, digest = tiny_tarball(tmp_path)
    data = tmp_path / "data"
    with pytest.raises(DatasetError, match="SHA-256 mismatch"):
        download_cifar10(data / FOLDER_NAME, "0" * 64, archive.as_uri())
    assert not any(data.iterdir())
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a tarball")
    with pytest.raises(DatasetError, match="not a readable tar"):
        download_cifar10(data / FOLDER_NAME, hashlib.sha256(b"not a tarball").hexdigest(),
                         broken.as_uri())
    assert not any(data.iterdir())


    # an archive missing a file fails the check after extraction
    source = tmp_path / "partial"
    tiny_cifar(source, per_file=2)
    partial = tmp_path / "partial.tar.gz"
    with tarfile.open(partial, "w:gz") as tar:
        for name in FILES[:-1]:
            tar.add(source / name, arcname=f"{FOLDER_NAME}/{name}")
    with pytest.raises(DatasetError, match="test_batch: missing"):
        download_cifar10(data / FOLDER_NAME, hashlib.sha256(partial.read_bytes()).hexdigest(),
                         partial.as_uri())
    assert not any(data.iterdir())
