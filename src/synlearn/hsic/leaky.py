"""Leaky-integrator and spiking MLPs trained by the HSIC rule in continuous time.

Daruwalla & Lipasti (2024), Methods, run the rule on networks of neurons that integrate
their input over time. They call them LIF, but the published neurons never spike:
every layer integrates ``u += (dt / tau) (x W + b - u)``, a hidden layer's output is
``LN(ReLU(u))`` (ReLU, then LayerNorm without affine parameters, eps 1e-6, as
``synlearn.hsic.layers.Dense``) and the readout's output is ``u`` itself (the logits);
layer l at step t reads layer l - 1's output of the same step. With ``tau = 5 ms``,
``dt = 1 ms`` each sample is held for 20 steps and scored on the logits averaged over
the last 10. The parameters are an ``MLP`` of ``Dense`` layers and a ``Readout``
(``LeakyNetwork.mlp``), so that back-prop baselines train the same architecture from
the same initialisation, and the network's fixed point for a constant input is the
rate MLP's forward pass.

Training (``train_leaky``). The stream and its sliding window are those of
``synlearn.hsic.training.train_bio`` (``rng.permutation`` every epoch, ``n - B + 1``
windows of B samples). All B samples of a window are simulated side by side, and the
optimiser steps at every time step (``steps`` updates per window). At each step, every
hidden layer takes ``xi`` of the current (last) sample from the window's current layer
outputs (``synlearn.hsic.objective.global_signal``, with ``beta`` from the window's
``K_x``, ``K_y`` computed once per window) and pulls it back through its own LayerNorm,
ReLU and affine map times ``dt / tau``: the derivative of one Euler step with the state
held fixed, as the published code's VJP through one cell application; no error flows
back in time or across layers. The readout takes the window-mean cross-entropy
gradient ``(softmax(u) - y) / B`` on all B samples, times ``dt / tau`` likewise.

The state is the published code's: one ``(B, d)`` array per layer, zero at the start
and never reset (not between windows, not between epochs). It does not travel with the
samples: when the window slides by one, sample j moves from row i + 1 to row i, and
row i's state simply carries on with it. The training accuracy of a window is the
published metric step: after its updates, ``steps`` more steps are run from a copy of
the carried state with the updated parameters and scored on the last
``readout_steps``; the copy is discarded. The published test pass carries the B-row
training state into test batches of another size and cannot run; here each test sample
is run from a fresh zero state instead (``evaluate_leaky``), all at once. ``History``
index 0 is that fresh-state evaluation of the untrained network, on the whole training
set and on the test set.

Spiking option (``SpikingNetwork``, ``train_spiking``). The hidden neurons are leaky
integrate-and-fire: the membrane ``v += (dt / tau) (x W + b - v)`` emits a spike
``s = 1`` when ``v >= threshold`` and is then reset to 0; the spike train is filtered
as ``r += (dt / tau_s) (s / dt - r)``, so that ``r`` is the recent firing rate in
spikes per ms, between 0 and ``1 / dt``. The layer's output is ``LN(r)``, the same
LayerNorm as the rate network (``r >= 0``, so the ReLU is the identity): the kernel
widths ``sigma_z sqrt(d)`` of the rule assume unit-variance outputs, the next layer gets
inputs of the scale the LeCun initialisation expects, and ``xi`` is taken with respect
to this output, the one in ``K_z``. The readout is a non-spiking leaky integrator
(time constant ``tau``) of the last hidden layer's ``LN(r)``. The spike's derivative is
replaced by the fast-sigmoid surrogate of SuperSpike,
``ds / dv = 1 / (1 + k |v - threshold|)^2`` at the membrane before the reset
(Zenke & Ganguli 2018; Neftci et al. 2019), so a hidden layer's local update is ``xi``
pulled back through ``LN``, times ``dr / ds = 1 / tau_s``, the surrogate and
``dv / d(x W + b) = dt / tau``. That is the exact gradient of the one-step loss in which
the spike is ``H(v_0) + sigma(v) - sigma(v_0)``, ``sigma(v) = (v - threshold) /
(1 + k |v - threshold|)``: the spikes it emits, the surrogate's slope
(``tests/hsic/test_leaky.py``).

The defaults, threshold 0.5, ``tau_s = 10 ms``, ``k = 2``, were chosen on the linear
and XOR tasks (AdamW at the paper's lr 1e-4, 25 epochs, the release signal, five
seeds). The drive of the first layer from inputs in ``[-1, 1]^2`` has a standard
deviation of 0.58 at initialisation, and a threshold of 1 leaves that layer silent for
77-100% of the linear task's samples (after 20 steps from rest). Silent samples all
have the output 0, so the kernel ``K_z`` cannot tell them apart and ``xi`` carries
nothing about them; the rule does not get going (mean test accuracy 0.56 on linear,
0.53 on XOR). At 0.5 (32-93% silent at initialisation) it is 0.73 (linear, 2-4-2) and
0.97 (XOR, 2-10-4-2), against 0.93 and 1.00 for the leaky network; 0.25 gives 0.78 and
0.96, but a neuron driven above 1.25 then fires at every step, where the rate
saturates. ``tau_s = 20 ms`` gave 0.80 and 0.86, ``k = 5`` 0.76 and 0.96.

Speed. The whole epoch, forward, ``xi``, pull-back and the AdamW (or SGD) step at every
time step, is one Numba kernel (``kernels.dynamics_epoch``); other optimisers step
from Python after ``kernels.dynamics_gradients``. Single-threaded, 2-10-4-2 at B = 64,
a training time step takes 12 us (leaky; 15 us spiking), of which 4 us are its share
of the windows' accuracy runs, against 340 us for the NumPy twin of
``tests/hsic/reference.py``; 2-4-2 takes 7-9 us.

References
----------
Daruwalla, K. & Lipasti, M. (2024). Information bottleneck-based Hebbian learning rule
naturally ties working memory and synaptic updates. Front. Comput. Neurosci. 18,
1240348 (Methods: the leaky-integrator network and its three-factor update).
Zenke, F. & Ganguli, S. (2018). SuperSpike: supervised learning in multilayer spiking
neural networks. Neural Comput. 30, 1514-1541 (the fast-sigmoid surrogate).
Neftci, E. O., Mostafa, H. & Zenke, F. (2019). Surrogate gradient learning in spiking
neural networks. IEEE Signal Process. Mag. 36, 51-63.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

from . import kernels
from .layers import LAYER_NORM_EPS, MLP, Dense, Readout, make_mlp
from .objective import VARIANTS, kernel_scale
from .optim import SGD, AdamW
from .tasks import Dataset, Task
from .training import BioRule, History, accuracy, check_epochs, stream_windows

FLOAT = np.float64


@dataclass(eq=False)
class LeakyNetwork:
    """An MLP whose layers are leaky integrators (Daruwalla & Lipasti 2024, Methods).

    Attributes
    ----------
    mlp : MLP
        The parameters: ``Dense`` hidden layers and a ``Readout``, the same arrays (and
        initialisation) as the rate network.
    """

    mlp: MLP

    def __post_init__(self):
        layers = self.mlp.layers
        if (not isinstance(layers[-1], Readout)
                or not all(type(layer) is Dense for layer in layers[:-1])):
            raise TypeError("a leaky network needs Dense hidden layers and a Readout")

    @property
    def parameters(self) -> tuple[np.ndarray, ...]:
        """The MLP's parameters (trained in place)."""
        return self.mlp.parameters

    @property
    def sizes(self) -> tuple[int, ...]:
        """``(d_in, d_1, ..., d_out)``."""
        return self.mlp.sizes

    def copy(self):
        """An independent copy (the parameters are copied)."""
        return dataclasses.replace(self, mlp=self.mlp.copy())


@dataclass(eq=False)
class SpikingNetwork(LeakyNetwork):
    """Leaky integrate-and-fire hidden layers and a leaky-integrator readout.

    See the module docstring for the dynamics and the surrogate derivative
    (Zenke & Ganguli 2018; Neftci et al. 2019).

    Attributes
    ----------
    mlp : MLP
    threshold : float
        The membrane potential at which a neuron spikes (and is reset to 0).
    filter_tau : float
        ``tau_s`` (ms) of the exponential filter of the spike trains.
    surrogate_slope : float
        ``k`` of the surrogate ``1 / (1 + k |v - threshold|)^2``.
    """

    threshold: float = 0.5
    filter_tau: float = 10.0
    surrogate_slope: float = 2.0

    def __post_init__(self):
        super().__post_init__()
        for name in ("threshold", "filter_tau", "surrogate_slope"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


def make_leaky(sizes: Sequence[int], rng: np.random.Generator) -> LeakyNetwork:
    """A leaky-integrator network on ``make_mlp(sizes, rng)``'s parameters.

    Parameters
    ----------
    sizes : sequence of int
        ``(d_in, d_1, ..., d_out)``.
    rng : numpy.random.Generator
        The same draws as ``make_mlp``: one seed gives the rate and the leaky network
        the same weights.

    Returns
    -------
    LeakyNetwork
    """
    return LeakyNetwork(make_mlp(sizes, rng))


def make_spiking(sizes: Sequence[int], rng: np.random.Generator, threshold: float = 0.5,
                 filter_tau: float = 10.0, surrogate_slope: float = 2.0) -> SpikingNetwork:
    """A spiking network on ``make_mlp(sizes, rng)``'s parameters (see ``SpikingNetwork``)."""
    return SpikingNetwork(make_mlp(sizes, rng), threshold, filter_tau, surrogate_slope)


class NetworkState(NamedTuple):
    """The dynamic state of n samples run side by side.

    Both arrays are flat, layer after layer, each block ``(rows, d_l)`` row-major
    (``membranes`` and ``traces`` give the per-layer views).

    Attributes
    ----------
    membrane : ndarray
        ``u`` of the leaky layers and the readout, ``v`` of spiking hidden layers.
    trace : ndarray
        ``r``, the filtered spike trains of spiking hidden layers (unused otherwise).
    rows : int
    """

    membrane: np.ndarray
    trace: np.ndarray
    rows: int

    def membranes(self, network: LeakyNetwork) -> tuple[np.ndarray, ...]:
        """Per layer, the ``(rows, d_l)`` view of ``membrane``."""
        return _blocks(network.sizes, self.membrane, self.rows)

    def traces(self, network: LeakyNetwork) -> tuple[np.ndarray, ...]:
        """Per layer, the ``(rows, d_l)`` view of ``trace``."""
        return _blocks(network.sizes, self.trace, self.rows)


def initial_state(network: LeakyNetwork, rows: int) -> NetworkState:
    """The zero state of ``rows`` samples."""
    total = rows * sum(network.sizes[1:])
    return NetworkState(np.zeros(total, dtype=FLOAT), np.zeros(total, dtype=FLOAT), int(rows))


class Simulation(NamedTuple):
    """What ``simulate`` returns.

    Attributes
    ----------
    logits : ndarray, shape (n, d_out)
        The readout averaged over the last ``readout_steps``.
    outputs : tuple of ndarray
        Every layer's outputs at the last step, shape (n, d_l) (the last: the logits).
    state : NetworkState
        The state after the run (the one passed in, advanced in place).
    spikes : ndarray, shape (n_hidden,)
        Spikes emitted per hidden layer over the run (zero for a leaky network).
    """

    logits: np.ndarray
    outputs: tuple
    state: NetworkState
    spikes: np.ndarray


class TimeStep(NamedTuple):
    """One time step of training (``time_step``).

    Attributes
    ----------
    gradients : tuple of tuple of ndarray
        Per layer, its ``(weight, bias)`` gradients.
    signals : tuple of ndarray
        Per hidden layer, ``xi`` of the current (last) sample.
    outputs : tuple of ndarray
        Every layer's outputs after the step, shape (n, d_l).
    """

    gradients: tuple
    signals: tuple
    outputs: tuple


def _views(flat: np.ndarray, shapes) -> tuple[np.ndarray, ...]:
    """Consecutive views of ``flat`` with the given shapes."""
    views, offset = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        views.append(flat[offset:offset + size].reshape(shape))
        offset += size
    return tuple(views)


def _blocks(sizes, flat: np.ndarray, rows: int) -> tuple[np.ndarray, ...]:
    """The per-layer ``(rows, d_l)`` blocks of a flat state or work array."""
    return _views(flat, [(rows, width) for width in sizes[1:]])


def _flat(parameters) -> np.ndarray:
    """The parameters as one vector, the kernels' ``theta`` (a copy)."""
    return np.concatenate([p.reshape(-1) for p in parameters])


def _shaped_like(flat: np.ndarray, parameters) -> tuple[np.ndarray, ...]:
    """Views of a flat vector laid out as ``MLP.parameters``."""
    return _views(flat, [p.shape for p in parameters])


def _check_timing(steps: int, readout_steps: int, tau: float, dt: float) -> None:
    if not steps > readout_steps >= 1:
        raise ValueError(f"need steps > readout_steps >= 1, got steps={steps}, "
                         f"readout_steps={readout_steps}")
    _check_time_constants(tau, dt)


def _check_time_constants(tau: float, dt: float) -> None:
    if not tau > 0 or not dt > 0:
        raise ValueError(f"tau and dt must be positive, got tau={tau}, dt={dt}")
    if dt > tau:
        raise ValueError(f"dt={dt} > tau={tau}: the Euler step would overshoot the fixed point")


def _neuron(network: LeakyNetwork, tau: float, dt: float) -> tuple:
    """The kernels' ``neuron`` tuple (``synlearn.hsic.kernels``)."""
    if isinstance(network, SpikingNetwork):
        if dt > network.filter_tau:
            raise ValueError(f"dt={dt} > filter_tau={network.filter_tau}")
        return (kernels.SPIKING, dt / tau, float(network.threshold), dt / network.filter_tau,
                1.0 / dt, float(network.surrogate_slope), LAYER_NORM_EPS)
    return (kernels.LEAKY, dt / tau, 0.0, 0.0, 1.0 / dt, 0.0, LAYER_NORM_EPS)


def _workspace(sizes, rows: int, n_parameters: int) -> tuple:
    """The kernels' ``work`` tuple: outputs, potential, active, inv_std, zeros, spikes,
    grad, signals, scratch."""
    widths = sizes[1:]
    total = rows * sum(widths)
    return (np.zeros(total, dtype=FLOAT), np.zeros(total, dtype=FLOAT),
            np.zeros(total, dtype=np.bool_), np.zeros(rows * len(widths), dtype=FLOAT),
            np.zeros(max(widths), dtype=FLOAT), np.zeros(len(widths), dtype=FLOAT),
            np.zeros(n_parameters, dtype=FLOAT), np.zeros(max(sum(widths[:-1]), 1), dtype=FLOAT),
            np.zeros(widths[-1], dtype=FLOAT))


def _rows(inputs, width: int) -> np.ndarray:
    rows = np.ascontiguousarray(inputs, dtype=FLOAT)
    if rows.ndim != 2 or rows.shape[1] != width:
        raise ValueError(f"expected inputs of shape (n, {width}), got {rows.shape}")
    return rows


def _rule(rule: BioRule, sizes) -> tuple:
    """The kernels' ``rule`` tuple: gamma, variant code, the x and y kernel widths, sigma_z."""
    if rule.variant not in VARIANTS:
        raise ValueError(f"unknown xi variant {rule.variant!r}; expected one of {VARIANTS}")
    return (float(rule.gamma), kernels.VARIANT_CODES[rule.variant],
            kernel_scale(rule.sigma_x, sizes[0]), kernel_scale(rule.sigma_y, sizes[-1]),
            float(rule.sigma_z))


def simulate(network: LeakyNetwork, inputs, steps: int = 20, tau: float = 5.0,
             dt: float = 1.0, readout_steps: int = 10,
             state: NetworkState | None = None) -> Simulation:
    """Hold each row of ``inputs`` for ``steps`` Euler steps (Daruwalla & Lipasti 2024).

    Parameters
    ----------
    network : LeakyNetwork or SpikingNetwork
    inputs : ndarray, shape (n, d_in)
        One sample per row, all run side by side.
    steps, readout_steps : int
        ``steps > readout_steps >= 1``; the logits are averaged over the last
        ``readout_steps``.
    tau, dt : float
        The membrane time constant and the Euler step (ms), ``0 < dt <= tau``.
    state : NetworkState, optional
        Where to start (advanced in place); default the zero state.

    Returns
    -------
    Simulation
    """
    _check_timing(steps, readout_steps, tau, dt)
    neuron = _neuron(network, tau, dt)
    sizes = network.sizes
    x = _rows(inputs, sizes[0])
    if state is None:
        state = initial_state(network, x.shape[0])
    elif state.rows != x.shape[0]:
        raise ValueError(f"a state of {state.rows} rows for {x.shape[0]} inputs")
    theta = _flat(network.parameters)
    work = _workspace(sizes, x.shape[0], theta.size)
    logits = np.empty((x.shape[0], sizes[-1]), dtype=FLOAT)
    kernels.dynamics_run(np.asarray(sizes, dtype=np.int64), theta, x, int(steps),
                         int(readout_steps), neuron, state.membrane, state.trace, work, logits)
    return Simulation(logits, _blocks(sizes, work[0], x.shape[0]), state, work[5][:-1])


def predict_leaky(network: LeakyNetwork, inputs, steps: int = 20, tau: float = 5.0,
                  dt: float = 1.0, readout_steps: int = 10) -> np.ndarray:
    """The logits of every row of ``inputs``, each run from a fresh zero state for
    ``steps`` steps and averaged over the last ``readout_steps`` (see ``simulate``)."""
    return simulate(network, inputs, steps, tau, dt, readout_steps).logits


def evaluate_leaky(network: LeakyNetwork, dataset: Dataset, steps: int = 20,
                   tau: float = 5.0, dt: float = 1.0, readout_steps: int = 10) -> float:
    """The accuracy over ``dataset`` of ``predict_leaky`` (fresh state per sample)."""
    return accuracy(predict_leaky(network, dataset.inputs, steps, tau, dt, readout_steps),
                    dataset.labels)


def time_step(network: LeakyNetwork, state: NetworkState, inputs, targets, rule: BioRule,
              tau: float = 5.0, dt: float = 1.0) -> TimeStep:
    """One time step of a window and the local gradients it gives every layer.

    Daruwalla & Lipasti (2024), Methods; the gradients are described in the module
    docstring. The state advances in place; the parameters are not changed.

    Parameters
    ----------
    network : LeakyNetwork or SpikingNetwork
    state : NetworkState
        ``rows`` = the window length B.
    inputs : ndarray, shape (B, d_in)
        The window, current sample last.
    targets : ndarray, shape (B, d_out)
        One-hot labels.
    rule : BioRule
    tau, dt : float

    Returns
    -------
    TimeStep
    """
    _check_time_constants(tau, dt)
    neuron = _neuron(network, tau, dt)
    sizes = network.sizes
    x, y = _rows(inputs, sizes[0]), _rows(targets, sizes[-1])
    n = x.shape[0]
    if n < 2 or state.rows != n or y.shape[0] != n:
        raise ValueError(f"need a window of B >= 2 inputs, targets and state rows, got {n}, "
                         f"{y.shape[0]}, {state.rows}")
    rule_codes = _rule(rule, sizes)
    beta = np.empty(n, dtype=FLOAT)
    kernels.window_coefficients(x, y, rule_codes, np.empty((n, n)), np.empty((n, n)), beta,
                                False)
    parameters = network.parameters
    theta = _flat(parameters)
    work = _workspace(sizes, n, theta.size)
    kernels.dynamics_gradients(np.asarray(sizes, dtype=np.int64), theta, x, y, beta,
                               rule_codes[4], neuron, state.membrane, state.trace, work)
    gradients = _shaped_like(work[6], parameters)
    signals = _views(work[7], [(width,) for width in sizes[1:-1]])
    return TimeStep(tuple(zip(gradients[::2], gradients[1::2])), signals,
                    _blocks(sizes, work[0], n))


def _fused_optimizer(optimizer) -> tuple | None:
    """The kernels' ``optimizer`` tuple for AdamW and SGD; None for any other optimiser."""
    if type(optimizer) is AdamW:
        return (kernels.OPTIMIZER_ADAMW, float(optimizer.learning_rate), float(optimizer.beta1),
                float(optimizer.beta2), float(optimizer.eps), float(optimizer.weight_decay))
    if type(optimizer) is SGD:
        return (kernels.OPTIMIZER_SGD, float(optimizer.learning_rate), 0.0, 0.0, 0.0, 0.0)
    return None


class _Run(NamedTuple):
    """Everything an epoch's kernels need besides the stream (built by ``_train``)."""

    sizes: np.ndarray
    theta: np.ndarray
    neuron: tuple
    rule: tuple
    state: NetworkState
    work: tuple
    kx: np.ndarray
    ky: np.ndarray
    beta: np.ndarray
    mean_logits: np.ndarray
    steps: int
    readout_steps: int


def _stepwise_epoch(run: _Run, optimizer, optimizer_state, parameters, stream):
    """An epoch for any optimiser with ``init``/``step``: the kernels' gradients of every
    time step handed to ``optimizer.step`` from Python. Returns the optimiser state and
    the sum of the windows' accuracies."""
    inputs, targets, labels = stream
    n = run.beta.shape[0]
    theta_views = _shaped_like(run.theta, parameters)
    grad_views = _shaped_like(run.work[6], parameters)
    total = 0.0
    for start in range(labels.size - n + 1):
        rows = slice(start, start + n)
        kernels.window_coefficients(inputs[rows], targets[rows], run.rule, run.kx, run.ky,
                                    run.beta, start > 0)
        for _ in range(run.steps):
            kernels.dynamics_gradients(run.sizes, run.theta, inputs[rows], targets[rows],
                                       run.beta, run.rule[4], run.neuron, run.state.membrane,
                                       run.state.trace, run.work)
            optimizer_state = optimizer.step(theta_views, grad_views, optimizer_state)
        total += kernels.window_accuracy(run.sizes, run.theta, inputs[rows], labels[rows],
                                         run.steps, run.readout_steps, run.neuron,
                                         run.state.membrane, run.state.trace, run.work,
                                         run.mean_logits)
    return optimizer_state, total


def _train(network: LeakyNetwork, optimizer, task: Task, rule: BioRule, window: int,
           epochs: int, rng: np.random.Generator, steps: int, tau: float, dt: float,
           readout_steps: int) -> History:
    """The loop ``train_leaky`` and ``train_spiking`` share."""
    check_epochs(epochs)
    _check_timing(steps, readout_steps, tau, dt)
    train = task.train
    n = train.labels.size
    stream_windows(n, window)  # the kernel slides the window itself; this checks B
    sizes = network.sizes
    parameters = network.parameters
    theta = _flat(parameters)
    run = _Run(np.asarray(sizes, dtype=np.int64), theta, _neuron(network, tau, dt),
               _rule(rule, sizes), initial_state(network, window),
               _workspace(sizes, window, theta.size), np.empty((window, window)),
               np.empty((window, window)), np.empty(window), np.empty((window, sizes[-1])),
               int(steps), int(readout_steps))
    fused = _fused_optimizer(optimizer)
    if fused is None:
        optimizer_state = optimizer.init(_shaped_like(theta, parameters))
    else:
        first, second, count = np.zeros(theta.size), np.zeros(theta.size), 0
    timing = (steps, tau, dt, readout_steps)
    train_accuracy = np.empty(epochs + 1, dtype=FLOAT)
    test_accuracy = np.empty(epochs + 1, dtype=FLOAT)
    train_accuracy[0] = evaluate_leaky(network, train, *timing)
    test_accuracy[0] = evaluate_leaky(network, task.test, *timing)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        stream = (train.inputs[order], train.targets[order], train.labels[order])
        if fused is None:
            optimizer_state, total = _stepwise_epoch(run, optimizer, optimizer_state,
                                                     parameters, stream)
        else:
            count, total = kernels.dynamics_epoch(
                run.sizes, theta, first, second, count, fused, *stream, run.steps,
                run.readout_steps, run.neuron, run.rule, run.state.membrane, run.state.trace,
                run.work, run.kx, run.ky, run.beta, run.mean_logits)
        for parameter, trained in zip(parameters, _shaped_like(theta, parameters)):
            parameter[...] = trained
        if not np.isfinite(theta).all():
            # As synlearn.hsic.training: a diverged run is a result, NaN from here on.
            train_accuracy[epoch:] = np.nan
            test_accuracy[epoch:] = np.nan
            return History(train_accuracy, test_accuracy, epoch)
        train_accuracy[epoch] = total / (n - window + 1)
        test_accuracy[epoch] = evaluate_leaky(network, task.test, *timing)
    return History(train_accuracy, test_accuracy)


def train_leaky(network: LeakyNetwork, optimizer, task: Task, rule: BioRule, window: int,
                epochs: int, rng: np.random.Generator, steps: int = 20, tau: float = 5.0,
                dt: float = 1.0, readout_steps: int = 10) -> History:
    """Train a leaky-integrator network in place with the HSIC rule, an update per time step.

    Daruwalla & Lipasti (2024), Methods; the stream, the state and the metrics are
    described in the module docstring. AdamW and SGD run fused in one Numba kernel per
    epoch; any other optimiser with ``init``/``step`` is stepped from Python (slower).

    Parameters
    ----------
    network : LeakyNetwork or MLP
        An MLP (``make_mlp``) is run as ``LeakyNetwork(network)``; either way its
        arrays are trained in place.
    optimizer : synlearn.hsic.optim.AdamW or SGD
        Its step count (AdamW's bias correction) runs on over all time steps and epochs.
    task : Task
    rule : BioRule
    window : int
        B, at least 2 and at most the number of training samples.
    epochs : int
    rng : numpy.random.Generator
        Draws each epoch's permutation.
    steps : int
        Time steps (and updates) per window; also the length of each evaluation run.
    tau, dt : float
        Membrane time constant and Euler step (ms), ``0 < dt <= tau``.
    readout_steps : int
        The last steps whose logits are averaged for scoring, ``1 <= readout_steps <
        steps``.

    Returns
    -------
    History
        Index 0: the untrained network, each sample from a fresh zero state. If a
        parameter becomes non-finite, ``diverged_at`` is that epoch, the accuracies
        from it on are NaN and training stops.
    """
    if isinstance(network, MLP):
        network = LeakyNetwork(network)
    elif isinstance(network, SpikingNetwork) or not isinstance(network, LeakyNetwork):
        raise TypeError(f"train_leaky trains an MLP or a LeakyNetwork, got {type(network)}")
    return _train(network, optimizer, task, rule, window, epochs, rng, steps, tau, dt,
                  readout_steps)


def train_spiking(network: SpikingNetwork, optimizer, task: Task, rule: BioRule, window: int,
                  epochs: int, rng: np.random.Generator, steps: int = 20, tau: float = 5.0,
                  dt: float = 1.0, readout_steps: int = 10) -> History:
    """Train a spiking network in place with the HSIC rule through a surrogate derivative.

    As ``train_leaky``, with the hidden layers' local derivative taken through the
    SuperSpike surrogate (Zenke & Ganguli 2018; Neftci et al. 2019; module docstring).
    ``tau`` is the membrane and readout time constant; the spike filter's is
    ``network.filter_tau``.

    Parameters
    ----------
    network : SpikingNetwork or MLP
        An MLP is run as ``SpikingNetwork(network)`` (the default neuron constants).
    optimizer, task, rule, window, epochs, rng, steps, tau, dt, readout_steps
        As ``train_leaky``.

    Returns
    -------
    History
    """
    if isinstance(network, MLP):
        network = SpikingNetwork(network)
    elif not isinstance(network, SpikingNetwork):
        raise TypeError(f"train_spiking trains an MLP or a SpikingNetwork, got {type(network)}")
    return _train(network, optimizer, task, rule, window, epochs, rng, steps, tau, dt,
                  readout_steps)
