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

No pandas and no validation here: see ``synlearn.synapse.simulation``.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.jit import njit

LINEAR = 0
CEREBELLAR = 1
RL = 2
FEEDBACK_CODES = {"linear": LINEAR, "cerebellar": CEREBELLAR, "rl": RL}

# Layout of the float64 ``model`` vector shared by every kernel.
M_DT = 0  # step length (s)
M_INV_TAU = 1  # 1 / OU time constant (1/s); 0 switches drift off (static target)
M_MEAN = 2  # OU mean of the target log-weight, also the prior mean
M_VAR = 3  # OU stationary variance, also the prior variance
M_SIGMA0 = 4  # membrane noise sd
M_THETA = 5  # climbing-fibre threshold on u (mV)
M_SAMPLING_K = 6  # transmitted-weight variance is k * m (Poisson-like, RL)
M_CONST_NOISE_VAR = 7  # time-averaged likelihood noise variance
M_H_PLUS = 8  # N/Phi(-theta/sigma0): classical cerebellar factor for f = +1
M_H_MINUS = 9  # N/Phi(+theta/sigma0): classical cerebellar factor for f = -1
N_MODEL = 10

# Layout of the int64 ``options`` vector.
O_FEEDBACK = 0
O_EXACT_NOISE = 1  # 1: running noise variance over the spiking synapses; 0: constant
O_POSTERIOR_SAMPLING = 2  # 1: Bayesian RL samples w ~ N(m, s^2) instead of N(m, k m)
O_RL_TANH = 3  # 1: full tanh/cosh RL update; 0: the authors' linearised update
O_INCLUDE_BAYES = 4
O_BURN_IN = 5  # first step whose time enters the error and coverage averages
O_MEASURE_EVERY = 6  # grid spacing (steps) for coverage and variability
O_RECORD_EVERY = 7  # grid spacing (steps) of the recorded time series
N_OPTIONS = 8

TABLE_SIZE = 2048  # gaps (steps) whose transition coefficients are tabulated

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


@njit
def normal_pdf_over_cdf(z):
    """``N(z) / Phi(z)``, the derivative of ``log Phi(z)``, stable for very negative z.

    Below ``z = -30`` ``Phi`` underflows; there the Mills-ratio series
    ``N/Phi ~ -z / (1 - z^-2 + 3 z^-4 - 15 z^-6)`` is accurate to double precision.
    """
    if z > -30.0:
        return _SQRT_2_OVER_PI * math.exp(-0.5 * z * z) / math.erfc(-z * _INV_SQRT2)
    inv_z2 = 1.0 / (z * z)
    return -z / (1.0 - inv_z2 + 3.0 * inv_z2 * inv_z2 - 15.0 * inv_z2 * inv_z2 * inv_z2)


@njit
def normal_cdf(x):
    return 0.5 * math.erfc(-x * _INV_SQRT2)


@njit
def transition(gap_steps, dt, inv_tau, target_var):
    """Coefficients of an exact OU/prior transition over ``gap_steps`` steps.

    Returns ``(a, sd, q1, q2)``: the decay ``a = exp(-T/tau)`` of the mean, the sd of
    the target's OU increment ``sqrt(v (1 - a^2))``, and the integrals
    ``q1 = int_0^T a(t) dt`` and ``q2 = int_0^T a(t)^2 dt`` used by the exact expected
    squared error between touches. ``inv_tau = 0`` is the static limit.
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
    """``transition`` for gaps ``0 .. TABLE_SIZE-1``, rows ``(a, sd, q1, q2)``."""
    table = np.empty((TABLE_SIZE, 4))
    for gap in range(TABLE_SIZE):
        a, sd, q1, q2 = transition(gap, dt, inv_tau, target_var)
        table[gap, 0] = a
        table[gap, 1] = sd
        table[gap, 2] = q1
        table[gap, 3] = q2
    return table


@njit(_nrt=False)
def _lookup(table, gap, dt, inv_tau, target_var):
    if gap < TABLE_SIZE:
        return table[gap, 0], table[gap, 1], table[gap, 2], table[gap, 3]
    return transition(gap, dt, inv_tau, target_var)


@njit
def _partial_weights(start, stop, dt, inv_tau):
    """``(span, int a, int a^2)`` over ``[start, stop]`` steps after a touch."""
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

    ``weight_deviation`` is ``m - w`` (zero unless the weight is sampled).
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
    """Variance one spiking synapse adds to ``u`` given its belief (authors' ``s2_var``)."""
    if posterior_sampling:
        return 2.0 * s2
    return s2 + sampling_k * m


# ---------------------------------------------------------------------------------------
# Event-driven kernel
# ---------------------------------------------------------------------------------------


@njit(_nrt=False)
def _touch(j, k, lam_new, model, options, table, bayes_mu, bayes_sig2, classical_mu,
           touch_step, touch_lam, err_bayes, err_classical):
    """Bring synapse ``j`` from its last touch to step ``k`` exactly.

    Adds the exact expected squared error of the interval (the part after burn-in) for
    every rule, relaxes the Bayesian belief and stores the target's new value.
    """
    dt = model[M_DT]
    inv_tau = model[M_INV_TAU]
    mean = model[M_MEAN]
    var = model[M_VAR]
    burn_in = options[O_BURN_IN]
    last = touch_step[j]
    gap = k - last
    if gap == 0:
        touch_lam[j] = lam_new
        return
    decay, _, q1, q2 = _lookup(table, gap, dt, inv_tau, var)
    if k > burn_in:
        if last >= burn_in:
            span = gap * dt
        else:
            span, q1, q2 = _partial_weights(burn_in - last, gap, dt, inv_tau)
        target_excess = touch_lam[j] - mean
        if options[O_INCLUDE_BAYES]:
            err_bayes[j] += expected_squared_error(
                0.0, bayes_mu[j] - mean - target_excess, span, q1, q2, var)
        shared = var * (span - q2) + target_excess * target_excess * q2
        cross = -2.0 * target_excess * q1
        for r in range(classical_mu.shape[1]):
            offset = classical_mu[j, r] - mean
            err_classical[j, r] += offset * (offset * span + cross) + shared
    if options[O_INCLUDE_BAYES]:
        bayes_mu[j] = mean + (bayes_mu[j] - mean) * decay
        bayes_sig2[j] = var + (bayes_sig2[j] - var) * decay * decay
    touch_step[j] = k
    touch_lam[j] = lam_new


@njit(_nrt=False)
def process_block(k0, n_block_steps, spike_ptr, spike_syn, spike_lam, spike_xi,
                  obs_ptr, obs_syn, obs_lam, u_noise, model, options, table, etas,
                  bayes_mu, bayes_sig2, classical_mu, touch_step, touch_lam,
                  err_bayes, err_classical, coverage_sum, variability_sum,
                  learning_rate_sum, spikes_measured, n_grid, diverged,
                  record_slot, records, u_trace, scratch_m, scratch_w, u_classical):
    """Advance steps ``k0 .. k0 + n_block_steps - 1`` given this block's world.

    ``spike_ptr`` indexes, per step of the block, the spiking synapses ``spike_syn``, the
    target log-weight ``spike_lam`` each sees and the standard normal ``spike_xi`` that
    samples its transmitted weight (RL). ``obs_*`` list observation-only touches of
    recorded synapses (no likelihood). ``u_noise`` holds one standard normal per step.
    Only the synapses that spike are touched: O(spikes x rules) per block.
    """
    feedback = options[O_FEEDBACK]
    include_bayes = options[O_INCLUDE_BAYES] != 0
    exact_noise = options[O_EXACT_NOISE] != 0
    posterior_sampling = options[O_POSTERIOR_SAMPLING] != 0
    rl_tanh = options[O_RL_TANH] != 0
    burn_in = options[O_BURN_IN]
    measure_every = options[O_MEASURE_EVERY]
    record_every = options[O_RECORD_EVERY]
    sigma0 = model[M_SIGMA0]
    theta = model[M_THETA]
    sampling_k = model[M_SAMPLING_K]
    h_plus = model[M_H_PLUS]
    h_minus = model[M_H_MINUS]
    n_classical = classical_mu.shape[1]
    n_synapses = bayes_mu.shape[0]
    record_u = u_trace.shape[0] > 0
    sampled = feedback == RL

    for local in range(n_block_steps):
        k = k0 + local
        for e in range(obs_ptr[local], obs_ptr[local + 1]):
            j = obs_syn[e]
            _touch(j, k, obs_lam[e], model, options, table, bayes_mu, bayes_sig2,
                   classical_mu, touch_step, touch_lam, err_bayes, err_classical)
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
                _touch(j, k, spike_lam[e], model, options, table, bayes_mu, bayes_sig2,
                       classical_mu, touch_step, touch_lam, err_bayes, err_classical)
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
                noise_var = model[M_CONST_NOISE_VAR]

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
                _measure_grid(k, model, table, bayes_mu, bayes_sig2, touch_step,
                              touch_lam, coverage_sum, variability_sum, diverged,
                              n_classical)
            for r in range(n_classical):
                for j in range(n_synapses):
                    if not abs(classical_mu[j, r]) < 1e300:
                        diverged[r] = True


@njit(_nrt=False)
def _measure_grid(k, model, table, bayes_mu, bayes_sig2, touch_step, touch_lam,
                  coverage_sum, variability_sum, diverged, bayes_column):
    """Coverage and normalised variability of every Bayesian synapse at step ``k``.

    Coverage is ``P(|lambda(t) - mu(t)| < 2 sigma(t) | last touch)``, the exact
    conditional probability (the target between touches is Gaussian), which averages to
    the same fraction of time as the indicator but with less noise.
    """
    dt = model[M_DT]
    inv_tau = model[M_INV_TAU]
    mean = model[M_MEAN]
    var = model[M_VAR]
    for j in range(bayes_mu.shape[0]):
        decay, sd, _, _ = _lookup(table, k - touch_step[j], dt, inv_tau, var)
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
def final_flush(n_steps, model, options, table, bayes_mu, bayes_sig2, classical_mu,
                touch_step, touch_lam, err_bayes, err_classical):
    """Close every synapse's last interval at ``n_steps`` and relax its belief there."""
    for j in range(bayes_mu.shape[0]):
        _touch(j, n_steps, touch_lam[j], model, options, table, bayes_mu, bayes_sig2,
               classical_mu, touch_step, touch_lam, err_bayes, err_classical)


@njit
def _grow(array, needed):
    if needed <= array.shape[0]:
        return array
    bigger = np.empty(max(needed, 2 * array.shape[0]), dtype=array.dtype)
    bigger[:array.shape[0]] = array
    return bigger


@njit
def _geometric_gap(rng, log_stay):
    """Steps to the next spike of a Bernoulli(p) train: Geometric on {1, 2, ...}."""
    return 1 + int(math.floor(math.log(1.0 - rng.random()) / log_stay))


@njit(_nrt=False)
def _advance_target(rng, j, k, lam, lam_step, model, table):
    gap = k - lam_step[j]
    if gap > 0:
        decay, sd, _, _ = _lookup(table, gap, model[M_DT], model[M_INV_TAU], model[M_VAR])
        lam[j] = model[M_MEAN] + (lam[j] - model[M_MEAN]) * decay
        lam[j] += sd * rng.standard_normal()
        lam_step[j] = k
    return lam[j]


@njit(_nrt=False)
def _emit_spikes(rng, j, k0, stop, log_stay, next_spike, lam, lam_step, model, table,
                 sampled, ev_step, ev_syn, ev_lam, ev_xi, count):
    """Append synapse ``j``'s spikes before ``stop``; the caller guarantees capacity."""
    while next_spike[j] < stop:
        k = next_spike[j]
        ev_step[count] = k - k0
        ev_syn[count] = j
        # the target's exact OU transition, written out: this loop runs once per spike
        gap = k - lam_step[j]
        decay, sd, _, _ = _lookup(table, gap, model[M_DT], model[M_INV_TAU], model[M_VAR])
        lam[j] = (model[M_MEAN] + (lam[j] - model[M_MEAN]) * decay
                  + sd * rng.standard_normal())
        lam_step[j] = k
        ev_lam[count] = lam[j]
        ev_xi[count] = rng.standard_normal() if sampled else 0.0
        count += 1
        next_spike[j] = k + _geometric_gap(rng, log_stay[j])
    return count


@njit(_nrt=False)
def _emit_recorded(rng, j, k0, stop, log_stay, next_spike, lam, lam_step, model, table,
                   sampled, ev_step, ev_syn, ev_lam, ev_xi, count, record_every, ob_step,
                   ob_syn, ob_lam, n_obs):
    """Like ``_emit_spikes``, merging observation touches on the recording grid.

    A recorded synapse's target must be advanced through its spikes and its
    observation times in time order; an observation precedes a spike at the same step.
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
            ob_lam[n_obs] = _advance_target(rng, j, next_obs, lam, lam_step, model, table)
            n_obs += 1
            next_obs += record_every
            continue
        k = next_spike[j]
        ev_step[count] = k - k0
        ev_syn[count] = j
        ev_lam[count] = _advance_target(rng, j, k, lam, lam_step, model, table)
        ev_xi[count] = rng.standard_normal() if sampled else 0.0
        count += 1
        next_spike[j] = k + _geometric_gap(rng, log_stay[j])
    return count, n_obs


@njit
def generate_block(rng, k0, n_block_steps, log_stay, next_spike, lam, lam_step, model,
                   table, record_slot, record_every, sampled, buffers, obs_buffers,
                   spike_ptr, obs_ptr, u_noise):
    """Draw the world for steps ``k0 .. k0 + n_block_steps - 1`` in O(spikes + n).

    Each synapse's spikes come from exact geometric inter-spike intervals (equivalent to
    an independent Bernoulli draw per step); its target is advanced by the exact OU
    transition from its previous touch. Events are then counting-sorted by step (stable,
    so synapses stay in index order within a step). Returns the (possibly enlarged)
    buffers.
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
                                 model, table, sampled, ev_step, ev_syn, ev_lam, ev_xi,
                                 count)
        else:
            needed = n_obs + n_block_steps // record_every + 1
            if needed > ob_step.shape[0]:
                ob_step = _grow(ob_step, needed)
                ob_syn = _grow(ob_syn, needed)
                ob_lam = _grow(ob_lam, needed)
            count, n_obs = _emit_recorded(
                rng, j, k0, stop, log_stay, next_spike, lam, lam_step, model, table,
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
    """
    for s in range(n_block_steps + 2):
        ptr[s] = 0
    for e in range(count):
        ptr[steps[e] + 2] += 1
    for s in range(2, n_block_steps + 2):
        ptr[s] += ptr[s - 1]


@njit
def simulate_event_driven(rng, n_steps, block_steps, spike_prob, model, options, etas,
                          record_slot, n_records):
    """Event-driven run from a ``numpy.random.Generator``; see ``process_block``.

    Targets start from the OU stationary law, beliefs from the prior (classical rules
    at the prior mean). Returns the final states and the accumulators.
    """
    n_synapses = spike_prob.shape[0]
    n_classical = etas.shape[0]
    model_dt = model[M_DT]
    table = transition_table(model_dt, model[M_INV_TAU], model[M_VAR])
    record_every = options[O_RECORD_EVERY]
    sampled = options[O_FEEDBACK] == RL

    log_stay = np.empty(n_synapses)
    next_spike = np.empty(n_synapses, dtype=np.int64)
    lam = np.empty(n_synapses)
    for j in range(n_synapses):
        lam[j] = model[M_MEAN] + math.sqrt(model[M_VAR]) * rng.standard_normal()
    for j in range(n_synapses):
        log_stay[j] = math.log1p(-spike_prob[j])
        next_spike[j] = _geometric_gap(rng, log_stay[j]) - 1
    lam_step = np.zeros(n_synapses, dtype=np.int64)

    state = new_state(n_synapses, n_classical, model, lam, n_records, n_steps,
                      record_every)
    (bayes_mu, bayes_sig2, classical_mu, touch_step, touch_lam, err_bayes, err_classical,
     coverage_sum, variability_sum, learning_rate_sum, spikes_measured, n_grid, diverged,
     records) = state

    capacity = 1024
    buffers = (np.empty(capacity, dtype=np.int64), np.empty(capacity, dtype=np.int64),
               np.empty(capacity), np.empty(capacity),
               np.empty(capacity, dtype=np.int64), np.empty(capacity), np.empty(capacity))
    obs_buffers = (np.empty(16, dtype=np.int64), np.empty(16, dtype=np.int64),
                   np.empty(16), np.empty(16, dtype=np.int64), np.empty(16))
    spike_ptr = np.empty(block_steps + 2, dtype=np.int64)
    obs_ptr = np.empty(block_steps + 2, dtype=np.int64)
    u_noise = np.empty(block_steps)
    scratch_m = np.empty((n_synapses, n_classical + 1))
    scratch_w = np.empty((n_synapses, n_classical + 1))
    u_classical = np.empty(n_classical)
    u_trace = np.empty((0, n_classical + 1))
    n_spikes = 0

    for k0 in range(0, n_steps, block_steps):
        n_block = min(block_steps, n_steps - k0)
        buffers, obs_buffers = generate_block(
            rng, k0, n_block, log_stay, next_spike, lam, lam_step, model, table,
            record_slot, record_every, sampled, buffers, obs_buffers, spike_ptr, obs_ptr,
            u_noise)
        n_spikes += spike_ptr[n_block]
        process_block(k0, n_block, spike_ptr, buffers[4], buffers[5], buffers[6],
                      obs_ptr, obs_buffers[3], obs_buffers[4], u_noise, model, options,
                      table, etas, bayes_mu, bayes_sig2, classical_mu, touch_step,
                      touch_lam, err_bayes, err_classical, coverage_sum, variability_sum,
                      learning_rate_sum, spikes_measured, n_grid, diverged, record_slot,
                      records, u_trace, scratch_m, scratch_w, u_classical)
    final_flush(n_steps, model, options, table, bayes_mu, bayes_sig2, classical_mu,
                touch_step, touch_lam, err_bayes, err_classical)
    return state, n_spikes


@njit
def new_state(n_synapses, n_classical, model, lam, n_records, n_steps, record_every):
    """Initial beliefs (prior) and zeroed accumulators, as one tuple."""
    bayes_mu = np.full(n_synapses, model[M_MEAN])
    bayes_sig2 = np.full(n_synapses, model[M_VAR])
    classical_mu = np.full((n_synapses, n_classical), model[M_MEAN])
    touch_step = np.zeros(n_synapses, dtype=np.int64)
    touch_lam = lam.copy()
    err_bayes = np.zeros(n_synapses)
    err_classical = np.zeros((n_synapses, n_classical))
    coverage_sum = np.zeros(n_synapses)
    variability_sum = np.zeros(n_synapses)
    learning_rate_sum = np.zeros(n_synapses)
    spikes_measured = np.zeros(n_synapses, dtype=np.int64)
    n_grid = np.zeros(1, dtype=np.int64)
    diverged = np.zeros(n_classical + 1, dtype=np.bool_)
    n_points = (n_steps + record_every - 1) // record_every
    records = np.full((n_records, n_points, 3), np.nan)
    return (bayes_mu, bayes_sig2, classical_mu, touch_step, touch_lam, err_bayes,
            err_classical, coverage_sum, variability_sum, learning_rate_sum,
            spikes_measured, n_grid, diverged, records)


@njit
def simulate_event_driven_on_inputs(spike_ptr, spike_syn, spike_lam, spike_xi, obs_ptr,
                                    obs_syn, obs_lam, u_noise, lam0, model, options,
                                    etas, record_slot, n_records, record_u):
    """Event-driven run on a world supplied as one block (validation and tests)."""
    n_steps = u_noise.shape[0]
    n_synapses = lam0.shape[0]
    n_classical = etas.shape[0]
    table = transition_table(model[M_DT], model[M_INV_TAU], model[M_VAR])
    state = new_state(n_synapses, n_classical, model, lam0, n_records, n_steps,
                      options[O_RECORD_EVERY])
    (bayes_mu, bayes_sig2, classical_mu, touch_step, touch_lam, err_bayes, err_classical,
     coverage_sum, variability_sum, learning_rate_sum, spikes_measured, n_grid, diverged,
     records) = state
    u_trace = np.full((n_steps if record_u else 0, n_classical + 1), np.nan)
    scratch_m = np.empty((n_synapses, n_classical + 1))
    scratch_w = np.empty((n_synapses, n_classical + 1))
    u_classical = np.empty(n_classical)
    process_block(0, n_steps, spike_ptr, spike_syn, spike_lam, spike_xi, obs_ptr, obs_syn,
                  obs_lam, u_noise, model, options, table, etas, bayes_mu, bayes_sig2,
                  classical_mu, touch_step, touch_lam, err_bayes, err_classical,
                  coverage_sum, variability_sum, learning_rate_sum, spikes_measured,
                  n_grid, diverged, record_slot, records, u_trace, scratch_m, scratch_w,
                  u_classical)
    final_flush(n_steps, model, options, table, bayes_mu, bayes_sig2, classical_mu,
                touch_step, touch_lam, err_bayes, err_classical)
    return state, u_trace


# ---------------------------------------------------------------------------------------
# Dense step-by-step twin
# ---------------------------------------------------------------------------------------


@njit
def simulate_dense(rng, n_steps, spike_prob, model, options, etas, supplied_spikes,
                   supplied_lam, supplied_u_noise, supplied_xi, record_u):
    """Step-by-step twin: every synapse, every step (the authors' scheme, exact prior).

    With ``supplied_spikes`` of shape ``(n_steps, n)`` the world is read from the
    ``supplied_*`` arrays (``supplied_lam`` is ``(n_steps + 1, n)``: target at times
    ``0 .. n_steps``); with an empty ``supplied_spikes`` it is drawn from ``rng`` (one
    Bernoulli and one OU step per synapse per step). The squared error and the 2-sd
    indicator are averaged over the post-update states at times after burn-in.
    Returns the final states, accumulators (same layout as the event-driven kernel, the
    error summed in units of s) and the per-step ``u`` of every rule if ``record_u``.
    """
    n_synapses = spike_prob.shape[0]
    n_classical = etas.shape[0]
    supplied = supplied_spikes.shape[0] > 0
    feedback = options[O_FEEDBACK]
    include_bayes = options[O_INCLUDE_BAYES] != 0
    exact_noise = options[O_EXACT_NOISE] != 0
    posterior_sampling = options[O_POSTERIOR_SAMPLING] != 0
    rl_tanh = options[O_RL_TANH] != 0
    burn_in = options[O_BURN_IN]
    dt = model[M_DT]
    mean = model[M_MEAN]
    var = model[M_VAR]
    sigma0 = model[M_SIGMA0]
    theta = model[M_THETA]
    sampling_k = model[M_SAMPLING_K]
    decay, step_sd, _, _ = transition(1, dt, model[M_INV_TAU], var)
    sampled = feedback == RL

    lam = np.empty(n_synapses)
    if supplied:
        lam[:] = supplied_lam[0]
    else:
        for j in range(n_synapses):
            lam[j] = mean + math.sqrt(var) * rng.standard_normal()
    state = new_state(n_synapses, n_classical, model, lam, 0, n_steps, 1)
    (bayes_mu, bayes_sig2, classical_mu, touch_step, touch_lam, err_bayes, err_classical,
     coverage_sum, variability_sum, learning_rate_sum, spikes_measured, n_grid, diverged,
     records) = state
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
            if supplied:
                spikes[j] = supplied_spikes[k, j]
                xi[j] = supplied_xi[k, j]
            else:
                spikes[j] = rng.random() < spike_prob[j]
                xi[j] = rng.standard_normal() if (sampled and spikes[j]) else 0.0
        noise = supplied_u_noise[k] if supplied else rng.standard_normal()

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
            else model[M_CONST_NOISE_VAR]

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
                        etas[r], theta, model[M_H_PLUS], model[M_H_MINUS])
            # prior drift over dt, then the world's OU step
            bayes_mu[j] = mean + (bayes_mu[j] - mean) * decay
            bayes_sig2[j] = var + (bayes_sig2[j] - var) * decay * decay
            if supplied:
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
