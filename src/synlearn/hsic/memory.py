"""The working-memory reservoir of the HSIC rule, what it remembers, and the closed loop.

Daruwalla & Lipasti (2024), Methods (the working-memory reservoir), propose that the
global signal xi of a window of recent samples is computed by a recurrent rate network
that receives each sample for a while and is trained, by a local rule on its readout,
to output xi. As published:

- 2000 tanh rate units, ``tau du/dt = -u + g W r + W_in v + W_fb z``, ``r = tanh(u)``,
  ``z = W_o^T r`` fed back (the network of Sussillo & Abbott 2009, Eq. 1, with
  ``g = 1.2``), tau 5 ms, Euler steps of dt 1 ms, no noise, ``u(0) = 0``;
- ``W ~ N(0, 1 / (p N))`` with connection probability ``p = 0.1``, ``W_in`` and
  ``W_fb ~ U(-1, 1)``, ``W_o = 0``;
- each sample's input ``v = (x, y, z)`` (image in [-1, 1], one-hot label, a random
  ``z ~ U[0, 1)^10``) is held for 20 steps, and at every step
  ``W_o <- W_o - lr r (z_out - xi)^T`` (LMS, lr 5e-4) toward the 10-d xi of the window
  of the last 10 samples (gamma 2, one sigma 0.5 for the x, y and z kernels; the
  ``release`` signal of ``synlearn.hsic.objective`` by default);
- 10 epochs over 100 samples (the first 100 MNIST test images; here by default the
  first 100 test images of ``synlearn.core.datasets.digits_train_test``, 64 pixels).

The mask. The published code keeps a weight where a Bernoulli(1 - p) draw is 1, i.e.
90% of the entries, with the standard deviation meant for 10%: the spectral radius of
``g W`` is then ``g sqrt(0.9 / 0.1) = 3.6`` instead of ``g = 1.2``. Here the mask keeps
the fraction p (``published_mask=False``, the default); ``published_mask=True`` keeps
``1 - p`` with the same standard deviation, as published.

Choices the paper leaves open (the published code, ``darsnack/biological-hsic``,
``train-reservoir.py``, settles some of them):

- The stream. Each epoch is a new permutation of the samples (published: the data set
  is reshuffled every epoch); each sample keeps its z over the epochs (published: drawn
  once per sample). The epochs are one continuous stream: the reservoir's state and the
  window carry over epoch boundaries, and every sample of the stream drives the
  reservoir. Only the first ``window - 1`` samples of the stream have no full window:
  they drive the reservoir without a target and without learning, and are not scored.
  (Published: windows restart every epoch and the first 9 samples of each epoch never
  drive the reservoir, they only appear as past samples of the windows.)
- The order within a step follows the published cell: the readout z is read from the
  current rates, LMS updates ``W_o`` with those rates, then the state steps with z
  fed back.

What the paper did not measure (``memory_experiment``):

- the normalised MSE ``mean |z - xi|^2 / mean |xi - mean xi|^2`` on new sample
  streams (held-out images in a new order with new z), with the readout frozen,
  scored over the last ``scored_steps`` of the steps of each sample;
- the same in-sample over the last training epoch, twice: for the learning readout
  itself (``tracking``, which has moved toward the current sample's xi during the
  sample: LMS at lr 5e-4 on 2000 rates of order one adapts within a few steps) and for
  the readout as it was before the sample (``prequential``);
- a memoryless control: a linear readout on the current sample's own input
  ``(x, y, z, 1)``, trained by the same LMS (same lr, same steps, same targets), which
  can only do as well as the reservoir if the reservoir adds no memory of past samples.

Measured (seeds 0-2, 2000 units, 10 epochs over the first 100 digits test images):
with the 10% mask the learning readout's in-sample NMSE of the last epoch is
0.008-0.010 (the paper's picture of a readout that follows xi), but the readout as it
was before each sample scores 9-10 and the frozen readout 9.7-14.8 on held-out
streams, against 0.89-0.99 for the memoryless control; with the published mask
0.022-0.026, 4.9-5.7 and 5.5-7.7 (control 0.88-1.06). LMS at lr 5e-4 on 2000 mostly
saturated rates (``lr |r|^2`` ~ 0.6 per step) re-fits the readout to each sample's xi
within a few of its 20 steps; it does not learn a map from the reservoir's state to xi.
``ridge_memory_nmse`` asks the separate question of what the state holds, with the
best linear readout fitted offline.

The closed loop (``ReservoirSignal``, ``train_bio_closed_loop``): one reservoir per
hidden layer receives the current sample's ``(x, y, z_l)``, learns by LMS toward the
window's xi of that layer (the teacher, as in the paper's reservoir training), and its
own estimate of xi replaces the teacher in the layer's update.

References
----------
Daruwalla, K. & Lipasti, M. (2024). Information bottleneck-based Hebbian learning rule
naturally ties working memory and synaptic updates. Front. Comput. Neurosci. 18,
1240348 (Methods: the working-memory reservoir; the global signal).
Sussillo, D. & Abbott, L. F. (2009). Generating coherent patterns of activity from
chaotic neural networks. Neuron 63, 544-557 (Eq. 1: the rate network).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import kernels
from .layers import MLP
from .objective import VARIANTS, gaussian_kernel, global_signal, signal_coefficients
from .tasks import Task
from .training import (BioRule, History, bio_window_step, check_epochs, stream_windows,
                       train_stream)

FLOAT = np.float64
ESTIMATES = ("prediction", "tracking")
N_CLASSES = 10


# -- settings ---------------------------------------------------------------------------


class ReservoirSettings(NamedTuple):
    """The reservoir and its readout rule (defaults: Daruwalla & Lipasti 2024).

    Attributes
    ----------
    n_units : int
        N (2000).
    tau, dt : float
        Time constant and Euler step, in seconds (5 ms, 1 ms).
    gain : float
        g of ``g W r`` (1.2).
    connectivity : float
        p: ``W ~ N(0, 1 / (p N))`` and, with the default mask, the fraction of entries
        kept (0.1).
    published_mask : bool
        Keep ``1 - p`` of the entries instead, as the published code does.
    steps_per_sample : int
        Steps each sample's input is held (20).
    learning_rate : float
        LMS rate of the readout (5e-4).
    scored_steps : int
        The last steps of each sample that are scored, and averaged into the closed
        loop's estimate (10).
    input_scale : float
        Factor on ``W_in ~ U(-1, 1)`` (1, as published).
    """

    n_units: int = 2000
    tau: float = 5e-3
    dt: float = 1e-3
    gain: float = 1.2
    connectivity: float = 0.1
    published_mask: bool = False
    steps_per_sample: int = 20
    learning_rate: float = 5e-4
    scored_steps: int = 10
    input_scale: float = 1.0

    @property
    def kept_fraction(self) -> float:
        """The expected fraction of the entries of W that are nonzero."""
        return 1.0 - self.connectivity if self.published_mask else self.connectivity

    @property
    def first_scored(self) -> int:
        """The first scored step of a sample."""
        return self.steps_per_sample - self.scored_steps


class MemoryProtocol(NamedTuple):
    """The working-memory experiment (defaults: Daruwalla & Lipasti 2024).

    Attributes
    ----------
    window : int
        B, the samples xi is computed over (10).
    gamma, sigma : float
        xi's gamma (2) and the one sigma of the x, y and z kernels (0.5).
    variant : {"release", "revised", "exact"}
        Which xi (``synlearn.hsic.objective``).
    epochs : int
        Passes over the training samples (10).
    z_dim : int
        Dimension of the random z, and of xi (10).
    n_train, n_test : int
        Training images and held-out images (100 each) when ``memory_experiment``
        loads the digits.
    test_passes : int
        Passes over the held-out images, each a new order (1).
    """

    window: int = 10
    gamma: float = 2.0
    sigma: float = 0.5
    variant: str = "release"
    epochs: int = 10
    z_dim: int = 10
    n_train: int = 100
    n_test: int = 100
    test_passes: int = 1


def _require(condition: bool, name: str, value, expected: str) -> None:
    if not condition:
        raise ValueError(f"{name} must be {expected}, got {value!r}")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_settings(settings: ReservoirSettings) -> ReservoirSettings:
    """``settings`` if valid, else a ValueError naming the field.

    Parameters
    ----------
    settings : ReservoirSettings

    Returns
    -------
    ReservoirSettings
    """
    if not isinstance(settings, ReservoirSettings):
        raise ValueError(f"settings must be a ReservoirSettings, got {type(settings).__name__}")
    s = settings
    _require(_is_int(s.n_units) and s.n_units >= 2, "n_units", s.n_units, "an integer >= 2")
    for name in ("tau", "dt", "learning_rate"):
        value = getattr(s, name)
        _require(math.isfinite(value) and value > 0, name, value, "a positive number")
    _require(s.dt <= s.tau, "dt", s.dt, f"at most tau = {s.tau} (Euler steps)")
    _require(math.isfinite(s.gain) and s.gain >= 0, "gain", s.gain, "a non-negative number")
    _require(0 < s.connectivity <= 1, "connectivity", s.connectivity, "in (0, 1]")
    _require(math.isfinite(s.input_scale) and s.input_scale >= 0, "input_scale",
             s.input_scale, "a non-negative number")
    _require(_is_int(s.steps_per_sample) and s.steps_per_sample >= 1, "steps_per_sample",
             s.steps_per_sample, "a positive integer")
    _require(_is_int(s.scored_steps) and 1 <= s.scored_steps <= s.steps_per_sample,
             "scored_steps", s.scored_steps, f"an integer in [1, {s.steps_per_sample}]")
    return s


def check_protocol(protocol: MemoryProtocol) -> MemoryProtocol:
    """``protocol`` if valid, else a ValueError naming the field."""
    if not isinstance(protocol, MemoryProtocol):
        raise ValueError(f"protocol must be a MemoryProtocol, got {type(protocol).__name__}")
    p = protocol
    _require(_is_int(p.window) and p.window >= 2, "window", p.window, "an integer >= 2")
    _require(p.variant in VARIANTS, "variant", p.variant, f"one of {VARIANTS}")
    _require(math.isfinite(p.sigma) and p.sigma > 0, "sigma", p.sigma, "a positive number")
    _require(math.isfinite(p.gamma), "gamma", p.gamma, "a finite number")
    for name in ("epochs", "z_dim", "n_train", "n_test", "test_passes"):
        value = getattr(p, name)
        _require(_is_int(value) and value >= 1, name, value, "a positive integer")
    return p


# -- the reservoir ----------------------------------------------------------------------


class MemoryNetwork(NamedTuple):
    """The fixed part of a reservoir, as ``kernels.memory_sample`` takes it.

    Attributes
    ----------
    indptr, indices : ndarray of int64, ndarray of uint32
        W in CSR form (row pointers (N + 1,), column indices (nnz,)); uint32 indices
        halve the traffic of the product's inner loop.
    weights : ndarray of float64, shape (nnz,)
        Its values (without the gain).
    gain : float
    w_fb : ndarray of float64, shape (N, n_outputs)
        Feedback weights of the readout.
    leak : float
        ``dt / tau``.
    w_in_t : ndarray of float64, shape (n_inputs, N)
        The input weights, transposed (``input_scale`` included).
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    gain: float
    w_fb: np.ndarray
    leak: float
    w_in_t: np.ndarray


class MemoryState(NamedTuple):
    """What a reservoir carries from sample to sample, and the kernel's scratch.

    Attributes
    ----------
    u : ndarray, shape (N,)
        Unit states.
    rates : ndarray, shape (N,)
        ``tanh(u)``.
    w_out : ndarray, shape (N, n_outputs)
        The readout ``W_o``.
    recurrent : ndarray, shape (N, 1)
        Scratch: ``W r``.
    drive : ndarray, shape (N,)
        Scratch: ``W_in v``.
    w_start : ndarray, shape (N, n_outputs)
        Scratch: ``W_o`` at the start of a sample.
    z, prediction, scaled_error : ndarray, shape (n_outputs,)
        Scratch.
    """

    u: np.ndarray
    rates: np.ndarray
    w_out: np.ndarray
    recurrent: np.ndarray
    drive: np.ndarray
    w_start: np.ndarray
    z: np.ndarray
    prediction: np.ndarray
    scaled_error: np.ndarray


def memory_state(n_units: int, n_outputs: int, u=None, w_out=None) -> MemoryState:
    """A ``MemoryState`` (``u = 0`` and ``W_o = 0`` unless given; arrays copied).

    Parameters
    ----------
    n_units, n_outputs : int
    u : array_like, shape (N,), optional
    w_out : array_like, shape (N, n_outputs), optional
    """
    u = np.zeros(n_units) if u is None else np.array(u, dtype=FLOAT)
    w_out = np.zeros((n_units, n_outputs)) if w_out is None else np.array(w_out, dtype=FLOAT)
    if u.shape != (n_units,) or w_out.shape != (n_units, n_outputs):
        raise ValueError(f"u ({n_units},) and w_out ({n_units}, {n_outputs}) expected, got "
                         f"{u.shape} and {w_out.shape}")
    return MemoryState(u, np.tanh(u), w_out, np.zeros((n_units, 1)), np.zeros(n_units),
                       np.zeros((n_units, n_outputs)), np.zeros(n_outputs),
                       np.zeros(n_outputs), np.zeros(n_outputs))


class StreamTrace(NamedTuple):
    """The readout over a stream of samples.

    Attributes
    ----------
    outputs : ndarray, shape (n_samples, steps_per_sample, n_outputs)
        ``z = W_o^T r`` at every step (what is fed back).
    predictions : ndarray, same shape
        The readout as it was at the start of each sample applied to the rates of each
        scored step (equal to ``outputs`` where the readout does not learn); NaN on the
        steps before ``first_scored``.
    scored_rates : ndarray, shape (n_samples, N), or None
        The mean rates over each sample's scored steps, if asked for.
    """

    outputs: np.ndarray
    predictions: np.ndarray
    scored_rates: np.ndarray | None = None


def _c(values) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=FLOAT)


def _learn_mask(learn, n: int) -> np.ndarray:
    """``learn`` as a fresh (n,) bool array (a scalar applies to every sample)."""
    learn = np.asarray(learn)
    if learn.dtype != np.bool_ or learn.shape not in ((), (n,)):
        raise ValueError(f"learn must be a bool or a bool array of shape ({n},), got "
                         f"{learn.dtype} of shape {learn.shape}")
    return np.array(np.broadcast_to(learn, (n,)))


@dataclass(eq=False)
class WorkingMemory:
    """One reservoir with its readout (Daruwalla & Lipasti 2024, Methods).

    Build with ``make_working_memory``. ``network`` is fixed; ``state`` (``u``, the
    rates, ``W_o``) changes in place as samples are presented.

    Attributes
    ----------
    settings : ReservoirSettings
    network : MemoryNetwork
    state : MemoryState
    """

    settings: ReservoirSettings
    network: MemoryNetwork
    state: MemoryState

    @property
    def w_in(self) -> np.ndarray:
        """The input weights, shape (N, n_inputs) (``input_scale`` included)."""
        return self.network.w_in_t.T

    @property
    def n_units(self) -> int:
        return self.state.u.shape[0]

    @property
    def n_inputs(self) -> int:
        return self.network.w_in_t.shape[0]

    @property
    def n_outputs(self) -> int:
        return self.state.w_out.shape[1]

    def copy(self) -> "WorkingMemory":
        """An independent, exact copy of the state (the fixed network is shared)."""
        return WorkingMemory(self.settings, self.network,
                             MemoryState(*(array.copy() for array in self.state)))

    def dense_recurrent(self) -> np.ndarray:
        """W as a dense (N, N) array (without the gain)."""
        dense = np.zeros((self.n_units, self.n_units))
        rows = np.repeat(np.arange(self.n_units), np.diff(self.network.indptr))
        dense[rows, self.network.indices] = self.network.weights
        return dense

    def _inputs(self, features, targets, learn):
        features = _c(features)
        if features.ndim != 2 or features.shape[1] != self.n_inputs:
            raise ValueError(f"features must have shape (n_samples, {self.n_inputs}), "
                             f"got {features.shape}")
        n = features.shape[0]
        if targets is None:
            targets = np.zeros((n, self.n_outputs))
            learn = np.zeros(n, dtype=np.bool_)
        targets = _c(targets)
        if targets.shape != (n, self.n_outputs):
            raise ValueError(f"targets must have shape ({n}, {self.n_outputs}), "
                             f"got {targets.shape}")
        learn = _learn_mask(learn, n)
        return features, targets, learn

    def present_stream(self, features, targets=None, learn=True,
                       keep_rates: bool = False) -> StreamTrace:
        """Hold each row of ``features`` for ``steps_per_sample`` steps, in order.

        Parameters
        ----------
        features : array_like, shape (n_samples, n_inputs)
            The input ``v`` of each sample.
        targets : array_like, shape (n_samples, n_outputs), optional
            The LMS target of each sample (without targets nothing learns).
        learn : bool or array_like of bool, shape (n_samples,)
            Whether the readout learns during each sample.
        keep_rates : bool
            Also return the mean rates over each sample's scored steps.

        Returns
        -------
        StreamTrace
        """
        features, targets, learn = self._inputs(features, targets, learn)
        n = features.shape[0]
        shape = (n, self.settings.steps_per_sample, self.n_outputs)
        outputs, predictions = np.empty(shape), np.empty(shape)
        rates = np.empty((n, self.n_units if keep_rates else 0))
        kernels.memory_stream(self.network, self.state, features, targets, learn,
                              float(self.settings.learning_rate),
                              int(self.settings.first_scored), outputs, predictions, rates)
        return StreamTrace(outputs, predictions, rates if keep_rates else None)

    def present(self, features, target=None, learn: bool = True) -> StreamTrace:
        """``present_stream`` for one sample: ``features`` (n_inputs,), ``target``
        (n_outputs,); the trace's arrays have shape (steps_per_sample, n_outputs)."""
        features = _c(features)
        if features.shape != (self.n_inputs,):
            raise ValueError(f"features must have shape ({self.n_inputs},), "
                             f"got {features.shape}")
        steps = (self.settings.steps_per_sample, self.n_outputs)
        outputs, predictions = np.empty(steps), np.empty(steps)
        if target is None:
            target, learn = np.zeros(self.n_outputs), False
        target = _c(target)
        if target.shape != (self.n_outputs,):
            raise ValueError(f"target must have shape ({self.n_outputs},), got {target.shape}")
        kernels.memory_sample(self.network, self.state, features, target,
                              float(self.settings.learning_rate), bool(learn),
                              int(self.settings.first_scored), outputs, predictions,
                              np.empty(0))
        return StreamTrace(outputs, predictions)


def make_working_memory(n_inputs: int, n_outputs: int, rng: np.random.Generator,
                        settings: ReservoirSettings = ReservoirSettings()) -> WorkingMemory:
    """A reservoir as Daruwalla & Lipasti (2024) build it (see the module docstring).

    Draws, in this order: the mask of W (``rng.random < kept_fraction``, row by row),
    the kept values ``N(0, 1 / (p N))``, ``W_in ~ U(-1, 1)`` (N, n_inputs) and
    ``W_fb ~ U(-1, 1)`` (N, n_outputs). ``u = 0``, ``W_o = 0``.

    Parameters
    ----------
    n_inputs, n_outputs : int
    rng : numpy.random.Generator
    settings : ReservoirSettings

    Returns
    -------
    WorkingMemory
    """
    settings = check_settings(settings)
    for name, value in (("n_inputs", n_inputs), ("n_outputs", n_outputs)):
        _require(_is_int(value) and value >= 1, name, value, "a positive integer")
    n = int(settings.n_units)
    keep = rng.random((n, n)) < settings.kept_fraction
    rows, columns = np.nonzero(keep)
    weights = rng.standard_normal(rows.size) * math.sqrt(1.0 / (settings.connectivity * n))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    w_in = rng.uniform(-1.0, 1.0, size=(n, n_inputs)) * float(settings.input_scale)
    w_fb = rng.uniform(-1.0, 1.0, size=(n, n_outputs))
    network = MemoryNetwork(indptr, columns.astype(np.uint32), _c(weights), float(settings.gain),
                            _c(w_fb), float(settings.dt / settings.tau), _c(w_in.T))
    return WorkingMemory(settings, network, memory_state(n, n_outputs))


def spectral_radius(memory: WorkingMemory) -> float:
    """The largest ``|eigenvalue|`` of ``g W`` (dense eigenvalues: O(N^3))."""
    return float(np.max(np.abs(np.linalg.eigvals(memory.network.gain
                                                 * memory.dense_recurrent()))))


def expected_spectral_radius(settings: ReservoirSettings) -> float:
    """The circular law's radius of ``g W``: ``g sqrt(f N / (p N)) = g sqrt(f / p)``, f the
    kept fraction (1.2 with the default mask, 3.6 with the published one)."""
    return float(settings.gain * math.sqrt(settings.kept_fraction / settings.connectivity))


# -- targets and scores -----------------------------------------------------------------


def window_signal(x_window, y_window, z_window, gamma: float, sigma_x: float, sigma_y: float,
                  sigma_z: float, variant: str = "release") -> np.ndarray:
    """xi of a window's current (last) sample, from its x, y and z rows.

    ``objective.global_signal(z, signal_coefficients(K_x, K_y, gamma, variant), sigma_z)``.

    Returns
    -------
    ndarray, shape (d_z,)
    """
    coefficients = signal_coefficients(gaussian_kernel(x_window, sigma_x),
                                       gaussian_kernel(y_window, sigma_y), gamma, variant)
    return global_signal(z_window, coefficients, sigma_z)


def stream_targets(x, y, z, window: int, gamma: float, sigma: float,
                   variant: str = "release") -> tuple[np.ndarray, np.ndarray]:
    """xi at every position of a stream whose window is full.

    Parameters
    ----------
    x, y, z : array_like, shape (n_samples, d)
        The stream's images, one-hot labels and z, in stream order.
    window : int
    gamma, sigma : float
        One sigma for the three kernels, as published.
    variant : str

    Returns
    -------
    targets : ndarray, shape (n_samples, d_z)
        Row s is xi of the window ``s - window + 1 .. s``; zero where it is not full.
    full : ndarray of bool, shape (n_samples,)
        ``s >= window - 1``.
    """
    x, y, z = _c(x), _c(y), _c(z)
    n = z.shape[0]
    targets = np.zeros(z.shape)
    full = np.arange(n) >= window - 1
    for s in np.flatnonzero(full):
        part = slice(s - window + 1, s + 1)
        targets[s] = window_signal(x[part], y[part], z[part], gamma, sigma, sigma, sigma, variant)
    return targets, full


def normalised_mse(outputs, targets, scored=None) -> float:
    """``mean |z - xi|^2 / mean |xi - mean xi|^2`` over the scored samples.

    Parameters
    ----------
    outputs : array_like, shape (n_samples, n_steps, d)
        The readout at the scored steps of each sample.
    targets : array_like, shape (n_samples, d)
        xi of each sample (constant over its steps).
    scored : array_like of bool, shape (n_samples,), optional
        The samples to score (default: all).

    Returns
    -------
    float
        0 for a perfect readout, 1 for the best constant (the mean xi).
    """
    outputs, targets = np.asarray(outputs, dtype=FLOAT), np.asarray(targets, dtype=FLOAT)
    if scored is not None:
        outputs, targets = outputs[scored], targets[scored]
    error = np.mean(np.sum((outputs - targets[:, None, :]) ** 2, axis=2))
    spread = np.mean(np.sum((targets - targets.mean(axis=0)) ** 2, axis=1))
    return float(error / spread)


# -- the experiment ---------------------------------------------------------------------


class MemoryData(NamedTuple):
    """Images as rows in [-1, 1] and their labels, for training and held out."""

    train_inputs: np.ndarray
    train_labels: np.ndarray
    test_inputs: np.ndarray
    test_labels: np.ndarray


def digits_memory_data(n_train: int = 100, n_test: int = 100) -> MemoryData:
    """The first ``n_train`` test images of ``core.datasets.digits_train_test`` (train)
    and the next ``n_test`` (held out), 64 pixels mapped from [0, 1] to [-1, 1] (as the
    published code maps MNIST)."""
    from ..core.datasets import digits_train_test

    _, test = digits_train_test()
    available = test.labels.size
    _require(_is_int(n_train) and _is_int(n_test) and n_train >= 1 and n_test >= 1
             and n_train + n_test <= available, "n_train + n_test", (n_train, n_test),
             f"two positive integers with a sum of at most {available}")
    pixels = 2.0 * test.images.reshape(available, -1) - 1.0
    return MemoryData(pixels[:n_train], test.labels[:n_train],
                      pixels[n_train:n_train + n_test], test.labels[n_train:n_train + n_test])


class MemoryResult(NamedTuple):
    """What ``memory_experiment`` measures (normalised MSEs, ``normalised_mse``).

    Attributes
    ----------
    test_nmse : float
        Held-out streams, readout frozen: the reservoir.
    control_test_nmse : float
        The same for the memoryless control.
    train_nmse : float
        Last training epoch, the learning readout (it sees each sample's target).
    train_prequential_nmse : float
        Last training epoch, the readout as it was before each sample.
    control_train_nmse : float
        Last training epoch, the memoryless control's learning readout.
    epoch_nmse, control_epoch_nmse : ndarray, shape (epochs,)
        The learning readout's NMSE in every epoch (the first ``window - 1`` samples
        of the stream are not scored).
    test_targets : ndarray, shape (n_test_stream, z_dim)
        xi of every sample of the held-out streams.
    test_estimates, control_test_estimates : ndarray, shape (n_test_stream, z_dim)
        The frozen reservoir's and the control's output, averaged over each sample's
        scored steps.
    test_full : ndarray of bool, shape (n_test_stream,)
        The held-out samples with a full window (the scored ones).
    """

    test_nmse: float
    control_test_nmse: float
    train_nmse: float
    train_prequential_nmse: float
    control_train_nmse: float
    epoch_nmse: np.ndarray
    control_epoch_nmse: np.ndarray
    test_targets: np.ndarray
    test_estimates: np.ndarray
    control_test_estimates: np.ndarray
    test_full: np.ndarray


def _stream(inputs, labels, z, orders, protocol: MemoryProtocol):
    """Features ``(x, y, z)``, targets and the full-window mask of the concatenated
    orders."""
    stream = np.concatenate(orders)
    x, y, zs = inputs[stream], np.eye(N_CLASSES)[labels[stream]], z[stream]
    targets, full = stream_targets(x, y, zs, protocol.window, protocol.gamma, protocol.sigma,
                                   protocol.variant)
    return np.hstack([x, y, zs]), targets, full


def _with_bias(features: np.ndarray) -> np.ndarray:
    return np.hstack([features, np.ones((features.shape[0], 1))])


def memoryless_stream(w, features, targets, learn, settings: ReservoirSettings) -> np.ndarray:
    """The memoryless control over a stream: LMS on each sample's ``(v, 1)``, in place.

    Parameters
    ----------
    w : ndarray, shape (n_inputs + 1, n_outputs)
        Its weights (the last row multiplies the bias), updated in place.
    features : array_like, shape (n_samples, n_inputs)
    targets : array_like, shape (n_samples, n_outputs)
    learn : array_like of bool, shape (n_samples,)
    settings : ReservoirSettings
        ``steps_per_sample`` and ``learning_rate``, as the reservoir's readout.

    Returns
    -------
    ndarray, shape (n_samples, steps_per_sample, n_outputs)
        The control's output at every step.
    """
    features = _with_bias(_c(features))
    targets = _c(targets)
    learn = _learn_mask(learn, features.shape[0])
    outputs = np.empty((features.shape[0], settings.steps_per_sample, targets.shape[1]))
    kernels.lms_stream(w, features, targets, learn, float(settings.learning_rate), outputs,
                       np.empty(targets.shape[1]))
    return outputs


class _Streams(NamedTuple):
    memory: WorkingMemory
    train: tuple  # features, targets, full
    epoch: np.ndarray  # epoch of each training-stream position
    test: tuple


def _experiment_streams(rng, settings, protocol, data) -> _Streams:
    """The reservoir and both streams, drawn in the order ``memory_experiment`` states."""
    settings, protocol = check_settings(settings), check_protocol(protocol)
    if data is None:
        data = digits_memory_data(protocol.n_train, protocol.n_test)
    n_train, n_test = data.train_labels.size, data.test_labels.size
    _require(n_train >= protocol.window and n_test >= protocol.window, "data",
             (n_train, n_test), f"at least window = {protocol.window} samples in each part")
    n_inputs = data.train_inputs.shape[1] + N_CLASSES + protocol.z_dim
    memory = make_working_memory(n_inputs, protocol.z_dim, rng, settings)
    z_train = rng.random((n_train, protocol.z_dim))
    z_test = rng.random((n_test, protocol.z_dim))
    test_orders = [rng.permutation(n_test) for _ in range(protocol.test_passes)]
    train_orders = [rng.permutation(n_train) for _ in range(protocol.epochs)]
    return _Streams(
        memory,
        _stream(data.train_inputs, data.train_labels, z_train, train_orders, protocol),
        np.repeat(np.arange(protocol.epochs), n_train),
        _stream(data.test_inputs, data.test_labels, z_test, test_orders, protocol))


def memory_experiment(rng: np.random.Generator,
                      settings: ReservoirSettings = ReservoirSettings(),
                      protocol: MemoryProtocol = MemoryProtocol(),
                      data: MemoryData | None = None) -> MemoryResult:
    """Train the working memory on a stream, then score it and the memoryless control.

    Draws, in this order: the reservoir (``make_working_memory``), the training z, the
    held-out z and the held-out orders (so the held-out streams do not depend on the
    number of epochs), then one permutation of the training samples per epoch. The
    held-out streams continue from the trained state on a copy, readout frozen; their
    first ``window - 1`` samples are not scored (their window is not full).

    Parameters
    ----------
    rng : numpy.random.Generator
    settings : ReservoirSettings
    protocol : MemoryProtocol
    data : MemoryData, optional
        Default: ``digits_memory_data(protocol.n_train, protocol.n_test)``.

    Returns
    -------
    MemoryResult
    """
    memory, (features, targets, full), epoch, test_stream = _experiment_streams(
        rng, settings, protocol, data)
    trace = memory.present_stream(features, targets, full)
    control = np.zeros((features.shape[1] + 1, protocol.z_dim))
    control_outputs = memoryless_stream(control, features, targets, full, settings)

    scored = slice(settings.first_scored, None)
    epochs = range(protocol.epochs)
    epoch_nmse = np.array([normalised_mse(trace.outputs[:, scored], targets, full & (epoch == e))
                           for e in epochs])
    control_epoch_nmse = np.array([
        normalised_mse(control_outputs[:, scored], targets, full & (epoch == e)) for e in epochs])
    train_prequential = normalised_mse(trace.predictions[:, scored], targets,
                                       full & (epoch == protocol.epochs - 1))

    features, targets, full = test_stream
    test = memory.copy().present_stream(features, targets, False)
    control_test = memoryless_stream(control.copy(), features, targets, False, settings)
    return MemoryResult(
        test_nmse=normalised_mse(test.outputs[:, scored], targets, full),
        control_test_nmse=normalised_mse(control_test[:, scored], targets, full),
        train_nmse=float(epoch_nmse[-1]),
        train_prequential_nmse=train_prequential,
        control_train_nmse=float(control_epoch_nmse[-1]),
        epoch_nmse=epoch_nmse,
        control_epoch_nmse=control_epoch_nmse,
        test_targets=targets,
        test_estimates=test.outputs[:, scored].mean(axis=1),
        control_test_estimates=control_test[:, scored].mean(axis=1),
        test_full=np.asarray(full, dtype=bool),
    )


class RidgeResult(NamedTuple):
    """Held-out (and training) NMSE of the best linear readouts, fitted offline.

    Attributes
    ----------
    reservoir_test_nmse, reservoir_train_nmse : float
        Ridge readout of the reservoir's mean rates over each sample's scored steps.
    input_test_nmse, input_train_nmse : float
        Ridge readout of the current sample's own input ``(x, y, z)`` (memoryless).
    """

    reservoir_test_nmse: float
    input_test_nmse: float
    reservoir_train_nmse: float
    input_train_nmse: float


def _ridge_nmse(train_features, train_targets, test_features, test_targets, ridge):
    """Fit ``[F, 1] w = T`` with penalty ``ridge |w|^2`` (bias included); (train, test) NMSE."""
    def design(features):
        return np.hstack([features, np.ones((features.shape[0], 1))])

    a, b = design(train_features), design(test_features)
    w = np.linalg.solve(a.T @ a + ridge * np.eye(a.shape[1]), a.T @ train_targets)
    return tuple(normalised_mse((f @ w)[:, None, :], t, None)
                 for f, t in ((a, train_targets), (b, test_targets)))


def ridge_memory_nmse(rng: np.random.Generator,
                      settings: ReservoirSettings = ReservoirSettings(),
                      protocol: MemoryProtocol = MemoryProtocol(),
                      data: MemoryData | None = None, ridge=1.0):
    """What the reservoir's state holds about xi, whatever a local rule can learn of it.

    The reservoir of ``memory_experiment`` (the same draws for the same ``rng`` state)
    runs open loop (``W_o = 0``, so nothing is fed back) over the training and held-out
    streams; a ridge regression from its mean rates over each sample's scored steps to
    xi is fitted on the training stream's full windows and scored on the held-out
    stream's, against the same regression from the current input ``(x, y, z)``. The
    readout is scored on the mean over the scored steps (one value a sample).

    Parameters
    ----------
    rng, settings, protocol, data
        As ``memory_experiment``.
    ridge : float or sequence of float
        The penalty on ``|w|^2`` (the bias included), for both regressions; a sequence
        fits each penalty to the same simulated streams.

    Returns
    -------
    RidgeResult, or a list of them (one per penalty) for a sequence
    """
    penalties = [ridge] if np.ndim(ridge) == 0 else list(ridge)
    for value in penalties:
        _require(math.isfinite(value) and value > 0, "ridge", value, "a positive number")
    memory, (features, targets, full), _, (test_features, test_targets, test_full) = (
        _experiment_streams(rng, settings, protocol, data))
    rates = memory.present_stream(features, keep_rates=True).scored_rates
    test_rates = memory.present_stream(test_features, keep_rates=True).scored_rates
    results = []
    for value in penalties:
        reservoir = _ridge_nmse(rates[full], targets[full], test_rates[test_full],
                                test_targets[test_full], value)
        inputs = _ridge_nmse(features[full], targets[full], test_features[test_full],
                             test_targets[test_full], value)
        results.append(RidgeResult(reservoir[1], inputs[1], reservoir[0], inputs[0]))
    return results[0] if np.ndim(ridge) == 0 else results


# -- the closed loop --------------------------------------------------------------------


class _EstimateRecord:
    """How far a signal's estimates were from their teachers, accumulated step by step."""

    def _start_record(self, n_outputs: int) -> None:
        self._count = 0
        self._error = 0.0
        self._teacher_sum = np.zeros(n_outputs)
        self._teacher_squares = 0.0
        self._cosine = 0.0

    def _record(self, estimate: np.ndarray, teacher: np.ndarray) -> np.ndarray:
        self._count += 1
        self._error += float(np.sum((estimate - teacher) ** 2))
        self._teacher_sum += teacher
        self._teacher_squares += float(teacher @ teacher)
        norms = math.sqrt(float(estimate @ estimate) * float(teacher @ teacher))
        self._cosine += float(estimate @ teacher) / norms if norms > 0 else 0.0
        return estimate

    @property
    def count(self) -> int:
        """Teacher steps so far."""
        return self._count

    @property
    def normalised_mse(self) -> float:
        """``mean |estimate - teacher|^2 / mean |teacher - mean teacher|^2`` so far."""
        if self._count == 0:
            return math.nan
        mean = self._teacher_sum / self._count
        spread = self._teacher_squares / self._count - float(mean @ mean)
        return (self._error / self._count) / spread if spread > 0 else math.nan

    @property
    def mean_cosine(self) -> float:
        """The mean cosine between estimate and teacher so far (0 for a zero estimate)."""
        return self._cosine / self._count if self._count else math.nan


def _features(x, y, z) -> np.ndarray:
    return np.concatenate([np.ravel(x), np.ravel(y), np.ravel(z)]).astype(FLOAT)


@dataclass(eq=False)
class ReservoirSignal(_EstimateRecord):
    """A working memory that estimates one hidden layer's xi (the closed loop).

    Each ``step`` holds the current sample's ``(x, y, z_l)`` for ``steps_per_sample``
    steps while the readout learns by LMS toward the teacher (the window's xi of the
    layer, as the paper trains its reservoir), and returns the reservoir's estimate of
    xi, averaged over the scored steps:

    - ``"prediction"`` (default): the readout as it was before this sample's LMS
      updates, applied to the rates of the scored steps: the teacher of the current
      sample has not reached it (only through the fed-back z);
    - ``"tracking"``: the learning readout itself, which moves toward the teacher during
      the sample (an upper bound on what the reservoir contributes).

    It also accumulates how far its estimates were from the teachers
    (``count``, ``normalised_mse``, ``mean_cosine``).

    Attributes
    ----------
    memory : WorkingMemory
        Inputs ``n_x + n_y + width``, outputs ``width``.
    estimate : {"prediction", "tracking"}
    """

    memory: WorkingMemory
    estimate: str = "prediction"

    def __post_init__(self):
        _require(self.estimate in ESTIMATES, "estimate", self.estimate, f"one of {ESTIMATES}")
        self._start_record(self.memory.n_outputs)

    @property
    def n_outputs(self) -> int:
        return self.memory.n_outputs

    def observe(self, x, y, z) -> None:
        """Drive the reservoir with a sample that has no teacher (nothing learns)."""
        self.memory.present(_features(x, y, z))

    def step(self, x, y, z, teacher) -> np.ndarray:
        """Present the current sample, learn toward ``teacher``, return the estimate.

        Parameters
        ----------
        x, y : array_like
            The current sample's input and one-hot label.
        z : array_like, shape (width,)
            The layer's output for it.
        teacher : array_like, shape (width,)
            The window's xi of the layer.

        Returns
        -------
        ndarray, shape (width,)
        """
        teacher = _c(teacher)
        trace = self.memory.present(_features(x, y, z), teacher, True)
        source = trace.predictions if self.estimate == "prediction" else trace.outputs
        return self._record(source[self.memory.settings.first_scored:].mean(axis=0), teacher)


@dataclass(eq=False)
class MemorylessSignal(_EstimateRecord):
    """The memoryless control in the closed loop: LMS on ``(x, y, z_l, 1)`` alone.

    Same interface, rule, rate and steps as ``ReservoirSignal``; its ``"prediction"`` is
    ``w^T v`` with the weights before this sample's updates (constant over the sample).

    Attributes
    ----------
    n_inputs, n_outputs : int
    settings : ReservoirSettings
        ``steps_per_sample``, ``scored_steps`` and ``learning_rate``.
    estimate : {"prediction", "tracking"}
    """

    n_inputs: int
    n_outputs: int
    settings: ReservoirSettings = ReservoirSettings()
    estimate: str = "prediction"

    def __post_init__(self):
        _require(self.estimate in ESTIMATES, "estimate", self.estimate, f"one of {ESTIMATES}")
        check_settings(self.settings)
        self.weights = np.zeros((self.n_inputs + 1, self.n_outputs))
        self._start_record(self.n_outputs)

    def observe(self, x, y, z) -> None:
        """Nothing to remember."""

    def step(self, x, y, z, teacher) -> np.ndarray:
        """Learn toward ``teacher`` on the current sample's input; return the estimate."""
        teacher = _c(teacher)
        outputs = memoryless_stream(self.weights, _features(x, y, z)[None, :], teacher[None, :],
                                    True, self.settings)[0]
        estimate = outputs[0] if self.estimate == "prediction" else (
            outputs[self.settings.first_scored:].mean(axis=0))
        return self._record(estimate, teacher)


def reservoir_signals(network: MLP, n_classes: int, rng: np.random.Generator,
                      settings: ReservoirSettings = ReservoirSettings(n_units=300),
                      estimate: str = "prediction") -> tuple[ReservoirSignal, ...]:
    """One ``ReservoirSignal`` per hidden layer of ``network``, drawn layer by layer.

    Layer l's reservoir receives ``(x, y, z_l)`` (``d_in + n_classes + d_l`` inputs) and
    outputs ``d_l``.
    """
    sizes = network.sizes
    return tuple(
        ReservoirSignal(make_working_memory(sizes[0] + n_classes + width, width, rng, settings),
                        estimate)
        for width in sizes[1:-1])


def train_bio_closed_loop(network: MLP, optimizer, task: Task, rule: BioRule, window: int,
                          epochs: int, rng: np.random.Generator,
                          settings: ReservoirSettings = ReservoirSettings(n_units=300),
                          estimate: str = "prediction",
                          signals: tuple | None = None) -> History:
    """``training.train_bio`` with each hidden layer's xi estimated by its own reservoir.

    The stream and windows are those of ``train_bio`` (one permutation per epoch from
    ``rng``, a window sliding by one sample). At each window every hidden layer's
    ``ReservoirSignal`` is stepped with the current sample's ``(x, y, z_l)`` and the
    window's xi of the layer (``rule``'s variant) as teacher, and its estimate is pulled
    back through the layer instead of the window's xi; the readout learns as in
    ``train_bio``. The reservoirs run on over the whole training; at the first window
    of each epoch they are first driven, without teacher, by the window's earlier
    samples, so that every sample of the stream reaches them in order.

    Parameters
    ----------
    network : MLP
        Trained in place.
    optimizer : synlearn.hsic.optim.AdamW or SGD
    task : Task
    rule : BioRule
    window : int
    epochs : int
    rng : numpy.random.Generator
        Draws the reservoirs (unless ``signals`` is given), then the epochs' orders.
    settings : ReservoirSettings
        The reservoirs (default: 300 units, otherwise as published).
    estimate : {"prediction", "tracking"}
        See ``ReservoirSignal``.
    signals : tuple of ReservoirSignal or MemorylessSignal, optional
        Estimators to use instead (one per hidden layer); they keep their statistics.

    Returns
    -------
    History
    """
    check_epochs(epochs)
    _require(rule.variant in VARIANTS, "rule.variant", rule.variant, f"one of {VARIANTS}")
    windows = stream_windows(task.train.labels.size, window)
    n_classes = task.train.targets.shape[1]
    if signals is None:
        signals = reservoir_signals(network, n_classes, rng, settings, estimate)
    widths = network.sizes[1:-1]
    if len(signals) != len(widths) or any(s.n_outputs != w for s, w in zip(signals, widths)):
        raise ValueError(f"signals must be one estimator per hidden layer, of widths {widths}")
    calls = [0]

    def gradients_of(inputs, targets):
        first_of_epoch = calls[0] % len(windows) == 0
        calls[0] += 1

        def estimate(index, z, xi):
            # the estimator sees the current sample and learns toward the window's xi
            signal = signals[index]
            if first_of_epoch:
                for row in range(window - 1):
                    signal.observe(inputs[row], targets[row], z[row])
            return signal.step(inputs[-1], targets[-1], z[-1], xi)

        return bio_window_step(network, inputs, targets, rule, estimate).gradients

    return train_stream(network, optimizer, task, epochs, rng, windows, gradients_of)

