"""Numba kernels for single-synapse Bayesian filtering (Aitchison et al. 2021).

One neuron receives ``n`` synapses. Every synapse carries several learning rules at
once: optionally the Bayesian synapse (a Gaussian belief ``N(mu, sigma^2)`` over its
log-weight) and any number of classical rules (a log-weight ``mu`` with a fixed learning
rate ``eta``). All rules see the same spikes, the same target trajectories, the same
membrane noise and the same weight-sampling noise (common random numbers), but each rule
computes its own membrane error ``u`` from its own weights, so rules never interact.

Two simulators implement the same per-step map:

* the event-driven kernel touches a synapse only when it spikes (or is recorded): its
  belief relaxes deterministically and its target is an Ornstein-Uhlenbeck process with
  an exact transition, so skipping the silent steps is exact. Cost is O(spikes x rules).
* the dense twin advances every synapse at every step, as the authors' code does. It is
  the obvious, slow version used to validate and benchmark the event-driven kernel.

Time convention (both simulators): the state ``X(k)`` at the beginning of step ``k`` is
used to compute the step's feedback; the step's likelihood update is applied at time
``k`` and the prior then relaxes the result over ``dt``: ``X(k+1) = R(X(k) + L(X(k)))``.
The squared error is measured on the post-update state.

Kernel state travels in ``typing.NamedTuple`` groups, each built by one factory that
casts every field to its exact type (Numba compiles one signature per field type, so a
field passed as ``2`` instead of ``2.0`` would silently compile and cache a second one):

* ``Params`` (float64 scalars): ``SynapseModel.kernel_params``;
* ``Options`` (int64 and bool scalars): ``SynapseModel.kernel_options``;
* ``FilterState`` (beliefs and accumulators, arrays): ``new_state``;
* ``BlockWorld`` (one block's spikes, targets and noises, arrays): ``new_world``;
* ``DenseWorld`` (a supplied world for the dense twin, arrays): ``new_dense_world``;
* ``Scratch`` (per-step buffers of the event-driven kernel): ``new_scratch``.

No pandas and no validation here: see ``synlearn.synapse.model`` and
``synlearn.synapse.simulation``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..core.jit import njit

LINEAR = 0
CEREBELLAR = 1
RL = 2
FEEDBACK_CODES = {"linear": LINEAR, "cerebellar": CEREBELLAR, "rl": RL}

TABLE_SIZE = 2048  # gaps (steps) whose transition coefficients are tabulated

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


class Params(NamedTuple):
    """The world's and the likelihood's parameters, as float64 scalars.

    Build it with ``SynapseModel.kernel_params``, never by hand.

    Attributes
    ----------
    dt : float
        Step length (s).
    inv_tau : float
        ``1 / tau`` of the OU target (1/s); 0 switches drift off (static target).
    mu_prior : float
        OU mean of the target log-weight ``lambda``, also the prior mean of ``mu``.
    sigma2_prior : float
        OU stationary variance of ``lambda``, also the prior variance ``sigma^2``.
    sigma0 : float
        Membrane noise sd.
    theta : float
        Climbing-fibre threshold on ``u`` (cerebellar).
    sampling_k : float
        ``k``: the transmitted weight's variance is ``k m`` (rl), and each spiking
        synapse adds ``s^2 + k m`` to the likelihood noise variance ``S``.
    const_noise_var : float
        Time-averaged likelihood noise variance ``S`` (constant noise variance).
    h_plus, h_minus : float
        ``N/Phi(-theta/sigma0)`` and ``N/Phi(+theta/sigma0)``: the classical cerebellar
        factors for ``f = +1`` and ``f = -1``.
    """

    dt: float
    inv_tau: float
    mu_prior: float
    sigma2_prior: float
    sigma0: float
    theta: float
    sampling_k: float
    const_noise_var: float
    h_plus: float
    h_minus: float


class Options(NamedTuple):
    """Switches and step counts, as int64 and bool scalars.

    Build it with ``SynapseModel.kernel_options``, never by hand.

    Attributes
    ----------
    feedback : int
        ``LINEAR``, ``CEREBELLAR`` or ``RL``.
    exact_noise : bool
        True: ``S`` is the running noise variance over the spiking synapses; False:
        ``Params.const_noise_var``.
    posterior_sampling : bool
        Bayesian rl samples ``w ~ N(m, s^2)`` instead of ``N(m, k m)``.
    rl_tanh : bool
        Full tanh/cosh rl update instead of the authors' linearised one.
    include_bayes : bool
        Whether the Bayesian synapse is simulated.
    burn_in : int
        First step whose time enters the error and coverage averages.
    measure_every : int
        Grid spacing (steps) for coverage and variability.
    record_every : int
        Grid spacing (steps) of the recorded time series.
    """

    feedback: int
    exact_noise: bool
    posterior_sampling: bool
    rl_tanh: bool
    include_bayes: bool
    burn_in: int
    measure_every: int
    record_every: int


class FilterState(NamedTuple):
    """Beliefs of every rule and the run's accumulators (arrays, updated in place).

    Build it with ``new_state``. ``n`` synapses, ``R`` classical rules; column ``R`` of
    ``diverged`` is the Bayesian rule.

    Attributes
    ----------
    bayes_mu, bayes_sig2 : (n,) float64
        Bayesian belief ``N(mu, sigma^2)`` over the log-weight, as of ``touch_step``.
    classical_mu : (n, R) float64
        Log-weight ``mu`` of each classical rule.
    touch_step : (n,) int64
        Step of each synapse's last touch.
    touch_lam : (n,) float64
        Target log-weight ``lambda`` at the last touch.
    err_bayes : (n,) float64
    err_classical : (n, R) float64
        Integral over time after burn-in of ``(mu - lambda)^2`` (s).
    coverage_sum, variability_sum : (n,) float64
        Sums over the measurement grid of ``P(|lambda - mu| < 2 sigma)`` and ``s^2/m``.
    learning_rate_sum : (n,) float64
        Sum over spikes after burn-in of ``|Delta m| / m`` of the likelihood step.
    spikes_measured : (n,) int64
        Spikes after burn-in.
    n_grid : (1,) int64
        Measurement times counted so far.
    diverged : (R + 1,) bool
        Rules whose state left the finite range.
    records : (n_records, n_points, 3) float64
        ``(lambda, mu, sigma^2)`` of the recorded synapses on the recording grid.
    """

    bayes_mu: np.ndarray
    bayes_sig2: np.ndarray
    classical_mu: np.ndarray
    touch_step: np.ndarray
    touch_lam: np.ndarray
    err_bayes: np.ndarray
    err_classical: np.ndarray
    coverage_sum: np.ndarray
    variability_sum: np.ndarray
    learning_rate_sum: np.ndarray
    spikes_measured: np.ndarray
    n_grid: np.ndarray
    diverged: np.ndarray
    records: np.ndarray


class BlockWorld(NamedTuple):
    """One block's world for ``process_block`` (arrays, CSR by step of the block).

    Build it with ``new_world``.

    Attributes
    ----------
    spike_ptr : (n_block_steps + 1,) int64
        Entries ``spike_ptr[s] .. spike_ptr[s+1]-1`` are the spikes of step ``s``.
    spike_syn : int64
        The spiking synapse ``j`` of each spike (``x_j = 1``).
    spike_lam : float64
        The target log-weight ``lambda_j`` at the spike.
    spike_xi : float64
        The standard normal ``xi`` that samples the transmitted weight (rl).
    obs_ptr : (n_block_steps + 1,) int64
        CSR offsets of the observation-only touches of recorded synapses.
    obs_syn : int64
    obs_lam : float64
        Their synapse and target log-weight (no likelihood).
    u_noise : (n_block_steps,) float64
        One standard normal per step; ``u`` gets ``sigma0`` times it.
    """

    spike_ptr: np.ndarray
    spike_syn: np.ndarray
    spike_lam: np.ndarray
    spike_xi: np.ndarray
    obs_ptr: np.ndarray
    obs_syn: np.ndarray
    obs_lam: np.ndarray
    u_noise: np.ndarray


class DenseWorld(NamedTuple):
    """A supplied world for the dense twin (arrays); empty arrays: draw it instead.

    Build it with ``new_dense_world``.

    Attributes
    ----------
    spikes : (K, n) bool
        ``x_i`` at steps ``0 .. K-1``.
    lam : (K + 1, n) float64
        Target log-weights ``lambda_i`` at times ``0 .. K``.
    u_noise : (K,) float64
        Standard normal of each step's membrane noise.
    xi : (K, n) float64
        Standard normals that sample the transmitted weights (rl).
    """

    spikes: np.ndarray
    lam: np.ndarray
    u_noise: np.ndarray
    xi: np.ndarray


class Scratch(NamedTuple):
    """Per-step buffers of the event-driven kernel (arrays). Build with ``new_scratch``.

    Attributes
    ----------
    m : (n, R + 1) float64
        Mean weight ``m`` of each spiking synapse of the step (row = its slot), per rule
        (classical columns first, Bayesian last).
    w : (n, R + 1) float64
        Transmitted weight ``w`` (``m`` unless sampled), same layout.
    u_classical : (R,) float64
        Membrane error ``u`` of each classical rule.
    """

    m: np.ndarray
    w: np.ndarray
    u_classical: np.ndarray


# ---------------------------------------------------------------------------------------
# Factories of the array groups
# ---------------------------------------------------------------------------------------


@njit
def _int_array(a):
    """``a`` as a C-contiguous int64 array (no copy if it is one already).

    Parameters
    ----------
    a : array
    """
    return np.ascontiguousarray(np.asarray(a, np.int64))


@njit
def _float_array(a):
    """``a`` as a C-contiguous float64 array (no copy if it is one already).

    Parameters
    ----------
    a : array
    """
    return np.ascontiguousarray(np.asarray(a, np.float64))


@njit
def new_state(n_synapses, n_classical, params, lam, n_records, n_steps, record_every):
    """Initial beliefs (the prior) and zeroed accumulators.

    Parameters
    ----------
    n_synapses, n_classical : int
        ``n`` synapses and ``R`` classical rules.
    params : Params
    lam : (n,) float array
        Target log-weights ``lambda`` at time 0 (copied into ``touch_lam``).
    n_records : int
        Recorded synapses (rows of ``records``).
    n_steps, record_every : int
        Run length and recording grid spacing (steps): ``records`` has
        ``ceil(n_steps / record_every)`` points, NaN until written.

    Returns
    -------
    FilterState
        Bayesian beliefs ``N(mu_prior, sigma2_prior)`` and classical ``mu`` at the prior
        mean, every synapse touched at step 0.
    """
    mean = params.mu_prior
    var = params.sigma2_prior
    n_points = (n_steps + record_every - 1) // record_every
    return FilterState(
        np.full(n_synapses, mean, dtype=np.float64),
        np.full(n_synapses, var, dtype=np.float64),
        np.full((n_synapses, n_classical), mean, dtype=np.float64),
        np.zeros(n_synapses, dtype=np.int64),
        lam.astype(np.float64),
        np.zeros(n_synapses, dtype=np.float64),
        np.zeros((n_synapses, n_classical), dtype=np.float64),
        np.zeros(n_synapses, dtype=np.float64),
        np.zeros(n_synapses, dtype=np.float64),
        np.zeros(n_synapses, dtype=np.float64),
        np.zeros(n_synapses, dtype=np.int64),
        np.zeros(1, dtype=np.int64),
        np.zeros(n_classical + 1, dtype=np.bool_),
        np.full((n_records, n_points, 3), np.nan, dtype=np.float64))


@njit
def new_world(spike_ptr, spike_syn, spike_lam, spike_xi, obs_ptr, obs_syn, obs_lam,
              u_noise):
    """Group one block's world, cast to C-contiguous int64/float64 (no copy if it is).

    Parameters
    ----------
    spike_ptr, spike_syn, spike_lam, spike_xi, obs_ptr, obs_syn, obs_lam, u_noise : arrays
        The fields of ``BlockWorld``, in its order.

    Returns
    -------
    BlockWorld
    """
    return BlockWorld(_int_array(spike_ptr), _int_array(spike_syn),
                      _float_array(spike_lam), _float_array(spike_xi),
                      _int_array(obs_ptr), _int_array(obs_syn), _float_array(obs_lam),
                      _float_array(u_noise))


@njit
def new_dense_world(spikes, lam, u_noise, xi):
    """Group a supplied world for the dense twin, cast to C-contiguous arrays.

    Parameters
    ----------
    spikes : (K, n) array
        Spike indicators ``x_i`` (cast to bool).
    lam : (K + 1, n) array
        Target log-weights at times ``0 .. K``.
    u_noise : (K,) array
        Standard normals of the membrane noise.
    xi : (K, n) array
        Standard normals that sample the transmitted weights.
        With ``K = 0`` (empty ``spikes``) the dense twin draws the world itself.

    Returns
    -------
    DenseWorld
    """
    return DenseWorld(np.ascontiguousarray(np.asarray(spikes, np.bool_)),
                      _float_array(lam), _float_array(u_noise), _float_array(xi))


@njit
def new_scratch(n_synapses, n_classical):
    """Per-step buffers of the event-driven kernel.

    Parameters
    ----------
    n_synapses, n_classical : int
        ``n`` synapses (the most that can spike in one step) and ``R`` classical rules.

    Returns
    -------
    Scratch
        Uninitialised ``m`` and ``w`` of shape ``(n, R + 1)`` and ``u_classical`` of
        shape ``(R,)``.
    """
    return Scratch(np.empty((n_synapses, n_classical + 1), dtype=np.float64),
                   np.empty((n_synapses, n_classical + 1), dtype=np.float64),
                   np.empty(n_classical, dtype=np.float64))


# ---------------------------------------------------------------------------------------
# The equations
# ---------------------------------------------------------------------------------------


@njit
def normal_pdf_over_cdf(z):
    """``N(z) / Phi(z)``, the derivative of ``log Phi(z)``, stable for very negative z.

    Below ``z = -30`` ``Phi`` underflows; there the Mills-ratio series
    ``N/Phi ~ -z / (1 - z^-2 + 3 z^-4 - 15 z^-6)`` is accurate to double precision.
    The factor ``h`` of the cerebellar likelihood, Aitchison et al. (2021), Methods.

    Parameters
    ----------
    z : float
    """
    if z > -30.0:
        return _SQRT_2_OVER_PI * math.exp(-0.5 * z * z) / math.erfc(-z * _INV_SQRT2)
    inv_z2 = 1.0 / (z * z)
    return -z / (1.0 - inv_z2 + 3.0 * inv_z2 * inv_z2 - 15.0 * inv_z2 * inv_z2 * inv_z2)


@njit
def normal_cdf(x):
    """Standard normal distribution function ``Phi(x)``.

    Parameters
    ----------
    x : float
    """
    return 0.5 * math.erfc(-x * _INV_SQRT2)


@njit
def transition(gap_steps, dt, inv_tau, target_var):
    """Coefficients of an exact OU/prior transition over ``gap_steps`` steps.

    Returns ``(a, sd, q1, q2)``: the decay ``a = exp(-T/tau)`` of the mean, the sd of
    the target's OU increment ``sqrt(v (1 - a^2))``, and the integrals
    ``q1 = int_0^T a(t) dt`` and ``q2 = int_0^T a(t)^2 dt`` used by the exact expected
    squared error between touches. ``inv_tau = 0`` is the static limit. The OU prior of
    Aitchison et al. (2021), Methods, integrated exactly over ``T = gap_steps dt``.

    Parameters
    ----------
    gap_steps : int
        ``T / dt``.
    dt : float
        Step length (s).
    inv_tau : float
        ``1 / tau`` (1/s).
    target_var : float
        Stationary variance ``v`` of the OU process.
    """
    span = gap_steps * dt
    if inv_tau == 0.0:
        return 1.0, 0.0, span, span
    x = span * inv_tau
    decay = math.exp(-x)
    one_minus_a2 = -math.expm1(-2.0 * x)
    sd = math.sqrt(target_var * one_minus_a2)
    q1 = -math.expm1(-x) / inv_tau
    q2 = 0.5 * one_minus_a2 / inv_tau
    return decay, sd, q1, q2


@njit
def transition_table(dt, inv_tau, target_var):
    """``transition`` for gaps ``0 .. TABLE_SIZE-1``, rows ``(a, sd, q1, q2)``.

    Parameters
    ----------
    dt, inv_tau, target_var : float
        As for ``transition``.
    """
    table = np.empty((TABLE_SIZE, 4))
    for gap in range(TABLE_SIZE):
        a, sd, q1, q2 = transition(gap, dt, inv_tau, target_var)
        table[gap, 0] = a
        table[gap, 1] = sd
        table[gap, 2] = q1
        table[gap, 3] = q2
    return table


@njit(_nrt=False)
def _lookup(table, gap, params):
    """``transition`` over ``gap`` steps of the prior/target, tabulated if short.

    Parameters
    ----------
    table : (TABLE_SIZE, 4) array
        From ``transition_table``.
    gap : int
        Steps.
    params : Params
    """
    if gap < TABLE_SIZE:
        return table[gap, 0], table[gap, 1], table[gap, 2], table[gap, 3]
    return transition(gap, params.dt, params.inv_tau, params.sigma2_prior)


@njit
def _partial_weights(start, stop, dt, inv_tau):
    """``(span, int a, int a^2)`` over ``[start, stop]`` steps after a touch.

    Parameters
    ----------
    start, stop : int
        Steps after the touch.
    dt, inv_tau : float
        Step length and ``1 / tau``.
    """
    span = (stop - start) * dt
    if inv_tau == 0.0:
        return span, span, span
    e1 = math.exp(-start * dt * inv_tau)
    e2 = math.exp(-stop * dt * inv_tau)
    return span, (e1 - e2) / inv_tau, 0.5 * (e1 * e1 - e2 * e2) / inv_tau


@njit
def expected_squared_error(offset, excess, span, q1, q2, target_var):
    """Exact ``int E[(mu(t) - lambda(t))^2 | touch] dt`` over one inter-touch interval.

    After a touch the estimate is ``mu(t) = c + A a(t)`` (Bayesian: ``c`` the prior mean;
    classical: ``A = 0``) and the target is Gaussian with mean ``m + B a(t)`` and variance
    ``v (1 - a(t)^2)``. With ``offset = c - m`` and ``excess = A - B`` the integral is
    ``(offset^2 + v) span + 2 offset excess q1 + (excess^2 - v) q2``. Conditioning on the
    touch (not on the next one) keeps the time average unbiased (Rao-Blackwell).

    Parameters
    ----------
    offset, excess : float
        ``c - m`` and ``A - B``.
    span, q1, q2 : float
        Interval length and ``int a``, ``int a^2`` over it.
    target_var : float
        ``v``.
    """
    return ((offset * offset + target_var) * span + 2.0 * offset * excess * q1
            + (excess * excess - target_var) * q2)


@njit
def bayes_likelihood_step(feedback, u, noise_var, m, weight_deviation, sig2, theta,
                          rl_tanh):
    """Gaussian-filter step ``(d mu, d sigma^2)`` of one spiking Bayesian synapse.

    Aitchison et al. (2021), Methods, with the forms of the authors' code: the gain is
    ``sigma^2 m`` times the derivative of the log-likelihood with respect to the weight,
    evaluated at the mean (``x_i = 1``; silent synapses learn nothing from ``u``).

    * linear: ``u ~ N(W - w, S)``: ``d mu = sigma^2 m u / S``,
      ``d sigma^2 = -(sigma^2 m)^2 / S`` (Kalman step).
    * cerebellar: ``f = sign(u - theta)``, ``P(f|W) = Phi(f (W - w - theta) / sqrt S)``,
      ``z = -f theta / sqrt S``, ``h = N(z)/Phi(z)``:
      ``d mu = sigma^2 m f h / sqrt S``, ``d sigma^2 = -(sigma^2 m)^2 h (h + z) / S``.
    * rl: reward ``f = -|u|``, ``P(f|W) = N(f; W - w, S) + N(-f; W - w, S)``. With
      ``delta = m - w``: full form ``d mu = g (f tanh(f delta / S) - delta)``,
      ``d sigma^2 = g^2 ((f / cosh(f delta / S))^2 - S)``, ``g = sigma^2 m / S``;
      the authors' default linearises tanh: ``d mu = g delta (f^2/S - 1)``,
      ``d sigma^2 = g^2 (f^2/S - 1) S``.

    Parameters
    ----------
    feedback : int
        ``LINEAR``, ``CEREBELLAR`` or ``RL``.
    u : float
        The Bayesian rule's membrane error.
    noise_var : float
        Likelihood noise variance ``S``.
    m : float
        Mean weight ``exp(mu + sigma^2 / 2)``.
    weight_deviation : float
        ``delta = m - w`` (zero unless the weight is sampled).
    sig2 : float
        ``sigma^2``.
    theta : float
        Climbing-fibre threshold (cerebellar).
    rl_tanh : bool
        Full tanh form instead of the linearised one (rl).
    """
    if feedback == LINEAR:
        gain = sig2 * m / noise_var
        return gain * u, -gain * gain * noise_var
    if feedback == CEREBELLAR:
        f = 1.0 if u >= theta else -1.0
        root = math.sqrt(noise_var)
        z = -f * theta / root
        h = normal_pdf_over_cdf(z)
        gain = sig2 * m / root
        return gain * f * h, -gain * gain * h * (h + z)
    f = -abs(u)
    gain = sig2 * m / noise_var
    if rl_tanh:
        z = f * weight_deviation / noise_var
        sech = f / math.cosh(z)
        return (gain * (f * math.tanh(z) - weight_deviation),
                gain * gain * (sech * sech - noise_var))
    surprise = f * f / noise_var - 1.0
    return gain * weight_deviation * surprise, gain * gain * surprise * noise_var


@njit
def classical_step(feedback, u, weight_deviation, eta, theta, h_plus, h_minus):
    """Fixed-rate update of the log-weight: the Bayesian step with ``sigma^2 m / S -> eta``.

    As in the authors' code the noise normalisation is absorbed into ``eta``: linear
    ``eta u``; cerebellar ``eta f N/Phi(-f theta / sigma0)``; rl
    ``eta (f tanh(f delta) - delta)`` with ``f = -|u|`` and ``delta = m - w``.
    The classical rules of Aitchison et al. (2021), Methods.

    Parameters
    ----------
    feedback : int
        ``LINEAR``, ``CEREBELLAR`` or ``RL``.
    u : float
        The rule's membrane error.
    weight_deviation : float
        ``delta = m - w`` (rl).
    eta : float
        Learning rate.
    theta : float
        Climbing-fibre threshold (cerebellar).
    h_plus, h_minus : float
        ``Params.h_plus`` and ``Params.h_minus``.
    """
    if feedback == LINEAR:
        return eta * u
    if feedback == CEREBELLAR:
        if u >= theta:
            return eta * h_plus
        return -eta * h_minus
    f = -abs(u)
    return eta * (f * math.tanh(f * weight_deviation) - weight_deviation)


@njit
def _noise_share(m, s2, sampling_k, posterior_sampling):
    """Variance one spiking synapse adds to ``u`` given its belief (authors' ``s2_var``).

    Part of the likelihood noise variance ``S``, Aitchison et al. (2021), Methods.

    Parameters
    ----------
    m, s2 : float
        Mean and variance of the synapse's weight.
    sampling_k : float
        ``k``.
    posterior_sampling : bool
        The weight is sampled from the posterior (share ``2 s^2``).
    """
    if posterior_sampling:
        return 2.0 * s2
    return s2 + sampling_k * m


# ---------------------------------------------------------------------------------------
# Event-driven kernel
# ---------------------------------------------------------------------------------------


@njit(_nrt=False, inline="always")
def _touch(j, k, lam_new, params, options, table, state):
    """Bring synapse ``j`` from its last touch to step ``k`` exactly.

    Adds the exact expected squared error of the interval (the part after burn-in) for
    every rule, relaxes the Bayesian belief (the OU prior drift of mean and variance,
    Aitchison et al. (2021), Methods) and stores the target's new value.

    Inlined at the Numba level: it runs once per spike, and a call that passes the whole
    ``FilterState`` by value (14 arrays) nearly doubled the event kernel's cost per spike.

    Parameters
    ----------
    j, k : int
        Synapse and step.
    lam_new : float
        Target log-weight ``lambda_j`` at step ``k``.
    params : Params
    options : Options
    table : (TABLE_SIZE, 4) array
        From ``transition_table``.
    state : FilterState
        Updated in place.
    """
    dt = params.dt
    inv_tau = params.inv_tau
    mean = params.mu_prior
    var = params.sigma2_prior
    burn_in = options.burn_in
    bayes_mu = state.bayes_mu
    bayes_sig2 = state.bayes_sig2
    classical_mu = state.classical_mu
    touch_step = state.touch_step
    touch_lam = state.touch_lam
    err_bayes = state.err_bayes
    err_classical = state.err_classical
    last = touch_step[j]
    gap = k - last
    if gap == 0:
        touch_lam[j] = lam_new
        return
    decay, _, q1, q2 = _lookup(table, gap, params)
    if k > burn_in:
        if last >= burn_in:
            span = gap * dt
        else:
            span, q1, q2 = _partial_weights(burn_in - last, gap, dt, inv_tau)
        target_excess = touch_lam[j] - mean
        if options.include_bayes:
            err_bayes[j] += expected_squared_error(
                0.0, bayes_mu[j] - mean - target_excess, span, q1, q2, var)
        shared = var * (span - q2) + target_excess * target_excess * q2
        cross = -2.0 * target_excess * q1
        for r in range(classical_mu.shape[1]):
            offset = classical_mu[j, r] - mean
            err_classical[j, r] += offset * (offset * span + cross) + shared
    if options.include_bayes:
        bayes_mu[j] = mean + (bayes_mu[j] - mean) * decay
        bayes_sig2[j] = var + (bayes_sig2[j] - var) * decay * decay
    touch_step[j] = k
    touch_lam[j] = lam_new


@njit(_nrt=False)
def process_block(k0, n_block_steps, world, params, options, table, etas, record_slot,
                  state, scratch, u_trace):
    """Advance steps ``k0 .. k0 + n_block_steps - 1`` given this block's world.

    At each step with spikes: every rule's membrane error
    ``u = sum_i x_i (exp(lambda_i) - w_i) + sigma0 xi``, the likelihood noise variance
    ``S`` (constant, or ``sigma0^2 + sum_{i spiking} (s_i^2 + k m_i)``), then the
    Bayesian filter step and the classical steps of the spiking synapses, Aitchison et al.
    (2021), Methods. Only the synapses that spike are touched: O(spikes x rules) per
    block. Observation-only touches of recorded synapses write ``state.records``.

    Parameters
    ----------
    k0, n_block_steps : int
        First step of the block and its length.
    world : BlockWorld
        The block's spikes (by step of the block), targets and noises.
    params : Params
    options : Options
    table : (TABLE_SIZE, 4) array
        From ``transition_table``.
    etas : (R,) float64 array
        Learning rates ``eta`` of the classical rules.
    record_slot : (n,) int64 array
        Row of ``state.records`` of each synapse, -1 if not recorded.
    state : FilterState
        Updated in place.
    scratch : Scratch
    u_trace : (n_steps, R + 1) or (0, R + 1) float64 array
        If not empty, receives ``u`` of every rule (classical first, Bayesian last) at
        the steps with spikes.
    """
    feedback = options.feedback
    include_bayes = options.include_bayes
    exact_noise = options.exact_noise
    posterior_sampling = options.posterior_sampling
    rl_tanh = options.rl_tanh
    burn_in = options.burn_in
    measure_every = options.measure_every
    record_every = options.record_every
    sigma0 = params.sigma0
    theta = params.theta
    sampling_k = params.sampling_k
    h_plus = params.h_plus
    h_minus = params.h_minus
    spike_ptr = world.spike_ptr
    spike_syn = world.spike_syn
    spike_lam = world.spike_lam
    spike_xi = world.spike_xi
    obs_ptr = world.obs_ptr
    obs_syn = world.obs_syn
    obs_lam = world.obs_lam
    u_noise = world.u_noise
    bayes_mu = state.bayes_mu
    bayes_sig2 = state.bayes_sig2
    classical_mu = state.classical_mu
    touch_lam = state.touch_lam
    learning_rate_sum = state.learning_rate_sum
    spikes_measured = state.spikes_measured
    n_grid = state.n_grid
    diverged = state.diverged
    records = state.records
    scratch_m = scratch.m
    scratch_w = scratch.w
    u_classical = scratch.u_classical
    n_classical = classical_mu.shape[1]
    n_synapses = bayes_mu.shape[0]
    record_u = u_trace.shape[0] > 0
    sampled = feedback == RL

    for local in range(n_block_steps):
        k = k0 + local
        for e in range(obs_ptr[local], obs_ptr[local + 1]):
            j = obs_syn[e]
            _touch(j, k, obs_lam[e], params, options, table, state)
            point = k // record_every
            slot = record_slot[j]
            records[slot, point, 0] = touch_lam[j]
            records[slot, point, 1] = bayes_mu[j]
            records[slot, point, 2] = bayes_sig2[j]

        first = spike_ptr[local]
        stop = spike_ptr[local + 1]
        if stop > first:
            u_bayes = 0.0
            noise_sum = 0.0
            for r in range(n_classical):
                u_classical[r] = 0.0
            for e in range(first, stop):
                j = spike_syn[e]
                _touch(j, k, spike_lam[e], params, options, table, state)
                target_weight = math.exp(spike_lam[e])
                xi = spike_xi[e]
                slot = e - first
                if include_bayes:
                    sig2 = bayes_sig2[j]
                    m = math.exp(bayes_mu[j] + 0.5 * sig2)
                    s2 = m * m * math.expm1(sig2)
                    w = m
                    if sampled:
                        if posterior_sampling:
                            w = m + math.sqrt(s2) * xi
                        else:
                            w = m + math.sqrt(sampling_k * m) * xi
                    scratch_m[slot, n_classical] = m
                    scratch_w[slot, n_classical] = w
                    u_bayes += target_weight - w
                    if exact_noise:
                        noise_sum += _noise_share(m, s2, sampling_k, posterior_sampling)
                if sampled:
                    for r in range(n_classical):
                        m = math.exp(classical_mu[j, r])
                        w = m + math.sqrt(sampling_k * m) * xi
                        scratch_m[slot, r] = m
                        scratch_w[slot, r] = w
                        u_classical[r] += target_weight - w
                else:
                    for r in range(n_classical):
                        m = math.exp(classical_mu[j, r])
                        scratch_m[slot, r] = m
                        u_classical[r] += target_weight - m
            kick = sigma0 * u_noise[local]
            u_bayes += kick
            for r in range(n_classical):
                u_classical[r] += kick
            if record_u:
                for r in range(n_classical):
                    u_trace[k, r] = u_classical[r]
                u_trace[k, n_classical] = u_bayes
            if exact_noise:
                noise_var = sigma0 * sigma0 + noise_sum
            else:
                noise_var = params.const_noise_var

            for e in range(first, stop):
                j = spike_syn[e]
                slot = e - first
                if include_bayes:
                    m = scratch_m[slot, n_classical]
                    d_mu, d_sig2 = bayes_likelihood_step(
                        feedback, u_bayes, noise_var, m, m - scratch_w[slot, n_classical],
                        bayes_sig2[j], theta, rl_tanh)
                    bayes_mu[j] += d_mu
                    bayes_sig2[j] += d_sig2
                    if not (bayes_sig2[j] > 0.0 and abs(bayes_mu[j]) < 1e300):
                        diverged[n_classical] = True
                    if k >= burn_in:
                        learning_rate_sum[j] += abs(math.expm1(d_mu + 0.5 * d_sig2))
                        spikes_measured[j] += 1
                elif k >= burn_in:
                    spikes_measured[j] += 1
                if feedback == LINEAR:
                    for r in range(n_classical):
                        classical_mu[j, r] += etas[r] * u_classical[r]
                elif feedback == CEREBELLAR:
                    for r in range(n_classical):
                        classical_mu[j, r] += classical_step(
                            CEREBELLAR, u_classical[r], 0.0, etas[r], theta, h_plus,
                            h_minus)
                else:
                    for r in range(n_classical):
                        classical_mu[j, r] += classical_step(
                            RL, u_classical[r], scratch_m[slot, r] - scratch_w[slot, r],
                            etas[r], theta, h_plus, h_minus)

        if k >= burn_in and (k - burn_in) % measure_every == 0:
            n_grid[0] += 1
            if include_bayes:
                _measure_grid(k, params, table, state, n_classical)
            for r in range(n_classical):
                for j in range(n_synapses):
                    if not abs(classical_mu[j, r]) < 1e300:
                        diverged[r] = True


@njit(_nrt=False)
def _measure_grid(k, params, table, state, bayes_column):
    """Coverage and normalised variability of every Bayesian synapse at step ``k``.

    Coverage is ``P(|lambda(t) - mu(t)| < 2 sigma(t) | last touch)``, the exact
    conditional probability (the target between touches is Gaussian), which averages to
    the same fraction of time as the indicator but with less noise. The belief is
    relaxed to ``k`` by the OU prior drift, Aitchison et al. (2021), Methods.

    Parameters
    ----------
    k : int
        Step.
    params : Params
    table : (TABLE_SIZE, 4) array
        From ``transition_table``.
    state : FilterState
        Its ``coverage_sum``, ``variability_sum`` and ``diverged`` are updated.
    bayes_column : int
        Column of ``state.diverged`` of the Bayesian rule.
    """
    mean = params.mu_prior
    var = params.sigma2_prior
    bayes_mu = state.bayes_mu
    bayes_sig2 = state.bayes_sig2
    touch_step = state.touch_step
    touch_lam = state.touch_lam
    coverage_sum = state.coverage_sum
    variability_sum = state.variability_sum
    diverged = state.diverged
    for j in range(bayes_mu.shape[0]):
        decay, sd, _, _ = _lookup(table, k - touch_step[j], params)
        mu = mean + (bayes_mu[j] - mean) * decay
        sig2 = var + (bayes_sig2[j] - var) * decay * decay
        if not sig2 > 0.0:
            diverged[bayes_column] = True
            continue
        band = 2.0 * math.sqrt(sig2)
        offset = mu - (mean + (touch_lam[j] - mean) * decay)
        if sd > 0.0:
            coverage_sum[j] += (normal_cdf((band - offset) / sd)
                                - normal_cdf((-band - offset) / sd))
        elif abs(offset) < band:
            coverage_sum[j] += 1.0
        m = math.exp(mu + 0.5 * sig2)
        variability_sum[j] += m * math.expm1(sig2)


@njit(_nrt=False)
def final_flush(n_steps, params, options, table, state):
    """Close every synapse's last interval at ``n_steps`` and relax its belief there.

    Parameters
    ----------
    n_steps : int
        Run length.
    params : Params
    options : Options
    table : (TABLE_SIZE, 4) array
        From ``transition_table``.
    state : FilterState
        Updated in place.
    """
    touch_lam = state.touch_lam
    for j in range(state.bayes_mu.shape[0]):
        _touch(j, n_steps, touch_lam[j], params, options, table, state)


@njit
def _grow(array, needed):
    """``array`` if it holds ``needed`` entries, else a copy at least twice as long.

    Parameters
    ----------
    array : 1-d array
    needed : int
    """
    if needed <= array.shape[0]:
        return array
    bigger = np.empty(max(needed, 2 * array.shape[0]), dtype=array.dtype)
    bigger[:array.shape[0]] = array
    return bigger


@njit
def _geometric_gap(rng, log_stay):
    """Steps to the next spike of a Bernoulli(p) train: Geometric on {1, 2, ...}.

    Parameters
    ----------
    rng : numpy.random.Generator
    log_stay : float
        ``log(1 - p)``.
    """
    return 1 + int(math.floor(math.log(1.0 - rng.random()) / log_stay))


@njit(_nrt=False)
def _advance_target(rng, j, k, lam, lam_step, params, table):
    """Move synapse ``j``'s target ``lambda_j`` to step ``k`` by the exact OU transition.

    The target's Ornstein-Uhlenbeck dynamics of Aitchison et al. (2021), Methods.

    Parameters
    ----------
    rng : numpy.random.Generator
    j, k : int
        Synapse and step (no move if the target is already at ``k``).
    lam, lam_step : (n,) arrays
        Targets and the step each is at; updated in place.
    params : Params
    table : (TABLE_SIZE, 4) array
        From ``transition_table``.
    """
    gap = k - lam_step[j]
    if gap > 0:
        decay, sd, _, _ = _lookup(table, gap, params)
        lam[j] = params.mu_prior + (lam[j] - params.mu_prior) * decay
        lam[j] += sd * rng.standard_normal()
        lam_step[j] = k
    return lam[j]


@njit(_nrt=False)
def _emit_spikes(rng, j, k0, stop, log_stay, next_spike, lam, lam_step, params, table,
                 sampled, ev_step, ev_syn, ev_lam, ev_xi, count):
    """Append synapse ``j``'s spikes before ``stop``; the caller guarantees capacity.

    Parameters
    ----------
    rng : numpy.random.Generator
    j : int
        Synapse.
    k0, stop : int
        First step of the block and the step after it.
    log_stay, next_spike, lam, lam_step : (n,) arrays
        Per synapse: ``log(1 - p)``, step of the next spike, target and the step it is
        at; updated in place.
    params : Params
    table : (TABLE_SIZE, 4) array
        From ``transition_table``.
    sampled : bool
        Draw a weight-sampling normal ``xi`` per spike (rl).
    ev_step, ev_syn, ev_lam, ev_xi : arrays
        Event buffers (step within the block, synapse, target, ``xi``).
    count : int
        Events already in the buffers.

    Returns
    -------
    int
        The new event count.
    """
    while next_spike[j] < stop:
        k = next_spike[j]
        ev_step[count] = k - k0
        ev_syn[count] = j
        # the target's exact OU transition, written out: this loop runs once per spike
        gap = k - lam_step[j]
        decay, sd, _, _ = _lookup(table, gap, params)
        lam[j] = (params.mu_prior + (lam[j] - params.mu_prior) * decay
                  + sd * rng.standard_normal())
        lam_step[j] = k
        ev_lam[count] = lam[j]
        ev_xi[count] = rng.standard_normal() if sampled else 0.0
        count += 1
        next_spike[j] = k + _geometric_gap(rng, log_stay[j])
    return count


@njit(_nrt=False)
def _emit_recorded(rng, j, k0, stop, log_stay, next_spike, lam, lam_step, params, table,
                   sampled, ev_step, ev_syn, ev_lam, ev_xi, count, record_every, ob_step,
                   ob_syn, ob_lam, n_obs):
    """Like ``_emit_spikes``, merging observation touches on the recording grid.

    A recorded synapse's target must be advanced through its spikes and its
    observation times in time order; an observation precedes a spike at the same step.

    Parameters
    ----------
    rng, j, k0, stop, log_stay, next_spike, lam, lam_step, params, table, sampled
        As for ``_emit_spikes``.
    ev_step, ev_syn, ev_lam, ev_xi : arrays
        Spike event buffers.
    count : int
        Spike events already in the buffers.
    record_every : int
        Recording grid spacing (steps).
    ob_step, ob_syn, ob_lam : arrays
        Observation buffers (step within the block, synapse, target).
    n_obs : int
        Observations already in the buffers.

    Returns
    -------
    (int, int)
        The new spike and observation counts.
    """
    next_obs = ((k0 + record_every - 1) // record_every) * record_every
    while True:
        spike_due = next_spike[j] < stop
        obs_due = next_obs < stop
        if not (spike_due or obs_due):
            break
        if obs_due and (not spike_due or next_obs <= next_spike[j]):
            ob_step[n_obs] = next_obs - k0
            ob_syn[n_obs] = j
            ob_lam[n_obs] = _advance_target(rng, j, next_obs, lam, lam_step, params,
                                            table)
            n_obs += 1
            next_obs += record_every
            continue
        k = next_spike[j]
        ev_step[count] = k - k0
        ev_syn[count] = j
        ev_lam[count] = _advance_target(rng, j, k, lam, lam_step, params, table)
        ev_xi[count] = rng.standard_normal() if sampled else 0.0
        count += 1
        next_spike[j] = k + _geometric_gap(rng, log_stay[j])
    return count, n_obs


@njit
def generate_block(rng, k0, n_block_steps, log_stay, next_spike, lam, lam_step, params,
                   table, record_slot, record_every, sampled, buffers, obs_buffers,
                   spike_ptr, obs_ptr, u_noise):
    """Draw the world for steps ``k0 .. k0 + n_block_steps - 1`` in O(spikes + n).

    Each synapse's spikes come from exact geometric inter-spike intervals (equivalent to
    an independent Bernoulli draw per step); its target is advanced by the exact OU
    transition from its previous touch. Events are then counting-sorted by step (stable,
    so synapses stay in index order within a step). The world of Aitchison et al.
    (2021), Methods: Bernoulli presynaptic spikes and OU target log-weights.

    Parameters
    ----------
    rng : numpy.random.Generator
    k0, n_block_steps : int
        First step of the block and its length.
    log_stay, next_spike, lam, lam_step : (n,) arrays
        Per synapse: ``log(1 - p)``, step of the next spike, target and the step it is
        at; updated in place.
    params : Params
    table : (TABLE_SIZE, 4) array
        From ``transition_table``.
    record_slot : (n,) int64 array
        Row of the records of each synapse, -1 if not recorded.
    record_every : int
        Recording grid spacing (steps).
    sampled : bool
        Draw a weight-sampling normal per spike (rl).
    buffers : tuple of 7 arrays
        Spike events ``(step, syn, lam, xi)`` in generation order and sorted by step
        ``(syn, lam, xi)``.
    obs_buffers : tuple of 5 arrays
        Observations ``(step, syn, lam)`` and sorted ``(syn, lam)``.
    spike_ptr, obs_ptr : (block_steps + 2,) int64 arrays
        Receive the CSR offsets of the sorted spikes and observations.
    u_noise : (block_steps,) float64 array
        Receives one standard normal per step.

    Returns
    -------
    (tuple, tuple)
        The (possibly enlarged) ``buffers`` and ``obs_buffers``.
    """
    stop = k0 + n_block_steps
    ev_step, ev_syn, ev_lam, ev_xi, out_syn, out_lam, out_xi = buffers
    ob_step, ob_syn, ob_lam, ob_out_syn, ob_out_lam = obs_buffers
    count = 0
    n_obs = 0
    for j in range(next_spike.shape[0]):
        # a synapse spikes at most once per step: this bound makes the inner loop safe
        needed = count + n_block_steps
        if needed > ev_step.shape[0]:
            ev_step = _grow(ev_step, needed)
            ev_syn = _grow(ev_syn, needed)
            ev_lam = _grow(ev_lam, needed)
            ev_xi = _grow(ev_xi, needed)
        if record_slot[j] < 0:
            count = _emit_spikes(rng, j, k0, stop, log_stay, next_spike, lam, lam_step,
                                 params, table, sampled, ev_step, ev_syn, ev_lam, ev_xi,
                                 count)
        else:
            needed = n_obs + n_block_steps // record_every + 1
            if needed > ob_step.shape[0]:
                ob_step = _grow(ob_step, needed)
                ob_syn = _grow(ob_syn, needed)
                ob_lam = _grow(ob_lam, needed)
            count, n_obs = _emit_recorded(
                rng, j, k0, stop, log_stay, next_spike, lam, lam_step, params, table,
                sampled, ev_step, ev_syn, ev_lam, ev_xi, count, record_every, ob_step,
                ob_syn, ob_lam, n_obs)

    out_syn = _grow(out_syn, count)
    out_lam = _grow(out_lam, count)
    out_xi = _grow(out_xi, count)
    _counting_sort(ev_step, count, n_block_steps, spike_ptr)
    _scatter(ev_step, ev_syn, ev_lam, ev_xi, count, spike_ptr, out_syn, out_lam, out_xi)

    ob_out_syn = _grow(ob_out_syn, n_obs)
    ob_out_lam = _grow(ob_out_lam, n_obs)
    _counting_sort(ob_step, n_obs, n_block_steps, obs_ptr)
    _scatter(ob_step, ob_syn, ob_lam, ob_lam, n_obs, obs_ptr, ob_out_syn, ob_out_lam,
             ob_out_lam)

    for local in range(n_block_steps):
        u_noise[local] = rng.standard_normal()
    return ((ev_step, ev_syn, ev_lam, ev_xi, out_syn, out_lam, out_xi),
            (ob_step, ob_syn, ob_lam, ob_out_syn, ob_out_lam))


@njit(_nrt=False)
def _scatter(steps, syn, lam, xi, count, ptr, out_syn, out_lam, out_xi):
    """Write events to their sorted places, advancing the cursors ``ptr[s + 1]``.

    Parameters
    ----------
    steps, syn, lam, xi : arrays
        Events in generation order.
    count : int
        Number of events.
    ptr : int64 array
        Cursors from ``_counting_sort``; the CSR offsets afterwards.
    out_syn, out_lam, out_xi : arrays
        Receive the events sorted by step.
    """
    for e in range(count):
        place = ptr[steps[e] + 1]
        ptr[steps[e] + 1] += 1
        out_syn[place] = syn[e]
        out_lam[place] = lam[e]
        out_xi[place] = xi[e]


@njit(_nrt=False)
def _counting_sort(steps, count, n_block_steps, ptr):
    """Fill ``ptr`` so that ``ptr[s+1]`` is the write cursor of step ``s``.

    After the caller scatters (incrementing ``ptr[s+1]``), ``ptr`` is the CSR offset
    array: entries of step ``s`` are ``ptr[s] .. ptr[s+1]-1``, in generation order.

    Parameters
    ----------
    steps : int64 array
        Step within the block of each event.
    count : int
        Number of events.
    n_block_steps : int
        Steps in the block.
    ptr : (n_block_steps + 2,) int64 array
        Output.
    """
    for s in range(n_block_steps + 2):
        ptr[s] = 0
    for e in range(count):
        ptr[steps[e] + 2] += 1
    for s in range(2, n_block_steps + 2):
        ptr[s] += ptr[s - 1]


@njit
def simulate_event_driven(rng, n_steps, block_steps, spike_prob, params, options, etas,
                          record_slot, n_records):
    """Event-driven run from a ``numpy.random.Generator``; see ``process_block``.

    Targets start from the OU stationary law, beliefs from the prior (classical rules
    at the prior mean), Aitchison et al. (2021), Methods.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_steps, block_steps : int
        Run length and steps drawn per ``generate_block`` call.
    spike_prob : (n,) float64 array
        Spike probability ``nu dt`` of each synapse.
    params : Params
    options : Options
    etas : (R,) float64 array
        Learning rates of the classical rules.
    record_slot : (n,) int64 array
        Row of ``records`` of each synapse, -1 if not recorded.
    n_records : int
        Recorded synapses.

    Returns
    -------
    (FilterState, int)
        The final state and accumulators, and the number of spikes.
    """
    n_synapses = spike_prob.shape[0]
    n_classical = etas.shape[0]
    table = transition_table(params.dt, params.inv_tau, params.sigma2_prior)
    record_every = options.record_every
    sampled = options.feedback == RL

    log_stay = np.empty(n_synapses)
    next_spike = np.empty(n_synapses, dtype=np.int64)
    lam = np.empty(n_synapses)
    for j in range(n_synapses):
        lam[j] = params.mu_prior + math.sqrt(params.sigma2_prior) * rng.standard_normal()
    for j in range(n_synapses):
        log_stay[j] = math.log1p(-spike_prob[j])
        next_spike[j] = _geometric_gap(rng, log_stay[j]) - 1
    lam_step = np.zeros(n_synapses, dtype=np.int64)

    state = new_state(n_synapses, n_classical, params, lam, n_records, n_steps,
                      record_every)
    scratch = new_scratch(n_synapses, n_classical)

    capacity = 1024
    buffers = (np.empty(capacity, dtype=np.int64), np.empty(capacity, dtype=np.int64),
               np.empty(capacity), np.empty(capacity),
               np.empty(capacity, dtype=np.int64), np.empty(capacity), np.empty(capacity))
    obs_buffers = (np.empty(16, dtype=np.int64), np.empty(16, dtype=np.int64),
                   np.empty(16), np.empty(16, dtype=np.int64), np.empty(16))
    spike_ptr = np.empty(block_steps + 2, dtype=np.int64)
    obs_ptr = np.empty(block_steps + 2, dtype=np.int64)
    u_noise = np.empty(block_steps)
    u_trace = np.empty((0, n_classical + 1))
    n_spikes = 0

    for k0 in range(0, n_steps, block_steps):
        n_block = min(block_steps, n_steps - k0)
        buffers, obs_buffers = generate_block(
            rng, k0, n_block, log_stay, next_spike, lam, lam_step, params, table,
            record_slot, record_every, sampled, buffers, obs_buffers, spike_ptr, obs_ptr,
            u_noise)
        n_spikes += spike_ptr[n_block]
        world = new_world(spike_ptr, buffers[4], buffers[5], buffers[6], obs_ptr,
                          obs_buffers[3], obs_buffers[4], u_noise)
        process_block(k0, n_block, world, params, options, table, etas, record_slot,
                      state, scratch, u_trace)
    final_flush(n_steps, params, options, table, state)
    return state, n_spikes


@njit
def simulate_event_driven_on_inputs(world, lam0, params, options, etas, record_slot,
                                    n_records, record_u):
    """Event-driven run on a world supplied as one block (validation and tests).

    Parameters
    ----------
    world : BlockWorld
        The whole run as one block (from ``new_world``).
    lam0 : (n,) float64 array
        Targets at time 0.
    params : Params
    options : Options
    etas : (R,) float64 array
        Learning rates of the classical rules.
    record_slot : (n,) int64 array
        Row of ``records`` of each synapse, -1 if not recorded.
    n_records : int
        Recorded synapses.
    record_u : bool
        Return ``u`` of every rule at every step (NaN at steps without spikes).

    Returns
    -------
    (FilterState, (n_steps or 0, R + 1) array)
        The final state and accumulators, and the trace of ``u``.
    """
    n_steps = world.u_noise.shape[0]
    n_synapses = lam0.shape[0]
    n_classical = etas.shape[0]
    table = transition_table(params.dt, params.inv_tau, params.sigma2_prior)
    state = new_state(n_synapses, n_classical, params, lam0, n_records, n_steps,
                      options.record_every)
    scratch = new_scratch(n_synapses, n_classical)
    u_trace = np.full((n_steps if record_u else 0, n_classical + 1), np.nan)
    process_block(0, n_steps, world, params, options, table, etas, record_slot, state,
                  scratch, u_trace)
    final_flush(n_steps, params, options, table, state)
    return state, u_trace


# ---------------------------------------------------------------------------------------
# Dense step-by-step twin
# ---------------------------------------------------------------------------------------


@njit
def simulate_dense(rng, n_steps, spike_prob, params, options, etas, supplied, record_u):
    """Step-by-step twin: every synapse, every step (the authors' scheme, exact prior).

    With a non-empty ``supplied`` world the spikes, targets and noises are read from it;
    with an empty one they are drawn from ``rng`` (one Bernoulli and one OU step per
    synapse per step). The membrane error, the filter and classical steps and the OU
    prior drift are those of Aitchison et al. (2021), Methods. The squared error and the
    2-sd indicator are averaged over the post-update states at times after burn-in.

    Parameters
    ----------
    rng : numpy.random.Generator
        Unused if the world is supplied.
    n_steps : int
    spike_prob : (n,) float64 array
        Spike probability ``nu dt`` of each synapse.
    params : Params
    options : Options
    etas : (R,) float64 array
        Learning rates of the classical rules.
    supplied : DenseWorld
        From ``new_dense_world``; empty arrays: draw the world.
    record_u : bool
        Return ``u`` of every rule at every step.

    Returns
    -------
    (FilterState, (n_steps or 0, R + 1) array, int)
        The final state and accumulators (same layout as the event-driven kernel, the
        error summed in units of s), the trace of ``u`` and the number of spikes.
    """
    n_synapses = spike_prob.shape[0]
    n_classical = etas.shape[0]
    is_supplied = supplied.spikes.shape[0] > 0
    supplied_spikes = supplied.spikes
    supplied_lam = supplied.lam
    supplied_u_noise = supplied.u_noise
    supplied_xi = supplied.xi
    feedback = options.feedback
    include_bayes = options.include_bayes
    exact_noise = options.exact_noise
    posterior_sampling = options.posterior_sampling
    rl_tanh = options.rl_tanh
    burn_in = options.burn_in
    dt = params.dt
    mean = params.mu_prior
    var = params.sigma2_prior
    sigma0 = params.sigma0
    theta = params.theta
    sampling_k = params.sampling_k
    decay, step_sd, _, _ = transition(1, dt, params.inv_tau, var)
    sampled = feedback == RL

    lam = np.empty(n_synapses)
    if is_supplied:
        lam[:] = supplied_lam[0]
    else:
        for j in range(n_synapses):
            lam[j] = mean + math.sqrt(var) * rng.standard_normal()
    state = new_state(n_synapses, n_classical, params, lam, 0, n_steps, 1)
    bayes_mu = state.bayes_mu
    bayes_sig2 = state.bayes_sig2
    classical_mu = state.classical_mu
    touch_step = state.touch_step
    touch_lam = state.touch_lam
    err_bayes = state.err_bayes
    err_classical = state.err_classical
    coverage_sum = state.coverage_sum
    variability_sum = state.variability_sum
    learning_rate_sum = state.learning_rate_sum
    spikes_measured = state.spikes_measured
    n_grid = state.n_grid
    diverged = state.diverged
    u_trace = np.full((n_steps if record_u else 0, n_classical + 1), np.nan)
    spikes = np.zeros(n_synapses, dtype=np.bool_)
    xi = np.zeros(n_synapses)
    m_classical = np.empty((n_synapses, n_classical))
    w_classical = np.empty((n_synapses, n_classical))
    m_bayes = np.empty(n_synapses)
    w_bayes = np.empty(n_synapses)
    u_classical = np.empty(n_classical)
    n_spikes = 0

    for k in range(n_steps):
        for j in range(n_synapses):
            if is_supplied:
                spikes[j] = supplied_spikes[k, j]
                xi[j] = supplied_xi[k, j]
            else:
                spikes[j] = rng.random() < spike_prob[j]
                xi[j] = rng.standard_normal() if (sampled and spikes[j]) else 0.0
        noise = supplied_u_noise[k] if is_supplied else rng.standard_normal()

        u_bayes = sigma0 * noise
        for r in range(n_classical):
            u_classical[r] = sigma0 * noise
        noise_sum = 0.0
        for j in range(n_synapses):
            target_weight = math.exp(lam[j])
            sig2 = bayes_sig2[j]
            m = math.exp(bayes_mu[j] + 0.5 * sig2)
            s2 = m * m * math.expm1(sig2)
            w = m
            if sampled:
                w = m + (math.sqrt(s2) if posterior_sampling
                         else math.sqrt(sampling_k * m)) * xi[j]
            m_bayes[j] = m
            w_bayes[j] = w
            for r in range(n_classical):
                m_c = math.exp(classical_mu[j, r])
                m_classical[j, r] = m_c
                w_classical[j, r] = m_c + math.sqrt(sampling_k * m_c) * xi[j] if sampled \
                    else m_c
            if spikes[j]:
                n_spikes += 1
                u_bayes += target_weight - w
                noise_sum += _noise_share(m, s2, sampling_k, posterior_sampling)
                for r in range(n_classical):
                    u_classical[r] += target_weight - w_classical[j, r]
        if record_u:
            for r in range(n_classical):
                u_trace[k, r] = u_classical[r]
            u_trace[k, n_classical] = u_bayes
        noise_var = sigma0 * sigma0 + noise_sum if exact_noise \
            else params.const_noise_var

        for j in range(n_synapses):
            if spikes[j]:
                if include_bayes:
                    d_mu, d_sig2 = bayes_likelihood_step(
                        feedback, u_bayes, noise_var, m_bayes[j], m_bayes[j] - w_bayes[j],
                        bayes_sig2[j], theta, rl_tanh)
                    bayes_mu[j] += d_mu
                    bayes_sig2[j] += d_sig2
                    if k >= burn_in:
                        learning_rate_sum[j] += abs(math.expm1(d_mu + 0.5 * d_sig2))
                if k >= burn_in:
                    spikes_measured[j] += 1
                for r in range(n_classical):
                    classical_mu[j, r] += classical_step(
                        feedback, u_classical[r], m_classical[j, r] - w_classical[j, r],
                        etas[r], theta, params.h_plus, params.h_minus)
            # prior drift over dt, then the world's OU step
            bayes_mu[j] = mean + (bayes_mu[j] - mean) * decay
            bayes_sig2[j] = var + (bayes_sig2[j] - var) * decay * decay
            if is_supplied:
                lam[j] = supplied_lam[k + 1, j]
            else:
                lam[j] = mean + (lam[j] - mean) * decay + step_sd * rng.standard_normal()

        if k + 1 > burn_in:
            n_grid[0] += 1
            for j in range(n_synapses):
                error = bayes_mu[j] - lam[j]
                err_bayes[j] += error * error * dt
                if abs(error) < 2.0 * math.sqrt(bayes_sig2[j]):
                    coverage_sum[j] += 1.0
                m = math.exp(bayes_mu[j] + 0.5 * bayes_sig2[j])
                variability_sum[j] += m * math.expm1(bayes_sig2[j])
                for r in range(n_classical):
                    error = classical_mu[j, r] - lam[j]
                    err_classical[j, r] += error * error * dt
    for j in range(n_synapses):
        touch_lam[j] = lam[j]
        touch_step[j] = n_steps
    for r in range(n_classical):
        for j in range(n_synapses):
            if not abs(classical_mu[j, r]) < 1e300:
                diverged[r] = True
    for j in range(n_synapses):
        if include_bayes and not (bayes_sig2[j] > 0.0 and abs(bayes_mu[j]) < 1e300):
            diverged[n_classical] = True
    return state, u_trace, n_spikes
