"""Numba kernels for a batch of rate reservoirs that share one network.

All state arrays are laid out ``(n_units, batch)`` so that the innermost loops run
elementwise over the batch: one pass over the sparse recurrent matrix J serves every run
in the batch, and the loops vectorise without fastmath. Runs in a batch share the random
draws (initial states, private noise), which makes comparisons between learning rules
paired and makes each run's numbers independent of which other runs share its batch.

The kernels take their state as three NamedTuples of NumPy arrays and scalars, which
Numba compiles (and caches) like any other argument:

- ``Network``: the shared network (J in CSR form, ``u``, ``w_in``, ``g_out``), built by
  ``synlearn.reservoir.network.network_state``;
- ``Readout``: the learning state of the batch (``w``, ``alpha``, ``P``, ...), built by
  ``synlearn.reservoir.protocol.readout_state`` (a test runs on
  ``protocol.frozen_copy``);
- ``Scalars``: the protocol's numbers, built by
  ``synlearn.reservoir.protocol.protocol_scalars``.

Numba compiles one machine-code version per combination of argument types, so every
field must always have the same dtype, layout and writeability (a field passed as ``2``
instead of ``2.0`` silently compiles a second version): build these tuples with their
factories only, which cast every field with ``kernel_array`` or ``float``/``int``.

No I/O, no pandas, no validation here: see ``synlearn.reservoir.protocol``.

References
----------
Sussillo, D. & Abbott, L. F. (2009). Generating coherent patterns of activity from
chaotic neural networks. Neuron 63, 544-557 (Eq. 1: the network; Eqs. 4-5: FORCE).
Aitchison, L. et al. (2021). Synaptic plasticity as Bayesian inference. Nat. Neurosci.
24, 565-571.
Menendez, J. A. & Latham, P. E. Bayesian weight updates stabilize and improve local
learning in a recurrent neural network (poster).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..core.jit import njit
from ..core.rate import recurrent_input, tanh, tanh_array  # shared with hsic.memory; re-exported

DELTA = 0
BAYES = 1
RLS = 2
RULE_CODES = {"delta": DELTA, "bayes": BAYES, "rls": RLS}



class Network(NamedTuple):
    """The network shared by a batch (Sussillo & Abbott 2009, Eq. 1).

    ``tau dx/dt = -x + J r + u z + w_in I(t)``, ``r = tanh(x)``, ``z = w . (g_out r)``.
    Built by ``synlearn.reservoir.network.network_state``.

    Attributes
    ----------
    indptr : numpy.ndarray of int64, shape (n_units + 1,)
        CSR row pointers of J.
    indices : numpy.ndarray of uint32, shape (nnz,)
        CSR column indices of J.
    J : numpy.ndarray of float64, shape (nnz,)
        CSR values of J.
    u : numpy.ndarray of float64, shape (n_units,)
        Feedback weights of the readout z.
    w_in : numpy.ndarray of float64, shape (n_units,)
        Input weights of the pulse I(t).
    g_out : numpy.ndarray of float64, shape (n_units,)
        Per-unit readout gains: the readout sees ``s = g_out r``.
    """

    indptr: np.ndarray
    indices: np.ndarray
    J: np.ndarray
    u: np.ndarray
    w_in: np.ndarray
    g_out: np.ndarray


class Readout(NamedTuple):
    """The learning state of every run of a batch, laid out ``(n_units, batch)``.

    Built by ``synlearn.reservoir.protocol.readout_state``. The kernels update ``w``,
    ``alpha``, ``P`` and ``diverged`` in place.

    Attributes
    ----------
    target_index : numpy.ndarray of int64, shape (batch,)
        Row of ``targets`` that each run learns.
    w : numpy.ndarray of float64, shape (n_units, batch)
        Readout weights.
    alpha : numpy.ndarray of float64, shape (n_units, batch)
        Per-synapse learning rates alpha_i (``delta``: the fixed eta; ``bayes``: the
        posterior variance in units of the likelihood variance; ``rls``: unused, 0).
    alpha_decay, alpha_floor : numpy.ndarray of float64, shape (batch,)
        Forgetting, applied before each update: ``alpha <- alpha_decay alpha +
        alpha_floor`` (1 and 0 without forgetting).
    bayes : numpy.ndarray of float64, shape (batch,)
        1.0 for a Bayesian run (``alpha`` anneals), 0.0 otherwise.
    rls_slot : numpy.ndarray of int64, shape (batch,)
        Index into ``P`` of each RLS run, -1 for the other runs.
    P : numpy.ndarray of float64, shape (n_rls, n_units, n_units)
        RLS inverse correlation matrices, one per RLS run.
    diverged : numpy.ndarray of bool, shape (batch,)
        Runs that left the divergence bound; they are silenced.
    """

    target_index: np.ndarray
    w: np.ndarray
    alpha: np.ndarray
    alpha_decay: np.ndarray
    alpha_floor: np.ndarray
    bayes: np.ndarray
    rls_slot: np.ndarray
    P: np.ndarray
    diverged: np.ndarray


class Scalars(NamedTuple):
    """The protocol's numbers, as the kernels use them.

    Built by ``synlearn.reservoir.protocol.protocol_scalars``.

    Attributes
    ----------
    divergence_bound : float
        A run whose readout is non-finite or exceeds this in magnitude diverged.
    learn_every : int
        Learning steps are the target steps ``t`` with ``t % learn_every == 0``.
    pulse_steps : int
        Length of the input pulse of a trial (``trials`` protocol).
    pulse_amplitude : float
        Amplitude of that pulse.
    init_std : float
        Standard deviation of a trial's initial state x.
    noise_step_std : float
        Standard deviation of the private noise increment of one Euler step.
    leak : float
        ``dt / tau``.
    """

    divergence_bound: float
    learn_every: int
    pulse_steps: int
    pulse_amplitude: float
    init_std: float
    noise_step_std: float
    leak: float


class _Work(NamedTuple):
    """Per-step state and scratch of a kernel call (built inside the kernels)."""

    x: np.ndarray  # (n_units, batch) unit states
    rates: np.ndarray  # (n_units, batch) r = tanh(x)
    recurrent: np.ndarray  # (n_units, batch) J r
    z: np.ndarray  # (batch,) readout
    err: np.ndarray  # (batch,) e = f - z
    f: np.ndarray  # (batch,) target value of this step
    s: np.ndarray  # (n_units,) g_out r of one RLS run
    k: np.ndarray  # (n_units,) P s of one RLS run
    noise: np.ndarray  # (n_units,) private noise increment of this step, shared by the batch
    drive: np.ndarray  # (n_units,) w_in I(t), shared by the batch


def kernel_array(values, dtype) -> np.ndarray:
    """``values`` as a C-contiguous, aligned, writeable array of exactly ``dtype``.

    What the factories of the kernel-state tuples use for every array field, so that
    each field always has one Numba type (a read-only or strided array would compile
    another version). Copies only when needed.
    """
    return np.require(values, dtype=dtype, requirements=("C", "A", "W"))


@njit
def euler_step(x, rates, recurrent, u, drive, z, noise, leak):
    """Advance ``tau dx/dt = -x + J r + u z + w_in I`` by one Euler step, then ``r = tanh x``.

    Sussillo & Abbott (2009), Eq. 1, with private noise added (Euler-Maruyama).

    Parameters
    ----------
    x, rates : numpy.ndarray of float64, shape (n_units, batch)
        State and rates of every run, updated in place.
    recurrent : numpy.ndarray of float64, shape (n_units, batch)
        ``J r`` of this step.
    u : numpy.ndarray of float64, shape (n_units,)
        Feedback weights.
    drive : numpy.ndarray of float64, shape (n_units,)
        ``w_in I(t)`` of this step, shared by the batch.
    z : numpy.ndarray of float64, shape (batch,)
        Readout of every run, fed back.
    noise : numpy.ndarray of float64, shape (n_units,)
        Per-unit noise increment of this step, shared by the batch.
    leak : float
        ``dt / tau``.
    """
    n_units, batch = x.shape
    if batch == 1:
        # One run: loop over units on flat views, so that the loop (and its tanh)
        # vectorises; the batch loop below would run it one unit at a time. The same
        # operations in the same order: bit-identical to the batched path.
        x_flat = x.reshape(n_units)
        rates_flat = rates.reshape(n_units)
        recurrent_flat = recurrent.reshape(n_units)
        z_run = z[0]
        for i in range(n_units):
            x_flat[i] += leak * (-x_flat[i] + recurrent_flat[i] + u[i] * z_run + drive[i]) + noise[i]
        for i in range(n_units):
            rates_flat[i] = tanh(x_flat[i])
        return
    for i in range(n_units):
        fb = u[i]
        drive_i = drive[i]
        kick = noise[i]
        for b in range(batch):
            x[i, b] += leak * (-x[i, b] + recurrent[i, b] + fb * z[b] + drive_i) + kick
        for b in range(batch):
            rates[i, b] = tanh(x[i, b])


@njit
def output(w, rates, g_out, z):
    """``z_b = sum_i w_ib g_i r_ib``: the readout of each run in the batch.

    ``z = w . s`` with ``s = g_out r`` (Sussillo & Abbott 2009, Eq. 1, with per-unit gains).

    Parameters
    ----------
    w : numpy.ndarray of float64, shape (n_units, batch)
        Readout weights.
    rates : numpy.ndarray of float64, shape (n_units, batch)
        ``r`` of every run.
    g_out : numpy.ndarray of float64, shape (n_units,)
        Per-unit readout gains.
    z : numpy.ndarray of float64, shape (batch,)
        Receives the readouts.
    """
    n_units, batch = w.shape
    for b in range(batch):
        z[b] = 0.0
    for i in range(n_units):
        gain = g_out[i]
        for b in range(batch):
            z[b] += w[i, b] * (gain * rates[i, b])


@njit
def local_update(w, alpha, rates, g_out, err, alpha_decay, alpha_floor, bayes):
    """One step of the delta rule or the per-synapse Bayesian rule, for every run.

    For a run with ``bayes = 1`` the per-synapse rate is the Gaussian posterior
    variance in units of the likelihood variance (Menendez & Latham poster;
    Aitchison et al. 2021, Eq. 4 with a Gaussian likelihood):
    ``alpha_i <- alpha_i / (1 + alpha_i s_i^2)`` i.e. ``1/alpha_i = 1/eta0 + sum s_i^2``,
    which stays positive and never increases. Optional forgetting first relaxes
    ``alpha_i`` toward the prior (``alpha_i <- decay alpha_i + floor``). For a run with
    ``bayes = 0``, ``decay = 1`` and ``floor = 0`` the rate stays at its fixed value:
    the classical delta rule ``w += eta e s``. ``s = g_out r`` is what the readout sees.

    Parameters
    ----------
    w : numpy.ndarray of float64, shape (n_units, batch)
        Readout weights, updated in place: ``w_i += alpha_i e s_i``.
    alpha : numpy.ndarray of float64, shape (n_units, batch)
        Per-synapse rates, updated in place.
    rates : numpy.ndarray of float64, shape (n_units, batch)
        ``r`` of every run.
    g_out : numpy.ndarray of float64, shape (n_units,)
        Per-unit readout gains.
    err : numpy.ndarray of float64, shape (batch,)
        Error ``e = f - z`` of every run.
    alpha_decay, alpha_floor : numpy.ndarray of float64, shape (batch,)
        Forgetting of every run (1 and 0 for none).
    bayes : numpy.ndarray of float64, shape (batch,)
        1.0 where the rate anneals (Bayesian rule), 0.0 where it is fixed.
    """
    n_units, batch = w.shape
    if batch == 1:
        # One run: vectorise over synapses instead (see ``euler_step``); bit-identical.
        w_flat = w.reshape(n_units)
        alpha_flat = alpha.reshape(n_units)
        rates_flat = rates.reshape(n_units)
        decay, floor, anneal, e = alpha_decay[0], alpha_floor[0], bayes[0], err[0]
        for i in range(n_units):
            s = g_out[i] * rates_flat[i]
            a = alpha_flat[i] * decay + floor
            a = a / (1.0 + anneal * a * s * s)
            alpha_flat[i] = a
            w_flat[i] += a * e * s
        return
    for i in range(n_units):
        gain = g_out[i]
        for b in range(batch):
            s = gain * rates[i, b]
            a = alpha[i, b] * alpha_decay[b] + alpha_floor[b]
            a = a / (1.0 + bayes[b] * a * s * s)
            alpha[i, b] = a
            w[i, b] += a * err[b] * s


@njit
def rls_update(P, w, run, rates, g_out, err, s, k):
    """One FORCE step (Sussillo & Abbott 2009, Eqs. 4-5) for run ``run``.

    ``k = P s``, ``c = 1 / (1 + s.k)``, ``P <- P - c k k^T``, ``w <- w + c e k``.
    The rank-1 term is applied as ``v v^T`` with ``v = sqrt(c) k`` so that P stays
    exactly symmetric, which lets ``k`` be accumulated row by row (vectorised).

    Parameters
    ----------
    P : numpy.ndarray of float64, shape (n_units, n_units)
        Inverse correlation matrix of this run, updated in place.
    w : numpy.ndarray of float64, shape (n_units, batch)
        Readout weights; column ``run`` is updated.
    run : int
        The run (column of ``w`` and ``rates``).
    rates : numpy.ndarray of float64, shape (n_units, batch)
        ``r`` of every run.
    g_out : numpy.ndarray of float64, shape (n_units,)
        Per-unit readout gains.
    err : float
        Error ``e = f - z`` of this run.
    s, k : numpy.ndarray of float64, shape (n_units,)
        Scratch: receive ``s = g_out r`` and ``sqrt(c) P s``.
    """
    n_units = w.shape[0]
    for j in range(n_units):
        s[j] = g_out[j] * rates[j, run]
        k[j] = 0.0
    for j in range(n_units):
        s_j = s[j]
        for i in range(n_units):
            k[i] += P[j, i] * s_j
    quad = 0.0
    for j in range(n_units):
        quad += s[j] * k[j]
    c = 1.0 / (1.0 + quad)
    root_c = math.sqrt(c)
    step = c * err
    for i in range(n_units):
        w[i, run] += step * k[i]
        k[i] *= root_c
    for j in range(n_units):
        v_j = k[j]
        for i in range(n_units):
            P[j, i] -= v_j * k[i]


@njit
def _work(x, rates):
    """The per-step state and scratch of a kernel call around the state ``x``, ``rates``.

    Parameters
    ----------
    x, rates : numpy.ndarray of float64, shape (n_units, batch)
        Unit states and rates (used, not copied).

    Returns
    -------
    _Work
    """
    n_units, batch = x.shape
    return _Work(
        x, rates, np.empty((n_units, batch)), np.zeros(batch), np.zeros(batch),
        np.zeros(batch), np.empty(n_units), np.empty(n_units), np.zeros(n_units),
        np.zeros(n_units),
    )


@njit
def _mark_diverged(readout, work, bound):
    """Flag runs whose readout is non-finite or beyond ``bound`` and silence them.

    A diverged run's ``w``, ``alpha``, state and (RLS) ``P`` are set to zero, so it stays
    silent and costs no further RLS updates.

    Parameters
    ----------
    readout : Readout
        Learning state of the batch, updated in place.
    work : _Work
        Per-step state (``z``, ``x``, ``rates``), updated in place.
    bound : float
        Largest allowed ``|z|``.
    """
    w, alpha, P, rls_slot, diverged = (readout.w, readout.alpha, readout.P, readout.rls_slot,
                                       readout.diverged)
    z, x, rates = work.z, work.x, work.rates
    n_units, batch = w.shape
    for b in range(batch):
        if diverged[b]:
            continue
        if math.isfinite(z[b]) and abs(z[b]) <= bound:
            continue
        diverged[b] = True
        z[b] = 0.0
        for i in range(n_units):
            w[i, b] = 0.0
            alpha[i, b] = 0.0
            x[i, b] = 0.0
            rates[i, b] = 0.0
        if rls_slot[b] >= 0:
            P[rls_slot[b]] = 0.0


@njit
def _step(network, readout, scalars, work, has_target, learn_now, amplitude, rng, sq_err):
    """One time step for the whole batch: error, learning, dynamics, readout.

    The error ``e = f - z`` is taken before the step (Sussillo & Abbott 2009); learning
    is ``local_update`` (delta / Bayesian rule) and ``rls_update`` (FORCE, Eqs. 4-5);
    the dynamics is one Euler step of Eq. 1 with private noise.

    Parameters
    ----------
    network : Network
    readout : Readout
        Learning state of the batch, updated in place.
    scalars : Scalars
    work : _Work
        State (``x``, ``rates``, ``z``) and scratch, updated in place; ``work.f`` holds
        this step's target values.
    has_target : bool
        Whether this step has a target (no error, no learning during a pulse).
    learn_now : bool
        Whether the readout learns at this step.
    amplitude : float
        Input ``I(t)`` of this step (the pulse amplitude, or 0).
    rng : numpy.random.Generator
        Source of the private noise.
    sq_err : numpy.ndarray of float64, shape (batch,)
        Accumulates ``e^2`` of the runs that have not diverged.
    """
    w, alpha, diverged, rls_slot = readout.w, readout.alpha, readout.diverged, readout.rls_slot
    x, rates, z, err = work.x, work.rates, work.z, work.err
    noise, drive = work.noise, work.drive
    noise_std = scalars.noise_step_std
    n_units, batch = x.shape
    if has_target:
        for b in range(batch):
            err[b] = work.f[b] - z[b]
            if not diverged[b]:
                sq_err[b] += err[b] * err[b]
        if learn_now:
            local_update(w, alpha, rates, network.g_out, err, readout.alpha_decay,
                         readout.alpha_floor, readout.bayes)
            for b in range(batch):
                if rls_slot[b] >= 0 and not diverged[b]:
                    rls_update(readout.P[rls_slot[b]], w, b, rates, network.g_out, err[b],
                               work.s, work.k)
    for i in range(n_units):
        drive[i] = amplitude * network.w_in[i]
        noise[i] = 0.0
        if noise_std > 0.0:
            noise[i] = noise_std * rng.standard_normal()
    recurrent_input(network.indptr, network.indices, network.J, rates, work.recurrent)
    euler_step(x, rates, work.recurrent, network.u, drive, z, noise, scalars.leak)
    output(w, rates, network.g_out, z)
    _mark_diverged(readout, work, scalars.divergence_bound)


@njit
def run_trials(network, readout, scalars, targets, n_trials, learn, rng, sq_err, trace):
    """Simulate ``n_trials`` trials of the ``trials`` protocol for a batch of runs.

    Each trial starts from a fresh Gaussian state (std ``scalars.init_std``, shared by
    the batch), receives an input pulse of ``scalars.pulse_steps`` steps through the
    input weights, then runs one target period with the output fed back; during that
    period the error is accumulated into ``sq_err`` and, if ``learn``, the readout
    learns every ``scalars.learn_every`` steps: the delta rule, the per-synapse
    Bayesian rule (Menendez & Latham poster; Aitchison et al. 2021) or FORCE
    (Sussillo & Abbott 2009, Eqs. 4-5), on the network of Eq. 1.

    Parameters
    ----------
    network : Network
    readout : Readout
        Learning state of the batch, updated in place (pass ``frozen_copy`` of it with
        ``learn=False`` for a test).
    scalars : Scalars
    targets : numpy.ndarray of float64, shape (n_targets, period)
        One period of each target; run ``b`` learns ``targets[readout.target_index[b]]``.
    n_trials : int
        Number of trials.
    learn : bool
        Whether the readout learns.
    rng : numpy.random.Generator
        Source of the initial states and the private noise, shared by the batch.
    sq_err : numpy.ndarray of float64, shape (batch,)
        Accumulates the squared error over the target periods.
    trace : numpy.ndarray of float64, shape (pulse_steps + period, batch) or (0, batch)
        Receives the readout of the last trial (nothing if empty).
    """
    n_units, batch = readout.w.shape
    period = targets.shape[1]
    pulse_steps = scalars.pulse_steps
    work = _work(np.empty((n_units, batch)), np.empty((n_units, batch)))
    x, rates, z, f = work.x, work.rates, work.z, work.f
    record = trace.shape[0] > 0
    for _ in range(n_trials):
        for i in range(n_units):
            start = scalars.init_std * rng.standard_normal()
            value = tanh(start)
            for b in range(batch):
                x[i, b] = start
                rates[i, b] = value
        output(readout.w, rates, network.g_out, z)
        for step in range(pulse_steps + period):
            t = step - pulse_steps
            if t >= 0:
                for b in range(batch):
                    f[b] = targets[readout.target_index[b], t]
            if record:
                for b in range(batch):
                    trace[step, b] = z[b]
            has_target = t >= 0
            learn_now = learn and has_target and t % scalars.learn_every == 0
            amplitude = 0.0 if has_target else scalars.pulse_amplitude
            _step(network, readout, scalars, work, has_target, learn_now, amplitude, rng,
                  sq_err)


@njit
def run_continuous(network, readout, scalars, targets, x, rates, n_steps, first_step, learn,
                   rng, sq_err, trace):
    """Run the ``continuous`` (FORCE-style) protocol for ``n_steps`` from state ``x``.

    The target is periodic: step ``s`` (counted from ``first_step``) compares the
    readout with ``targets[:, s mod period]``, and the readout learns every
    ``scalars.learn_every`` steps if ``learn`` (Sussillo & Abbott 2009, Eqs. 1, 4-5;
    the delta and per-synapse Bayesian rules of Menendez & Latham and Aitchison et al.
    2021). ``x`` and ``rates`` are updated in place, so a test is a call on copies with
    ``learn=False``.

    Parameters
    ----------
    network : Network
    readout : Readout
        Learning state of the batch, updated in place.
    scalars : Scalars
        ``pulse_steps``, ``pulse_amplitude`` and ``init_std`` are not used.
    targets : numpy.ndarray of float64, shape (n_targets, period)
        One period of each target.
    x, rates : numpy.ndarray of float64, shape (n_units, batch)
        State and rates of every run at the start, updated in place.
    n_steps : int
        Number of steps.
    first_step : int
        Global index of the first step (its phase in the target period).
    learn : bool
        Whether the readout learns.
    rng : numpy.random.Generator
        Source of the private noise.
    sq_err : numpy.ndarray of float64, shape (batch,)
        Accumulates the squared error.
    trace : numpy.ndarray of float64, shape (n_steps, batch) or (0, batch)
        Receives the readout at every step (nothing if empty).
    """
    n_units, batch = readout.w.shape
    period = targets.shape[1]
    work = _work(x, rates)
    z, f = work.z, work.f
    record = trace.shape[0] > 0
    output(readout.w, rates, network.g_out, z)
    for s in range(n_steps):
        t = first_step + s
        for b in range(batch):
            f[b] = targets[readout.target_index[b], t % period]
        if record:
            for b in range(batch):
                trace[s, b] = z[b]
        learn_now = learn and t % scalars.learn_every == 0
        _step(network, readout, scalars, work, True, learn_now, 0.0, rng, sq_err)
