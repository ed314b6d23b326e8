"""CIFAR-10 for the CNN of Daruwalla & Lipasti (2024): reading, standardising, augmenting.

* ``check_cifar_folder`` / ``load_cifar10`` read the standard ``cifar-10-batches-py``
  files (``data_batch_1`` .. ``data_batch_5``, ``test_batch``): Python pickles of a dict
  whose ``b'data'`` is a uint8 array (n, 3072), each row the red, green and blue 32x32
  planes (CHW order), and ``b'labels'`` a list of n ints 0-9. Images come back NHWC.
* ``channel_stats`` / ``cifar_task``: per-channel mean and standard deviation from the
  training images, applied to both parts; the inputs are flattened NHWC rows, the layout
  of ``synlearn.hsic.conv``.
* ``augment_window``: the training augmentation, a 1-pixel-per-side random crop (zero
  padding, i.e. the channel mean after standardisation, then a 32x32 crop) whose offset
  is shared by the whole window, and a horizontal flip drawn per image. The test set is
  not augmented (the published figures used an augmented test set, a bug fixed later
  upstream).
* ``download_cifar10`` fetches the tarball (SHA-256 checked, ``core.datasets.download``),
  extracts it and moves the folder into place atomically.

Pickles: only user-provided files (or a download whose SHA-256 the user gave) are read,
and through an unpickler that refuses every global but the few NumPy needs to rebuild
an array, so a crafted file cannot run code. Every problem raises ``DatasetError`` (a
``ConfigError``) naming the path and what was expected; nothing is written.

References
----------
Krizhevsky, A. (2009). Learning multiple layers of features from tiny images. Tech.
report, University of Toronto (the data set and its file format).
Daruwalla, K. & Lipasti, M. (2024). Information bottleneck-based Hebbian learning rule
naturally ties working memory and synaptic updates. Front. Comput. Neurosci. 18, 1240348.
"""

from __future__ import annotations

import io
import os
import pickle
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..core.datasets import download
from ..core.errors import DatasetError
from .tasks import Dataset, Task, make_dataset

FLOAT = np.float64
FOLDER_NAME = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
FILES = TRAIN_FILES + (TEST_FILE,)
IMAGE_SHAPE = (32, 32, 3)      # NHWC per image
ROW = 32 * 32 * 3              # bytes per image in b'data'
PER_FILE = 10000               # images per canonical file
N_CLASSES = 10
#: The canonical tarball (its digest is not built in: pass the one you trust).
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("_codecs", "encode"),  # how Python 3's protocol-2 pickles store bytes (harmless)
}


class LabelledImages(NamedTuple):
    """``images`` uint8 (n, 32, 32, 3) NHWC; ``labels`` int64 (n,), classes 0-9."""

    images: np.ndarray
    labels: np.ndarray


def _expected(folder) -> str:
    return (f"expected in {folder} the CIFAR-10 python files {', '.join(FILES)}: each a "
            f"pickle of a dict with b'data' a uint8 array (n, {ROW}) (n = {PER_FILE} in the "
            f"canonical files) and b'labels' a list of n ints 0-9")


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")


def read_batch(path: str | os.PathLike, count: int | None = None) -> LabelledImages:
    """Read one ``cifar-10-batches-py`` file.

    Parameters
    ----------
    path : path
    count : int, optional
        The number of images the file must hold (default: any).

    Returns
    -------
    LabelledImages
        Images NHWC (the CHW planes of each row transposed).

    Raises
    ------
    DatasetError
        Missing, not a pickle of a dict (or one needing globals other than NumPy's
        array reconstruction), no ``b'data'`` / ``b'labels'``, data not uint8 (n, 3072),
        labels not n ints in 0-9, or not ``count`` images. The message names the path.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: missing")
    try:
        with path.open("rb") as stream:
            # encoding='bytes': the files were written by Python 2's cPickle
            content = _ArrayUnpickler(stream, encoding="bytes").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, MemoryError) as error:
        raise DatasetError(f"{path}: not a readable CIFAR-10 pickle "
                           f"({type(error).__name__}: {error})") from None
    if not isinstance(content, dict) or b"data" not in content or b"labels" not in content:
        keys = sorted(content) if isinstance(content, dict) else type(content).__name__
        raise DatasetError(f"{path}: a dict with keys b'data' and b'labels' expected, "
                           f"got {keys}")
    data, labels = content[b"data"], content[b"labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != ROW:
        described = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
                     else type(data).__name__)
        raise DatasetError(f"{path}: b'data' must be a uint8 array (n, {ROW}), got {described}")
    try:
        labels = np.asarray(labels)
    except (TypeError, ValueError):
        labels = np.asarray([None])
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(data):
        raise DatasetError(f"{path}: b'labels' must be a list of {len(data)} ints (one per "
                           f"image), got {labels.shape} of {labels.dtype}")
    if len(labels) and (labels.min() < 0 or labels.max() >= N_CLASSES):
        raise DatasetError(f"{path}: labels must lie in 0-9, got {int(labels.min())}.."
                           f"{int(labels.max())}")
    if count is not None and len(data) != count:
        raise DatasetError(f"{path}: {len(data)} images, expected {count}")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return LabelledImages(np.ascontiguousarray(images), labels.astype(np.int64))


def check_cifar_folder(folder: str | os.PathLike, *, read: bool = False,
                       images_per_file: int | None = None) -> dict[str, Path]:
    """Check that ``folder`` holds the six CIFAR-10 python files.

    Parameters
    ----------
    folder : path
        The ``cifar-10-batches-py`` folder.
    read : bool
        Also read and validate every file (``read_batch``; a few seconds for the real
        data). Without it, each file must exist, be non-empty and start with a pickle
        protocol opcode (cheap, for config-parse time).
    images_per_file : int, optional
        With ``read``: the count every file must hold (10000 for the canonical files).

    Returns
    -------
    dict of str to Path

    Raises
    ------
    DatasetError
        Listing every problem found (each naming its path), then what was expected.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder; {_expected(folder)}")
    found, problems = {}, []
    for name in FILES:
        path = folder / name
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        with path.open("rb") as stream:
            head = stream.read(2)
        if len(head) < 2 or head[0] != 0x80:
            problems.append(f"{path}: not a pickle (starts with {head!r})")
            continue
        if read:
            try:
                read_batch(path, images_per_file)
            except DatasetError as error:
                problems.append(str(error))
                continue
        found[name] = path
    if problems:
        raise DatasetError("CIFAR-10 folder incomplete: " + "; ".join(problems) + "; "
                           + _expected(folder))
    return found


def load_cifar10(folder: str | os.PathLike, images_per_file: int | None = None
                 ) -> tuple[LabelledImages, LabelledImages]:
    """The training (the five data batches, in order) and test parts, NHWC uint8.

    Raises
    ------
    DatasetError
        As ``read_batch``, with what the folder must hold appended.
    """
    folder = Path(folder)
    check_cifar_folder(folder)
    try:
        parts = [read_batch(folder / name, images_per_file) for name in FILES]
    except DatasetError as error:
        raise DatasetError(f"{error}; {_expected(folder)}") from None
    train = LabelledImages(np.concatenate([p.images for p in parts[:-1]]),
                           np.concatenate([p.labels for p in parts[:-1]]))
    return train, parts[-1]


def channel_stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and (population) standard deviation of NHWC images in [0, 1].

    Parameters
    ----------
    images : ndarray, shape (n, H, W, 3), uint8 (divided by 255 here) or float

    Returns
    -------
    mean, std : ndarray, shape (3,), float64
    """
    scaled = _unit(images)
    mean = scaled.mean(axis=(0, 1, 2))
    std = np.sqrt(((scaled - mean) ** 2).mean(axis=(0, 1, 2)))
    if not np.all(std > 0):
        raise DatasetError(f"a channel of the training images is constant (std {std})")
    return mean, std


def _unit(images) -> np.ndarray:
    images = np.asarray(images)
    return images / 255.0 if images.dtype == np.uint8 else images.astype(FLOAT)


def standardise(images: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(x / 255 - mean) / std`` per channel, flattened to NHWC rows (n, H W C) float64."""
    out = (_unit(images) - mean) / std
    return np.ascontiguousarray(out, dtype=FLOAT).reshape(len(out), -1)


def cifar_task(train: LabelledImages, test: LabelledImages) -> Task:
    """A ``Task`` of standardised NHWC rows, the statistics from ``train`` alone."""
    mean, std = channel_stats(train.images)
    return Task(make_dataset(standardise(train.images, mean, std), train.labels, N_CLASSES),
                make_dataset(standardise(test.images, mean, std), test.labels, N_CLASSES))


def augment_window(inputs: np.ndarray, rng: np.random.Generator,
                   shape: tuple[int, int, int] = IMAGE_SHAPE, pad: int = 1) -> np.ndarray:
    """The training augmentation of one window (a new array; ``inputs`` is unchanged).

    The images are zero-padded by ``pad`` on each side and cropped back to their size at
    an offset ``(dy, dx)`` drawn once for the whole window, then each image is flipped
    left-right with probability 1/2. Draws, in order: ``rng.integers(0, 2 pad + 1, 2)``
    (the offset), then ``rng.random(B) < 0.5`` (the flips).

    Parameters
    ----------
    inputs : ndarray, shape (B, H W C)
        NHWC rows (standardised, so the padding is the channel mean).
    rng : numpy.random.Generator
    shape : (H, W, C)
    pad : int

    Returns
    -------
    ndarray, shape (B, H W C), float64
    """
    x = np.asarray(inputs, dtype=FLOAT)
    n = x.shape[0]
    height, width, channels = shape
    images = x.reshape(n, height, width, channels)
    dy, dx = (int(v) for v in rng.integers(0, 2 * pad + 1, size=2))
    flips = rng.random(n) < 0.5
    padded = np.zeros((n, height + 2 * pad, width + 2 * pad, channels), dtype=FLOAT)
    padded[:, pad:pad + height, pad:pad + width] = images
    out = np.ascontiguousarray(padded[:, dy:dy + height, dx:dx + width])
    out[flips] = out[flips, :, ::-1]
    return out.reshape(n, -1)


def augmented(dataset: Dataset, rng: np.random.Generator, **options) -> Dataset:
    """``dataset`` with its inputs through ``augment_window`` (one offset for all)."""
    return Dataset(augment_window(dataset.inputs, rng, **options), dataset.labels,
                   dataset.targets)


def download_cifar10(destination: str | os.PathLike, sha256: str, url: str = URL, *,
                     timeout: float = 60.0) -> Path:
    """Fetch the CIFAR-10 python tarball, check it, extract ``cifar-10-batches-py``.

    The tarball goes to a temporary folder beside ``destination``
    (``core.datasets.download``: streamed, SHA-256 checked), its
    ``cifar-10-batches-py/`` members are extracted there (regular files only, no paths
    leaving the folder), checked (``check_cifar_folder(read=True)``) and the folder moved
    to ``destination`` in one rename. On any failure nothing is left behind. An existing
    ``destination`` that passes the cheap check is returned as it is, without download.

    Parameters
    ----------
    destination : path
        The folder to create, holding the six files.
    sha256 : str
        The tarball's SHA-256 (64 hex digits); none is built in.
    url : str
        Anything urllib opens (``file://`` in the tests).
    timeout : float

    Returns
    -------
    pathlib.Path
        ``destination``.
    """
    destination = Path(destination)
    if destination.exists():
        check_cifar_folder(destination)
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination.parent,
                                     prefix=f".{destination.name}.") as scratch:
        scratch = Path(scratch)
        archive = download(url, scratch / "cifar-10-python.tar.gz", sha256, timeout=timeout)
        extracted = scratch / "extracted"
        extracted.mkdir()
        try:
            with tarfile.open(archive, "r:*") as tar:
                for member in tar.getmembers():
                    parts = Path(member.name).parts
                    if len(parts) != 2 or parts[0] != FOLDER_NAME or parts[1] not in FILES:
                        continue
                    if not member.isfile():
                        raise DatasetError(f"{url}: {member.name} is not a regular file")
                    source = tar.extractfile(member)
                    with source, (extracted / parts[1]).open("wb") as out:
                        shutil.copyfileobj(source, out)
        except (tarfile.TarError, OSError, EOFError) as error:
            raise DatasetError(f"{url}: not a readable tar archive ({type(error).__name__}: "
                               f"{error}); nothing written to {destination}") from None
        try:
            check_cifar_folder(extracted, read=True)
        except DatasetError as error:
            raise DatasetError(f"{url}: the archive's {FOLDER_NAME}/ is not CIFAR-10: "
                               f"{error}; nothing written to {destination}") from None
        os.replace(extracted, destination)
    return destination


def write_batch(path: str | os.PathLike, images_nhwc: np.ndarray, labels) -> None:
    """Write one file in the ``cifar-10-batches-py`` format (CHW rows; for tests and
    toy data sets)."""
    images = np.asarray(images_nhwc, dtype=np.uint8)
    data = np.ascontiguousarray(images.transpose(0, 3, 1, 2)).reshape(len(images), ROW)
    content = {b"batch_label": b"synlearn", b"labels": [int(v) for v in labels],
               b"data": data, b"filenames": [b"%d.png" % i for i in range(len(images))]}
    buffer = io.BytesIO()
    pickle.dump(content, buffer, protocol=2)
    Path(path).write_bytes(buffer.getvalue())
