"""Image data sets shared by the families: scikit-learn's 8x8 digits and MNIST.

Two loaders and a verified download, nothing else (turning pixels into rates or
inputs is each family's business):

* ``load_digits`` reads the 1797 8x8 handwritten digits that ship inside
  scikit-learn (no download), and ``stratified_split`` / ``digits_train_test``
  split them deterministically into a training and a test part.
* ``load_mnist`` reads the four standard MNIST IDX files from a folder, each plain or
  gzipped, parsed here with NumPy and checked (magic number, dimensions against the
  file size, 28x28 images, as many labels as images, labels 0-9).
  ``check_mnist_folder`` checks presence and sizes without reading the data, for
  config-parse time.
* ``download`` fetches one file (any URL urllib opens, ``file://`` included), writes
  it atomically and checks its SHA-256. It is never called at import time.

No table of the canonical files' SHA-256 digests is provided: they could not be
verified where this module was written (no network), so callers pass the digest they
trust to ``download``. ``MNIST_SIZES`` holds the names and the uncompressed sizes,
which follow from the IDX format and the documented counts.

Every problem with a file raises ``DatasetError`` (a ``ConfigError``) naming the file
or URL and what was expected.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .errors import DatasetError
from .io import atomic_path

__all__ = [
    "DIGITS_SHAPE", "IMAGES_MAGIC", "LABELS_MAGIC", "MNIST_SHAPE", "MNIST_SIZES",
    "LabelledImages", "check_mnist_folder", "digits_train_test", "download",
    "load_digits", "load_mnist", "read_idx", "stratified_split",
]

DIGITS_SHAPE = (8, 8)
DIGITS_COUNT = 1797
MNIST_SHAPE = (28, 28)

IMAGES_MAGIC = 0x00000803  # IDX: unsigned bytes (0x08), 3 dimensions
LABELS_MAGIC = 0x00000801  # IDX: unsigned bytes (0x08), 1 dimension

_TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60000)
_TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10000)

#: The four MNIST files and their uncompressed sizes in bytes: a 16-byte header and
#: 28x28 bytes per image, an 8-byte header and one byte per label.
MNIST_SIZES: dict[str, int] = {
    _TRAIN[0]: 16 + _TRAIN[2] * 28 * 28,  # 47040016
    _TRAIN[1]: 8 + _TRAIN[2],             # 60008
    _TEST[0]: 16 + _TEST[2] * 28 * 28,    # 7840016
    _TEST[1]: 8 + _TEST[2],               # 10008
}

_CHUNK = 1 << 20


class LabelledImages(NamedTuple):
    """Images and their labels (unpacks as ``images, labels = ...``).

    Attributes
    ----------
    images : numpy.ndarray
        float64 of shape (n, height, width), pixel intensities in [0, 1].
    labels : numpy.ndarray
        int64 of shape (n,), the digit 0-9 each image shows.
    """

    images: np.ndarray
    labels: np.ndarray


# --------------------------------------------------------------------------- digits


def load_digits() -> LabelledImages:
    """The 8x8 handwritten digits shipped with scikit-learn (read locally, no download).

    Returns
    -------
    LabelledImages
        ``images`` float64 of shape (1797, 8, 8), the 4-bit pixel counts (0-16) divided
        by 16, so in [0, 1]; ``labels`` int64 of shape (1797,), in 0-9.

    Notes
    -----
    This is scikit-learn's copy of the test part of the UCI "Optical Recognition of
    Handwritten Digits" data (``sklearn.datasets.load_digits``), in its file order.
    scikit-learn is imported only here, so importing this module stays cheap.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = np.asarray(bunch.images, dtype=np.float64) / 16.0
    labels = np.asarray(bunch.target, dtype=np.int64)
    if images.shape != (len(labels), *DIGITS_SHAPE) or not (0.0 <= images.min() and images.max() <= 1.0):
        raise DatasetError(f"scikit-learn's digits have shape {images.shape} and range "
                           f"[{images.min()}, {images.max()}] after /16; expected "
                           f"(n, 8, 8) in [0, 1]")
    return LabelledImages(images, labels)


def stratified_split(labels, test_fraction: float = 0.2,
                     seed: int | np.random.Generator = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices into training and test indices, class by class.

    Each class's indices are shuffled with ``seed`` and its first
    ``round(test_fraction * count)`` (halves rounded up) go to the test part, the rest
    to training.

    Why this split: each class has the same share of both parts as of the whole (to
    within one sample), whatever the order of the file; the fraction can be chosen;
    and the same seed gives the same split on every machine (NumPy's PCG64 stream is
    stable across versions). scikit-learn's digits carry no writer identities, so no
    split of them can keep writers apart: test accuracy measures generalisation to new
    samples, possibly of writers seen in training. A first-N split (1500 / 297) would
    depend on the undocumented file order instead and would not balance the classes.

    Parameters
    ----------
    labels : array_like of int, shape (n,)
        The class of each sample.
    test_fraction : float
        The share of each class that goes to the test part, strictly between 0 and 1.
    seed : int or numpy.random.Generator
        An int seeds a fresh ``numpy.random.default_rng`` (PCG64), so the split
        depends on it alone; the default 0 is the fixed split every family shares. A
        Generator is used (and advanced) as given.

    Returns
    -------
    train, test : numpy.ndarray of int64
        Sorted indices into ``labels``; disjoint, and together every index once.

    Raises
    ------
    ConfigError
        ``test_fraction`` is not in (0, 1), ``labels`` is not one-dimensional, or one
        of the parts would be empty.
    """
    from .errors import ConfigError

    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ConfigError(f"labels must be one-dimensional, got shape {labels.shape}")
    fraction = float(test_fraction)
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"test_fraction must be strictly between 0 and 1, got {test_fraction!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(int(seed))
    test = []
    for label in np.unique(labels):  # sorted, so the draws come in a fixed order
        members = np.flatnonzero(labels == label)
        count = int(np.floor(fraction * len(members) + 0.5))
        test.append(rng.permutation(members)[:count])
    test = np.sort(np.concatenate(test)).astype(np.int64) if test else np.zeros(0, np.int64)
    train = np.setdiff1d(np.arange(len(labels), dtype=np.int64), test, assume_unique=True)
    if len(test) == 0 or len(train) == 0:
        raise ConfigError(f"test_fraction {test_fraction!r} of {len(labels)} samples leaves "
                          f"{len(train)} for training and {len(test)} for testing")
    return train, test


def digits_train_test(test_fraction: float = 0.2,
                      seed: int | np.random.Generator = 0) -> tuple[LabelledImages, LabelledImages]:
    """``load_digits`` split by ``stratified_split`` (see there for the choice).

    Parameters
    ----------
    test_fraction : float
        The share of each digit held out for testing (default 0.2: 1438 / 359).
    seed : int or numpy.random.Generator
        The split's seed (default 0, the shared fixed split).

    Returns
    -------
    train, test : LabelledImages
    """
    images, labels = load_digits()
    train, test = stratified_split(labels, test_fraction, seed)
    return LabelledImages(images[train], labels[train]), LabelledImages(images[test], labels[test])


# ---------------------------------------------------------------------------- MNIST


def _expected(folder, sizes: dict[str, int]) -> str:
    def describe(name: str, size: int) -> str:
        if "images" in name:
            return f"{name} ({size} bytes: {(size - 16) // (28 * 28)} images of 28x28)"
        return f"{name} ({size} bytes: {size - 8} labels)"

    return (f"expected in {folder} the MNIST IDX files, each plain or gzipped "
            f"(name + '.gz'; sizes uncompressed): "
            + ", ".join(describe(name, size) for name, size in sizes.items()))


def _find(folder: Path, name: str) -> Path | None:
    """The plain file if present, else the gzipped one, else None."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                return stream.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        # EOFError: a gzip stream cut short; BadGzipFile (an OSError): not gzip at all
        raise DatasetError(f"{path}: unreadable ({type(error).__name__}: {error})") from None


def _describe_magic(magic: int) -> str:
    kinds = {IMAGES_MAGIC: "IDX images: unsigned bytes, 3 dimensions",
             LABELS_MAGIC: "IDX labels: unsigned bytes, 1 dimension"}
    return f"0x{magic & 0xFFFFFFFF:08X}" + (f" ({kinds[magic]})" if magic in kinds else "")


def read_idx(path: str | os.PathLike, magic: int) -> np.ndarray:
    """Read an IDX file of unsigned bytes (plain, or gzipped if named ``*.gz``).

    The format: a big-endian int32 magic number (two zero bytes, the type code 0x08
    for unsigned bytes, the number of dimensions), one big-endian int32 per
    dimension, then the data, one byte per entry in C order.

    Parameters
    ----------
    path : path
        The file.
    magic : int
        The magic number the file must carry: ``IMAGES_MAGIC`` or ``LABELS_MAGIC``.

    Returns
    -------
    numpy.ndarray of uint8
        Shaped by the file's dimensions (read-only view of the file's bytes).

    Raises
    ------
    DatasetError
        The file is missing or unreadable, has another magic number, is shorter than
        its header, or its data size disagrees with its dimensions (truncated, or
        trailing bytes). The message names the path.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: missing")
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DatasetError(f"{path}: {len(raw)} bytes, too short for an IDX header")
    found = int(np.frombuffer(raw, dtype=">u4", count=1)[0])
    if found != magic:
        raise DatasetError(f"{path}: magic number {_describe_magic(found)}, expected "
                           f"{_describe_magic(magic)}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: {len(raw)} bytes, shorter than its {header}-byte header")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    if any(d < 0 for d in shape):
        raise DatasetError(f"{path}: negative dimension in {shape}")
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(raw) != expected:
        state = "truncated" if len(raw) < expected else "has trailing bytes"
        raise DatasetError(f"{path}: {len(raw)} bytes (uncompressed), but its dimensions "
                           f"{'x'.join(map(str, shape))} need {expected}: {state}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _load_part(folder: Path, images_name: str, labels_name: str) -> LabelledImages:
    paths = []
    for name in (images_name, labels_name):
        path = _find(folder, name)
        if path is None:
            raise DatasetError(f"{folder / name}: missing (nor {name}.gz); "
                               + _expected(folder, MNIST_SIZES))
        paths.append(path)
    try:
        images = read_idx(paths[0], IMAGES_MAGIC)
        labels = read_idx(paths[1], LABELS_MAGIC)
    except DatasetError as error:
        raise DatasetError(f"{error}; {_expected(folder, MNIST_SIZES)}") from None
    if images.shape[1:] != MNIST_SHAPE:
        raise DatasetError(f"{paths[0]}: images of {images.shape[1]}x{images.shape[2]}, "
                           f"expected 28x28; {_expected(folder, MNIST_SIZES)}")
    if len(images) != len(labels):
        raise DatasetError(f"{paths[0]} holds {len(images)} images but {paths[1]} "
                           f"{len(labels)} labels; {_expected(folder, MNIST_SIZES)}")
    if len(labels) and labels.max() > 9:
        raise DatasetError(f"{paths[1]}: label {int(labels.max())}, expected digits 0-9")
    return LabelledImages(images.astype(np.float64) / 255.0, labels.astype(np.int64))


def load_mnist(folder: str | os.PathLike) -> tuple[LabelledImages, LabelledImages]:
    """Read MNIST's training and test parts from the four IDX files in ``folder``.

    Each of ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` may be plain or
    gzipped (the name plus ``.gz``); if both are present the plain one is read.

    Parameters
    ----------
    folder : path
        The folder holding the files.

    Returns
    -------
    train, test : LabelledImages
        ``images`` float64 of shape (n, 28, 28), the bytes divided by 255 (so in
        [0, 1]); ``labels`` int64 of shape (n,). The counts are those of the files
        (60000 and 10000 for the canonical ones; subsets are read as they are, use
        ``check_mnist_folder`` to insist on the canonical sizes).

    Raises
    ------
    DatasetError
        A file is missing, unreadable, truncated or has trailing bytes, carries the
        wrong magic number, holds images other than 28x28, labels outside 0-9, or a
        different number of images than labels. The message names the path and lists
        the expected files and sizes.
    """
    folder = Path(folder)
    return _load_part(folder, *_TRAIN[:2]), _load_part(folder, *_TEST[:2])


def _uncompressed_size(path: Path) -> int:
    """The size of a plain file, or what a gzip file's trailer says it inflates to.

    The trailer (ISIZE, the last four bytes, little-endian) holds the size modulo 2**32
    of the last member, which is the whole size for the single-member, < 4 GiB MNIST
    files; reading it costs one seek, not a decompression.
    """
    if path.suffix != ".gz":
        return path.stat().st_size
    with path.open("rb") as stream:
        if stream.read(2) != b"\x1f\x8b":
            raise DatasetError(f"{path}: not a gzip file (named .gz)")
        stream.seek(0, os.SEEK_END)
        if stream.tell() < 18:
            raise DatasetError(f"{path}: {stream.tell()} bytes, too short for a gzip file")
        stream.seek(-4, os.SEEK_END)
        return int.from_bytes(stream.read(4), "little")


def _header_magic(path: Path) -> int | None:
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as stream:
            head = stream.read(4)
    except (OSError, EOFError, zlib.error):
        return None
    return int.from_bytes(head, "big") if len(head) == 4 else None


def check_mnist_folder(folder: str | os.PathLike,
                       sizes: dict[str, int] | None = None) -> dict[str, Path]:
    """Check quickly, without reading the data, that ``folder`` holds MNIST.

    For each file: present (plain or ``.gz``), of the expected uncompressed size (for
    a gzipped file, as its gzip trailer records it), and with the right magic number
    (the first four bytes). A gzipped file cut short usually fails the size check, but
    only ``load_mnist`` reads it all; use this at config-parse time.

    Parameters
    ----------
    folder : path
        The folder holding the files.
    sizes : dict of str to int, optional
        The files' expected uncompressed sizes; the canonical ``MNIST_SIZES`` by
        default.

    Returns
    -------
    dict of str to Path
        Each file's name and the path that will be read.

    Raises
    ------
    DatasetError
        Listing every problem found (each naming its path), then the expected file
        names and sizes.
    """
    folder = Path(folder)
    sizes = MNIST_SIZES if sizes is None else dict(sizes)
    if set(sizes) != set(MNIST_SIZES):
        raise ValueError(f"sizes must give the four MNIST files {sorted(MNIST_SIZES)}, "
                         f"got {sorted(sizes)}")
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder; {_expected(folder, sizes)}")
    found: dict[str, Path] = {}
    problems: list[str] = []
    for name, size in sizes.items():
        path = _find(folder, name)
        if path is None:
            problems.append(f"{folder / name}: missing (nor {name}.gz)")
            continue
        try:
            actual = _uncompressed_size(path)
        except DatasetError as error:
            problems.append(str(error))
            continue
        if actual != size:
            problems.append(f"{path}: {actual} bytes uncompressed, expected {size}")
            continue
        magic = IMAGES_MAGIC if "images" in name else LABELS_MAGIC
        header = _header_magic(path)
        if header != magic:
            problems.append(f"{path}: magic number "
                            f"{'unreadable' if header is None else _describe_magic(header)}, "
                            f"expected {_describe_magic(magic)}")
            continue
        found[name] = path
    if problems:
        raise DatasetError("MNIST folder incomplete: " + "; ".join(problems) + "; "
                           + _expected(folder, sizes))
    return found


# ------------------------------------------------------------------------- download


def download(url: str, destination: str | os.PathLike, sha256: str, *,
             timeout: float = 60.0) -> Path:
    """Fetch ``url`` to ``destination`` atomically and check its SHA-256.

    The bytes are streamed into a temporary file beside ``destination`` (through
    ``synlearn.core.io.atomic_path``) while being hashed; the file is moved into place
    only if the transfer completed and the digest matches. On any failure nothing new
    is left: no temporary file, and ``destination`` as it was (absent if it was).

    Parameters
    ----------
    url : str
        Anything ``urllib.request.urlopen`` opens: ``https://``, ``http://`` or
        ``file://`` (how the tests call it).
    destination : path
        Where to write the file; missing folders are created.
    sha256 : str
        The expected SHA-256 of the file's bytes as fetched (of the ``.gz`` for a
        gzipped file), 64 hex digits. No digests are built in; pass the one you trust.
    timeout : float
        Seconds to wait for the connection and for each read.

    Returns
    -------
    pathlib.Path
        ``destination``.

    Raises
    ------
    DatasetError
        ``sha256`` is not 64 hex digits; the transfer failed (the message gives the
        digest of the bytes received until then); or the digest differs. The message
        names the URL, the expected and the actual digest.
    """
    import http.client
    import urllib.request

    expected = str(sha256).strip().lower()
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise DatasetError(f"download {url}: expected SHA-256 must be 64 hex digits, got {sha256!r}")
    destination = Path(destination)
    digest = hashlib.sha256()
    received = 0
    with atomic_path(destination) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, tmp.open("wb") as out:
                while chunk := response.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    received += len(chunk)
        except (OSError, ValueError, http.client.HTTPException) as error:
            # URLError/HTTPError/timeouts are OSErrors, an unknown scheme a ValueError,
            # a connection cut before Content-Length an IncompleteRead
            raise DatasetError(f"download {url} failed ({type(error).__name__}: {error}); "
                               f"expected SHA-256 {expected}, actual {digest.hexdigest()} of the "
                               f"{received} bytes received; nothing written to {destination}") from None
        actual = digest.hexdigest()
        if actual != expected:
            raise DatasetError(f"download {url}: SHA-256 mismatch, expected {expected}, actual "
                               f"{actual} ({received} bytes); nothing written to {destination}")
    return destination
