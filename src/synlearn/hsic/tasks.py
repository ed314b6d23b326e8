"""The two small tasks of Daruwalla & Lipasti (2024): a linear boundary and XOR.

- linear: points uniform in ``[-1, 1]^2``, label ``[x . w > 0]`` with ``w ~ N(0, I)``;
- XOR: the corners of ``{0, 1}^2`` drawn uniformly plus ``N(0, 0.1^2)`` noise, label the
  XOR of the corner.

Both have two classes. ``scale_inputs_by_255`` divides the inputs by 255 as the
published code does for every dataset (meant for images, it shrinks these inputs to
~0.004 and so all but removes the input kernel's dependence on x); it is off by default.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

FLOAT = np.float64
# The paper's split of the small tasks: 1000 points, 900 to train, 100 to test.
N_SAMPLES, N_TRAIN = 1000, 900


class Dataset(NamedTuple):
    """Samples as rows: ``inputs`` (n, d) float64, ``labels`` (n,) int64, ``targets``
    (n, classes) float64 one-hot."""

    inputs: np.ndarray
    labels: np.ndarray
    targets: np.ndarray


class Task(NamedTuple):
    """A train/test split."""

    train: Dataset
    test: Dataset


def make_dataset(inputs, labels, n_classes: int) -> Dataset:
    """A ``Dataset`` with its one-hot targets.

    Parameters
    ----------
    inputs : array_like, shape (n, d)
    labels : array_like of int, shape (n,)
    n_classes : int
    """
    inputs = np.ascontiguousarray(inputs, dtype=FLOAT)
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    if inputs.ndim != 2 or labels.shape != (inputs.shape[0],):
        raise ValueError(f"inputs (n, d) and labels (n,) expected, got {inputs.shape}, "
                         f"{labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes})")
    targets = np.zeros((labels.size, n_classes), dtype=FLOAT)
    targets[np.arange(labels.size), labels] = 1.0
    return Dataset(inputs, labels, targets)


def _split(inputs, labels, n_train: int, n_classes: int, scale_inputs_by_255: bool) -> Task:
    if not 0 < n_train < labels.size:
        raise ValueError(f"n_train must lie in (0, {labels.size}), got {n_train}")
    if scale_inputs_by_255:
        inputs = inputs / 255.0
    return Task(make_dataset(inputs[:n_train], labels[:n_train], n_classes),
                make_dataset(inputs[n_train:], labels[n_train:], n_classes))


def linear_task(rng: np.random.Generator, n_samples: int = N_SAMPLES,
                n_train: int = N_TRAIN,
                scale_inputs_by_255: bool = False) -> Task:
    """Two classes split by a random line through the origin.

    ``x ~ U([-1, 1]^2)``, ``w ~ N(0, I)``, label ``1`` where ``x . w > 0``; the first
    ``n_train`` samples train, the rest test.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws ``w``, then the points.
    n_samples, n_train : int
    scale_inputs_by_255 : bool
        Divide the inputs by 255, as the published code does.

    Returns
    -------
    Task
    """
    w = rng.standard_normal(2)
    inputs = rng.uniform(-1.0, 1.0, size=(n_samples, 2))
    labels = (inputs @ w > 0.0).astype(np.int64)
    return _split(inputs, labels, n_train, 2, scale_inputs_by_255)


def xor_task(rng: np.random.Generator, n_samples: int = N_SAMPLES, n_train: int = N_TRAIN,
             noise: float = 0.1, scale_inputs_by_255: bool = False) -> Task:
    """Noisy XOR: a uniform corner of ``{0, 1}^2`` plus ``N(0, noise^2)``, label the XOR.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws the corners, then the noise.
    n_samples, n_train : int
    noise : float
        Standard deviation of the Gaussian noise (0.1).
    scale_inputs_by_255 : bool
        Divide the inputs by 255, as the published code does.

    Returns
    -------
    Task
    """
    corners = rng.integers(0, 2, size=(n_samples, 2))
    inputs = corners + noise * rng.standard_normal((n_samples, 2))
    labels = (corners[:, 0] ^ corners[:, 1]).astype(np.int64)
    return _split(inputs, labels, n_train, 2, scale_inputs_by_255)


def image_task(train_images, train_labels, test_images, test_labels,
               n_classes: int = 10) -> Task:
    """An image classification task: pixels in [0, 1] flattened and mapped to [-1, 1].

    Daruwalla & Lipasti (2024) feed MNIST mapped to [-1, 1] to a 784-128-64-10 MLP; the
    8x8 digits (``synlearn.core.datasets.load_digits``) give 64 inputs the same way.

    Parameters
    ----------
    train_images, test_images : array_like, shape (n, height, width)
        Intensities in [0, 1].
    train_labels, test_labels : array_like of int, shape (n,)
    n_classes : int

    Returns
    -------
    Task
    """
    def dataset(images, labels):
        images = np.asarray(images, dtype=FLOAT)
        if images.size and (images.min() < 0.0 or images.max() > 1.0):
            raise ValueError("image intensities must lie in [0, 1]")
        return make_dataset(2.0 * images.reshape(images.shape[0], -1) - 1.0, labels, n_classes)

    return Task(dataset(train_images, train_labels), dataset(test_images, test_labels))
