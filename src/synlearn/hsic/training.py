"""The HSIC rule's window step, the stream training loop and the back-prop baseline.

Daruwalla & Lipasti (2024), Methods. One window is the B most recent samples of a
stream, the current one last. For every hidden layer the global signal xi of the
current sample (``synlearn.hsic.objective``) is pulled back through that layer alone
(``Layer.pull_back``); the readout descends the mean softmax cross-entropy over the
whole window, ``(softmax - y) / B`` on all B samples. No error crosses layers. The
stream is the training set reshuffled every epoch and the window slides by one sample a
step, so an epoch of n samples has ``n - B + 1`` steps, each followed by one optimiser
step over every parameter.

The back-prop baseline trains the same MLP with the exact gradient of the mean
cross-entropy over ordinary non-overlapping minibatches, through every layer.

Both loops return a ``History``: index 0 is the untrained model, index e the model
after epoch e. The training accuracy of an epoch is the mean, over its windows (or
minibatches), of the accuracy on that window right after its update; for the
untrained model it is the accuracy over all training samples. The test accuracy is
over all test samples, each weighted equally. Every draw comes from the
``numpy.random.Generator`` passed in; the network is trained in place.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .layers import MLP
from .objective import VARIANTS, gaussian_kernel, global_signal, signal_coefficients
from .tasks import Dataset, Task

FLOAT = np.float64


class BioRule(NamedTuple):
    """The settings of the HSIC rule (defaults: the paper's linear-task values).

    Attributes
    ----------
    variant : {"release", "revised", "exact"}
        Which global signal (``synlearn.hsic.objective``).
    gamma : float
        Weight of ``HSIC(Y, Z)`` in ``HSIC(X, Z) - gamma HSIC(Y, Z)``.
    sigma_x, sigma_y, sigma_z : float
        Kernel widths per dimension, ``s = sigma sqrt(dim)``.
    """

    variant: str = "release"
    gamma: float = 10.0
    sigma_x: float = 0.5
    sigma_y: float = 0.25
    sigma_z: float = 1.0


class WindowStep(NamedTuple):
    """One window's update.

    Attributes
    ----------
    gradients : tuple of tuple of ndarray
        Per layer (hidden layers, then the readout), that layer's parameter gradients.
    signals : tuple of ndarray
        Per hidden layer, xi for the current sample, shape (d_l,).
    outputs : tuple of ndarray
        Every layer's outputs over the window (the last are the logits), before the
        update.
    """

    gradients: tuple
    signals: tuple
    outputs: tuple


class History(NamedTuple):
    """Accuracies per epoch, float64 arrays of length ``epochs + 1`` (0: untrained).

    ``diverged_at`` is the first epoch after which a parameter was non-finite (-1:
    never); the accuracies from that epoch on are NaN and training stopped there.
    """

    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    diverged_at: int = -1


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    """Mean softmax cross-entropy ``-(1/n) sum_i y_i . log softmax(o_i)``."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.sum(targets * log_probs) / logits.shape[0])


def cross_entropy_cotangent(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The gradient of ``cross_entropy`` with respect to the logits: ``(softmax - y) / n``."""
    cotangent = softmax(logits)
    cotangent -= targets
    cotangent /= logits.shape[0]
    return cotangent


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of rows whose largest logit is at the label (first maximum on ties)."""
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def evaluate(network: MLP, dataset: Dataset) -> float:
    """The accuracy of ``network`` over every sample of ``dataset``."""
    return accuracy(network.predict(dataset.inputs), dataset.labels)


def bio_window_step(network: MLP, inputs: np.ndarray, targets: np.ndarray,
                    rule: BioRule, estimate=None) -> WindowStep:
    """The HSIC rule's gradients for one window (Daruwalla & Lipasti 2024, Methods).

    Every hidden layer l gets ``xi_l`` (an estimate of
    ``d[HSIC(X, Z_l) - gamma HSIC(Y, Z_l)] / dz_{l,N}`` for the current sample N, the
    last row) pulled back through its own LayerNorm, ReLU and affine map; the readout
    gets the gradient of the window's mean cross-entropy. The parameters are not
    changed: pass the flattened gradients to an optimiser.

    Parameters
    ----------
    network : MLP
    inputs : ndarray, shape (B, d_x)
        The window's inputs X, current sample last (B >= 2).
    targets : ndarray, shape (B, classes)
        The one-hot labels Y.
    rule : BioRule
    estimate : callable, optional
        ``estimate(layer, z, xi) -> ndarray`` gives the signal to pull back through
        hidden layer ``layer`` instead of the window's ``xi`` (given the layer's outputs
        ``z`` over the window): the closed loop of ``synlearn.hsic.memory``.
        ``WindowStep.signals`` stays the window's xi.

    Returns
    -------
    WindowStep
    """
    n = inputs.shape[0]
    if n < 2:
        raise ValueError(f"a window needs at least two samples, got {n}")
    coefficients = signal_coefficients(gaussian_kernel(inputs, rule.sigma_x),
                                       gaussian_kernel(targets, rule.sigma_y),
                                       rule.gamma, rule.variant)
    outputs, caches = network.forward(inputs)
    current = slice(n - 1, n)
    gradients, signals = [], []
    for index, (layer, z, cache) in enumerate(zip(network.hidden, outputs, caches)):
        xi = global_signal(z, coefficients, rule.sigma_z)
        signals.append(xi)
        pulled = xi if estimate is None else estimate(index, z, xi)
        gradients.append(layer.pull_back(cache, pulled[None, :], current))
    gradients.append(network.readout.pull_back(
        caches[-1], cross_entropy_cotangent(outputs[-1], targets)))
    return WindowStep(tuple(gradients), tuple(signals), outputs)


def backprop_gradients(network: MLP, inputs: np.ndarray, targets: np.ndarray
                       ) -> tuple[tuple, tuple]:
    """Exact gradients of the mean cross-entropy over a minibatch, through every layer.

    Parameters
    ----------
    network : MLP
    inputs : ndarray, shape (n, d_x)
    targets : ndarray, shape (n, classes)
        One-hot labels.

    Returns
    -------
    gradients : tuple of tuple of ndarray
        Per layer, its parameter gradients.
    outputs : tuple of ndarray
        Every layer's outputs (the last are the logits).
    """
    outputs, caches = network.forward(inputs)
    cotangent = cross_entropy_cotangent(outputs[-1], targets)
    gradients = [None] * len(network.layers)
    for index in range(len(network.layers) - 1, -1, -1):
        gradients[index], cotangent = network.layers[index].backward(caches[index], cotangent)
    return tuple(gradients), outputs


def _flat(gradients) -> tuple[np.ndarray, ...]:
    return tuple(g for layer in gradients for g in layer)


def check_epochs(epochs: int) -> None:
    """Raise a ValueError unless ``epochs`` is a non-negative number of epochs."""
    if epochs < 0:
        raise ValueError(f"epochs must be non-negative, got {epochs}")


def stream_windows(n_train: int, window: int) -> list[slice]:
    """The ``n_train - window + 1`` windows of B = ``window`` samples that slide one sample a
    step through a stream of ``n_train`` samples; a ValueError unless ``2 <= B <= n_train``."""
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) \
            or not 2 <= window <= n_train:
        raise ValueError(f"window must be an integer in [2, {n_train}], got {window!r}")
    return [slice(start, start + window) for start in range(n_train - window + 1)]


def train_bio(network: MLP, optimizer, task: Task, rule: BioRule, window: int,
              epochs: int, rng: np.random.Generator) -> History:
    """Train ``network`` in place with the HSIC rule on a stream of windows.

    Each epoch reshuffles the training set (``rng.permutation``) into a stream, and a
    window of ``window`` samples slides through it one sample a step
    (``n_train - window + 1`` steps), each followed by one optimiser step.

    Parameters
    ----------
    network : MLP
    optimizer : synlearn.hsic.optim.AdamW or SGD
    task : Task
    rule : BioRule
    window : int
        B, at least 2 and at most the number of training samples.
    epochs : int
    rng : numpy.random.Generator

    Returns
    -------
    History
    """
    check_epochs(epochs)
    if rule.variant not in VARIANTS:
        raise ValueError(f"unknown xi variant {rule.variant!r}; expected one of {VARIANTS}")
    windows = stream_windows(task.train.labels.size, window)
    return train_stream(network, optimizer, task, epochs, rng, windows,
                        lambda inputs, targets: bio_window_step(network, inputs, targets,
                                                                rule).gradients)


def train_backprop(network: MLP, optimizer, task: Task, batch_size: int, epochs: int,
                   rng: np.random.Generator) -> History:
    """Train ``network`` in place by back-prop over non-overlapping minibatches.

    Each epoch reshuffles the training set and cuts it into consecutive minibatches of
    ``batch_size`` (the last one holds the remainder, if any).

    Parameters
    ----------
    network : MLP
    optimizer : synlearn.hsic.optim.AdamW or SGD
    task : Task
    batch_size : int
    epochs : int
    rng : numpy.random.Generator

    Returns
    -------
    History
    """
    check_epochs(epochs)
    train = task.train
    n = train.labels.size
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must lie in [1, {n}], got {batch_size}")
    batches = [slice(start, start + batch_size) for start in range(0, n, batch_size)]
    return train_stream(network, optimizer, task, epochs, rng, batches,
                  lambda inputs, targets: backprop_gradients(network, inputs, targets)[0])


def train_stream(network, optimizer, task: Task, epochs: int, rng: np.random.Generator,
                 slices, gradients_of) -> History:
    """The loop every rule shares: reshuffle the stream each epoch, one optimiser step per
    slice of it (a window or a minibatch), train accuracy right after each update.

    Parameters
    ----------
    network : MLP
        Trained in place.
    optimizer : synlearn.hsic.optim.AdamW or SGD
    task : Task
    epochs : int
    rng : numpy.random.Generator
        Draws each epoch's permutation of the training set.
    slices : list of slice
        The parts of the reshuffled stream, in order (windows or minibatches).
    gradients_of : callable
        ``gradients_of(inputs, targets)`` -> per layer, its parameter gradients.

    Returns
    -------
    History
    """
    train = task.train
    parameters = network.parameters
    state = optimizer.init(parameters)
    train_accuracy = np.empty(epochs + 1, dtype=FLOAT)
    test_accuracy = np.empty(epochs + 1, dtype=FLOAT)
    train_accuracy[0] = evaluate(network, train)
    test_accuracy[0] = evaluate(network, task.test)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(train.labels.size)
        inputs, targets, labels = train.inputs[order], train.targets[order], train.labels[order]
        correct = 0.0
        for part in slices:
            gradients = gradients_of(inputs[part], targets[part])
            state = optimizer.step(parameters, _flat(gradients), state)
            correct += accuracy(network.predict(inputs[part]), labels[part])
        if not all(np.isfinite(p).all() for p in parameters):
            # A diverged run is a result: NaN from here on, never an accuracy of NaN logits.
            train_accuracy[epoch:] = np.nan
            test_accuracy[epoch:] = np.nan
            return History(train_accuracy, test_accuracy, epoch)
        train_accuracy[epoch] = correct / len(slices)
        test_accuracy[epoch] = evaluate(network, task.test)
    return History(train_accuracy, test_accuracy)
