"""Numba kernels for a batch of rate reservoirs that share one network.

All state arrays are laid out ``(n_units, batch)`` so that the innermost loops run
elementwise over the batch: one pass over the sparse recurrent matrix J serves every run
in the batch, and the loops vectorise without fastmath. Runs in a batch share the random
draws (initial states, private noise), which makes comparisons between learning rules
paired and makes each run's numbers independent of which other runs share its batch.

No I/O, no pandas, no validation here: see ``synlearn.reservoir.protocol``.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.jit import njit

DELTA = 0
BAYES = 1
RLS = 2
RULE_CODES = {"delta": DELTA, "bayes": BAYES, "rls": RLS}

_LN2_HI = 0.693145751953125  # few significant bits: k * _LN2_HI is exact for k < 64
_LN2_LO = 1.4286068203094172e-06


@njit(inline="always")
def tanh(x):
    """``tanh(x)`` in plain arithmetic, so that loops over it vectorise.

    ``math.tanh`` is a scalar library call that LLVM cannot vectorise; here it took
    two thirds of a batched step. This version is within 3 ulp of NumPy's tanh over
    the whole real line, keeps NaN, and performs the same operations in the vector body
    and the scalar remainder of a loop, so a run is bit-identical at any position in a
    batch. With ``a = |x|`` (capped at 20, where tanh is 1 in double precision) and
    ``m = expm1(-2a)``: ``tanh(a) = -m / (2 + m)``. ``expm1`` is a Taylor series on
    ``[-0.5, 0]``; below, ``exp`` by Cody-Waite reduction ``-2a = r - k ln 2`` with a
    Taylor series for ``exp(r)``, ``|r| <= ln(2) / 2``, and ``2^-k`` built bit by bit.
    Both branches are computed and one is selected, which is what lets LLVM vectorise.
    """
    a = x if x >= 0.0 else -x
    a = 20.0 if a > 20.0 else a  # a comparison with NaN is false: NaN passes through
    y = -2.0 * a
    ys = y if y > -0.5 else -0.5
    s = 1.0 / 6402373705728000.0
    s = s * ys + 1.0 / 355687428096000.0
    s = s * ys + 1.0 / 20922789888000.0
    s = s * ys + 1.0 / 1307674368000.0
    s = s * ys + 1.0 / 87178291200.0
    s = s * ys + 1.0 / 6227020800.0
    s = s * ys + 1.0 / 479001600.0
    s = s * ys + 1.0 / 39916800.0
    s = s * ys + 1.0 / 3628800.0
    s = s * ys + 1.0 / 362880.0
    s = s * ys + 1.0 / 40320.0
    s = s * ys + 1.0 / 5040.0
    s = s * ys + 1.0 / 720.0
    s = s * ys + 1.0 / 120.0
    s = s * ys + 1.0 / 24.0
    s = s * ys + 1.0 / 6.0
    s = s * ys + 0.5
    s = s * ys + 1.0
    small = ys * s
    k = np.floor(-y * 1.4426950408889634 + 0.5)
    r = (y + k * _LN2_HI) + k * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    scale = 1.0
    for bit in range(6):  # k <= 58 < 2^6
        half = np.floor(k * 0.5)
        scale = scale * (2.0 ** -(2**bit) if k - 2.0 * half > 0.5 else 1.0)
        k = half
    large = p * scale - 1.0
    m = small if y > -0.5 else large
    t = -m / (2.0 + m)
    return t if x >= 0.0 else -t


@njit
def tanh_array(x, out):
    """``out = tanh(x)`` elementwise with the kernels' ``tanh``, for 2-D arrays."""
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = tanh(x[i, j])


@njit
def recurrent_input(indptr, indices, weights, rates, out):
    """``out = J @ rates`` for CSR ``J`` and a batch of rate vectors ``(n, batch)``."""
    n_units, batch = rates.shape
    if batch == 1:
        # A local sum: `out` may alias `rates` for all LLVM knows, so accumulating in
        # memory forces a store and reload per nonzero (1.8x slower at N = 500).
        for i in range(n_units):
            total = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                total += weights[k] * rates[indices[k], 0]
            out[i, 0] = total
        return
    for i in range(n_units):
        for b in range(batch):
            out[i, b] = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            weight = weights[k]
            for b in range(batch):
                out[i, b] += weight * rates[j, b]


@njit
def euler_step(x, rates, recurrent, feedback, input_drive, z, noise, leak):
    """Advance ``tau dx/dt = -x + J r + u z + w_in I`` by one Euler step, then ``r = tanh x``.

    ``leak`` is ``dt / tau``; ``input_drive`` is ``w_in * I(t)`` and ``noise`` the
    per-unit noise increment of this step, both shared by the batch.
    """
    n_units, batch = x.shape
    for i in range(n_units):
        fb = feedback[i]
        drive = input_drive[i]
        kick = noise[i]
        for b in range(batch):
            x[i, b] += leak * (-x[i, b] + recurrent[i, b] + fb * z[b] + drive) + kick
        for b in range(batch):
            rates[i, b] = tanh(x[i, b])


@njit
def readout(w, rates, gains, z):
    """``z_b = sum_i w_ib g_i r_ib``: the readout of each run in the batch."""
    n_units, batch = w.shape
    for b in range(batch):
        z[b] = 0.0
    for i in range(n_units):
        gain = gains[i]
        for b in range(batch):
            z[b] += w[i, b] * (gain * rates[i, b])


@njit
def local_update(w, rate_coef, rates, gains, err, coef_decay, coef_floor, bayes_flag):
    """One step of the delta rule or the per-synapse Bayesian rule, for every run.

    For a run with ``bayes_flag = 1`` the per-synapse rate is the Gaussian posterior
    variance in units of the likelihood variance (Menendez & Latham poster;
    Aitchison et al. 2021, Eq. 4 with a Gaussian likelihood):
    ``alpha_i <- alpha_i / (1 + alpha_i s_i^2)`` i.e. ``1/alpha_i = 1/eta0 + sum s_i^2``,
    which stays positive and never increases. Optional forgetting first relaxes
    ``alpha_i`` toward the prior (``alpha_i <- decay alpha_i + floor``). For a run with
    ``bayes_flag = 0``, ``decay = 1`` and ``floor = 0`` the rate stays at its fixed
    value: the classical delta rule ``w += eta e s``. ``s = g r`` is what the readout
    sees.
    """
    n_units, batch = w.shape
    for i in range(n_units):
        gain = gains[i]
        for b in range(batch):
            seen = gain * rates[i, b]
            alpha = rate_coef[i, b] * coef_decay[b] + coef_floor[b]
            alpha = alpha / (1.0 + bayes_flag[b] * alpha * seen * seen)
            rate_coef[i, b] = alpha
            w[i, b] += alpha * err[b] * seen


@njit
def rls_update(inverse_corr, w, run, rates, gains, err, seen, gain_vector):
    """One FORCE step (Sussillo & Abbott 2009, Eqs. 4-5) for run ``run``.

    ``k = P s``, ``c = 1 / (1 + s.k)``, ``P <- P - c k k^T``, ``w <- w + c e k``.
    The rank-1 term is applied as ``v v^T`` with ``v = sqrt(c) k`` so that P stays
    exactly symmetric, which lets ``k`` be accumulated row by row (vectorised).
    """
    n_units = w.shape[0]
    for j in range(n_units):
        seen[j] = gains[j] * rates[j, run]
        gain_vector[j] = 0.0
    for j in range(n_units):
        s_j = seen[j]
        for i in range(n_units):
            gain_vector[i] += inverse_corr[j, i] * s_j
    quad = 0.0
    for j in range(n_units):
        quad += seen[j] * gain_vector[j]
    c = 1.0 / (1.0 + quad)
    root_c = math.sqrt(c)
    step = c * err
    for i in range(n_units):
        w[i, run] += step * gain_vector[i]
        gain_vector[i] *= root_c
    for j in range(n_units):
        v_j = gain_vector[j]
        for i in range(n_units):
            inverse_corr[j, i] -= v_j * gain_vector[i]


@njit
def _mark_diverged(z, w, rate_coef, x, rates, inverse_corr, rls_slot, diverged, bound):
    """Flag runs whose readout is non-finite or beyond ``bound`` and silence them."""
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
            rate_coef[i, b] = 0.0
            x[i, b] = 0.0
            rates[i, b] = 0.0
        if rls_slot[b] >= 0:
            inverse_corr[rls_slot[b]] = 0.0


@njit
def _step(
    indptr, indices, weights, feedback, input_weights, gains,
    x, rates, recurrent, z, err, w, rate_coef, coef_decay, coef_floor, bayes_flag,
    rls_slot, inverse_corr, diverged, bound, seen, gain_vector, noise, input_drive,
    target_value, has_target, learn_now, drive_amplitude, noise_std, leak, rng,
    sq_err,
):
    """One time step for the whole batch: error, learning, dynamics, readout."""
    n_units, batch = x.shape
    if has_target:
        for b in range(batch):
            err[b] = target_value[b] - z[b]
            if not diverged[b]:
                sq_err[b] += err[b] * err[b]
        if learn_now:
            local_update(w, rate_coef, rates, gains, err, coef_decay, coef_floor, bayes_flag)
            for b in range(batch):
                if rls_slot[b] >= 0 and not diverged[b]:
                    rls_update(inverse_corr[rls_slot[b]], w, b, rates, gains, err[b],
                               seen, gain_vector)
    for i in range(n_units):
        input_drive[i] = drive_amplitude * input_weights[i]
        noise[i] = 0.0
        if noise_std > 0.0:
            noise[i] = noise_std * rng.standard_normal()
    recurrent_input(indptr, indices, weights, rates, recurrent)
    euler_step(x, rates, recurrent, feedback, input_drive, z, noise, leak)
    readout(w, rates, gains, z)
    _mark_diverged(z, w, rate_coef, x, rates, inverse_corr, rls_slot, diverged, bound)


@njit
def run_trials(
    indptr, indices, weights, feedback, input_weights, gains,
    targets, target_index, w, rate_coef, coef_decay, coef_floor, bayes_flag,
    rls_slot, inverse_corr, diverged, bound,
    n_trials, learn, learn_every, pulse_steps, pulse_amplitude, init_std, noise_std,
    leak, rng, sq_err, trace,
):
    """Simulate ``n_trials`` trials of the ``trials`` protocol for a batch of runs.

    Each trial starts from a fresh Gaussian state (std ``init_std``, shared by the
    batch), receives an input pulse of ``pulse_steps`` steps through the input weights,
    then runs one target period with the output fed back; during that period the error
    is accumulated into ``sq_err`` and, if ``learn``, the readout learns every
    ``learn_every`` steps. ``trace`` (``(pulse + period, batch)`` or empty) receives the
    readout of the last trial.
    """
    n_units, batch = w.shape
    period = targets.shape[1]
    x = np.empty((n_units, batch))
    rates = np.empty((n_units, batch))
    recurrent = np.empty((n_units, batch))
    z = np.zeros(batch)
    err = np.zeros(batch)
    target_value = np.zeros(batch)
    seen = np.empty(n_units)
    gain_vector = np.empty(n_units)
    noise = np.zeros(n_units)
    input_drive = np.zeros(n_units)
    record = trace.shape[0] > 0
    for _ in range(n_trials):
        for i in range(n_units):
            start = init_std * rng.standard_normal()
            value = tanh(start)
            for b in range(batch):
                x[i, b] = start
                rates[i, b] = value
        readout(w, rates, gains, z)
        for step in range(pulse_steps + period):
            t = step - pulse_steps
            if t >= 0:
                for b in range(batch):
                    target_value[b] = targets[target_index[b], t]
            if record:
                for b in range(batch):
                    trace[step, b] = z[b]
            has_target = t >= 0
            learn_now = learn and has_target and t % learn_every == 0
            drive = 0.0 if has_target else pulse_amplitude
            _step(
                indptr, indices, weights, feedback, input_weights, gains,
                x, rates, recurrent, z, err, w, rate_coef, coef_decay, coef_floor,
                bayes_flag, rls_slot, inverse_corr, diverged, bound, seen, gain_vector,
                noise, input_drive, target_value, has_target, learn_now,
                drive, noise_std, leak, rng, sq_err,
            )


@njit
def run_continuous(
    indptr, indices, weights, feedback, input_weights, gains,
    targets, target_index, w, rate_coef, coef_decay, coef_floor, bayes_flag,
    rls_slot, inverse_corr, diverged, bound, x, rates,
    n_steps, first_step, learn, learn_every, noise_std, leak, rng, sq_err, trace,
):
    """Run the ``continuous`` (FORCE-style) protocol for ``n_steps`` from state ``x``.

    The target is periodic: step ``s`` (counted from ``first_step``) compares the
    readout with ``targets[:, s mod period]``. ``x`` and ``rates`` are updated in place,
    so a test is a call on copies with ``learn=False``.
    """
    n_units, batch = w.shape
    period = targets.shape[1]
    recurrent = np.empty((n_units, batch))
    z = np.zeros(batch)
    err = np.zeros(batch)
    target_value = np.zeros(batch)
    seen = np.empty(n_units)
    gain_vector = np.empty(n_units)
    noise = np.zeros(n_units)
    input_drive = np.zeros(n_units)
    record = trace.shape[0] > 0
    readout(w, rates, gains, z)
    for s in range(n_steps):
        t = first_step + s
        for b in range(batch):
            target_value[b] = targets[target_index[b], t % period]
        if record:
            for b in range(batch):
                trace[s, b] = z[b]
        learn_now = learn and t % learn_every == 0
        _step(
            indptr, indices, weights, feedback, input_weights, gains,
            x, rates, recurrent, z, err, w, rate_coef, coef_decay, coef_floor,
            bayes_flag, rls_slot, inverse_corr, diverged, bound, seen, gain_vector,
            noise, input_drive, target_value, True, learn_now,
            0.0, noise_std, leak, rng, sq_err,
        )
