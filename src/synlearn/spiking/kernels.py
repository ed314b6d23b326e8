"""Numba kernels of the variational spiking network (Jimenez Rezende & Gerstner 2014).

The model and its notation are in ``synlearn.spiking.model``; the public entry points,
which validate their inputs, in ``synlearn.spiking.learning``. The argument groups are
``model.Weights`` (``W_M, b_M, W_Q, b_Q``), ``model.Params`` (scalars, ``dt`` in
seconds) and ``model.Rule`` (learning scalars), built by their factories only (Numba
compiles one version per field type). Rasters are C-contiguous uint8 of 0/1, every
float array float64. No I/O, no validation here.

Input through the traces. ``u`` is linear in the traces ``phi`` and ``phi`` is a linear
filter of the spikes, so the kernels keep the filtered input ``I_i = sum_j w_ij phi_j``
itself: ``I(t + 1) = exp(-dt / tau_syn) I(t) + sum_{j spiked in t} W[j, :]``, with the
weights stored presynaptic x postsynaptic so that a spike adds one contiguous row. A
bin costs O(N) for the decay and O(N) per spike, not the O(N^2) of ``phi @ W``.

Batches of samples (``run_wake`` with K > 1, the importance sampler). The K samples of
the hidden neurons share the clamped visible raster, so the input that the visible
spikes drive (into M and into Q) and the visible neurons' adaptation are computed once a
bin for all K; each sample keeps only its hidden-driven input and its hidden adaptation,
one contiguous row per sample (layout ``(K, n)``). The innermost loops run over that
contiguous neuron axis; each time step is one pass over the samples, and within it the
weight rows of the neurons that spiked, read from cache (the weights of the default
80-neuron network are 80 kB). This layout, not the reservoir's ``(n, K)``, because
spikes are sparse: with ``(n, K)`` one pass over the weights would serve all samples
only as a dense product, O(N^2 K) a bin, against O(N x spikes) here.

Sampling by time rescaling. A neuron's spike in a bin is Bernoulli with
``p = 1 - exp(-a)`` given the past, so its survival from one spike to bin t is
``exp(-(a_1 + ... + a_t))``: it spikes in the first bin at which the summed ``a`` since
its last spike exceeds an Exp(1) threshold, drawn afresh after every spike. This is the
same distribution as one uniform per neuron and bin (``tests/spiking/
test_enumeration.py`` checks the frequencies of all rasters of a tiny network against
the exact q and p), but draws one random number per spike, not per neuron-bin, and
leaves the per-bin loops free of calls so that they vectorise. Each neuron keeps the
remaining part of its threshold, ``r <- r - a`` every bin; ``r < 0`` is a spike.

Random numbers, documented order (the NumPy twins of ``tests/spiking/reference.py``
draw the same): thresholds are ``E = -log1p(-U)``, U = ``rng.random()``. ``run_wake``
draws, before the first bin, one threshold per sample and hidden neuron (sample k, then
hidden neuron h), then, in bin t, for sample k = 0 .. K-1, one new threshold for each
hidden neuron that spiked in that bin, in increasing h. ``run_sleep`` does the same for
its N neurons (one sample). ``train_batches`` calls ``run_wake`` with K = 1 once per
batch, batch after batch. Nothing else draws.

Vectorisable exponential. ``math.exp`` is a scalar library call that keeps LLVM from
vectorising a loop (``DESIGN.md``); ``_exp`` is written in plain arithmetic (Cody-Waite
reduction, a degree-12 Taylor polynomial, ``2^k`` built from its bits), within 3 ulp of
NumPy's exp on [-708, 708], ``inf`` above 708 and 0 below -708 (there the kernels'
``a = rho dt`` is absurd or negligible), NaN passing through. The scalar libm calls
(``log``, ``expm1``) are paid once per spike only.

References
----------
Jimenez Rezende, D. & Gerstner, W. (2014). Stochastic variational learning in recurrent
spiking networks. Front. Comput. Neurosci. 8, 38 (Section 2: the generative and the
inference network, the free energy and its learning rules).
"""

from __future__ import annotations

import math

import numpy as np
from ..core.jit import njit


_LN2_HI = 0.693145751953125  # few significant bits: k * _LN2_HI is exact for |k| < 2^11
_LN2_LO = 1.4286068203094172e-06
_LOG2E = 1.4426950408889634
_EXP_LIMIT = 708.0


# 2^k for every normal exponent k (exact powers of two): the scale of ``_exp``, looked
# up instead of assembled from bits, so the kernels need no LLVM intrinsic
_POW2 = np.ldexp(1.0, np.arange(-1022, 1024))


@njit(inline="always")
def _exp(x):
    """``exp(x)`` in plain arithmetic, so that loops over it vectorise (see module)."""
    xc = _EXP_LIMIT if x > _EXP_LIMIT else x  # comparisons with NaN are false: NaN passes
    xc = -_EXP_LIMIT if xc < -_EXP_LIMIT else xc
    k = np.floor(xc * _LOG2E + 0.5)
    r = (xc - k * _LN2_HI) - k * _LN2_LO  # |r| <= ln(2) / 2
    p = 1.0 / 479001600.0
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
    y = p * _POW2[np.int64(k) + 1022]  # |k| <= 1022: a normal 2^k
    y = math.inf if x > _EXP_LIMIT else y
    return 0.0 if x < -_EXP_LIMIT else y


@njit
def exp_array(x, out):
    """``out = _exp(x)`` elementwise (1-D), for tests and benchmarks."""
    for i in range(x.shape[0]):
        out[i] = _exp(x[i])


@njit(inline="always")
def _threshold(rng):
    """A fresh Exp(1) threshold ``-log1p(-U)``, U = ``rng.random()``."""
    return -math.log1p(-rng.random())


@njit(inline="always")
def _spike_log_likelihood(a):
    """``log p - log(1 - p) = log(-expm1(-a)) + a``: a spike's term minus a silence's."""
    return math.log(-math.expm1(-a)) + a


@njit(inline="always")
def _spike_factor(a, inv_delta_u):
    """The post-synaptic factor of a spike, ``(1 / delta_u) a e^-a / p``.

    ``(1 / delta_u) (a / p) (X - p)`` at X = 1, with ``1 - p = e^-a`` computed directly
    (``1 - p`` would lose its digits when p is near 1); a silence's is ``-a / delta_u``.
    """
    p = -math.expm1(-a)
    ratio = a / p if p > 0.0 else 1.0
    return inv_delta_u * ratio * math.exp(-a)


@njit
def run_wake(weights, params, x_visible, clamp, hidden, rng, log_p, log_q, factor_M,
             factor_Q):
    """K wake samples of the hidden neurons under Q, the visible ones clamped to data.

    For every sample k: ``log q(X_H | X_V)`` (hidden neurons under Q) and
    ``log p(X_V, X_H)`` (all neurons under M), from rest (all traces 0 at t = 0).
    The free energy of the sample is ``log_q[k] - log_p[k]``. Each log-likelihood is
    accumulated as ``-sum a`` over all neuron-bins (a running sum per neuron, updated
    elementwise) plus ``log p + a`` per spike.

    Parameters
    ----------
    weights : Weights
    params : Params
    x_visible : uint8 array, shape (T, nV)
        The clamped visible raster.
    clamp : bool
        True: the hidden raster is read from ``hidden`` (no random numbers are drawn),
        which evaluates given rasters; False: it is sampled from Q.
    hidden : uint8 array, shape (K, T, nH) or (0, 0, 0)
        Read if ``clamp``; else written if it has K rows (the samples' hidden rasters).
    rng : numpy.random.Generator
        Used only if not ``clamp``; the order of the draws is the module's.
    log_p, log_q : float64 arrays, shape (K,)
        Output. K is their length.
    factor_M : float64 array, shape (K, T, N) or (0, 0, 0)
        Output if it has K rows: the post-synaptic factor of every neuron under M.
    factor_Q : float64 array, shape (K, T, nH) or (0, 0, 0)
        Output if it has K rows: the factor of every hidden neuron under Q.
    """
    W_M, b_M, W_Q, b_Q = weights
    n_bins, n_visible = x_visible.shape
    n = b_M.shape[0]
    n_hidden = b_Q.shape[0]
    n_samples = log_p.shape[0]
    decay, decay_a, eta_0 = params.decay_syn, params.decay_adapt, params.eta_0
    log_a0, inv_du = params.log_a0, params.inv_delta_u
    write_hidden = (not clamp) and hidden.shape[0] == n_samples
    write_factors = factor_M.shape[0] == n_samples

    # The visible spikes, bin by bin (shared by the samples).
    visible_ptr = np.zeros(n_bins + 1, dtype=np.int64)
    for t in range(n_bins):
        count = 0
        for v in range(n_visible):
            count += x_visible[t, v]
        visible_ptr[t + 1] = visible_ptr[t] + count
    visible_idx = np.empty(visible_ptr[n_bins], dtype=np.int64)
    for t in range(n_bins):
        slot = visible_ptr[t]
        for v in range(n_visible):
            if x_visible[t, v]:
                visible_idx[slot] = v
                slot += 1

    # Shared by the samples: what the clamped visible spikes drive.
    in_M_v = np.zeros(n)
    in_Q_v = np.zeros(n_hidden)
    psi_v = np.zeros(n_visible)
    # Per sample, one row each: hidden-driven input, hidden adaptation, thresholds and
    # the running sums of a.
    in_M_h = np.zeros((n_samples, n))
    in_Q_h = np.zeros((n_samples, n_hidden))
    psi_h = np.zeros((n_samples, n_hidden))
    remaining = np.zeros((n_samples, n_hidden))
    sum_a_M = np.zeros((n_samples, n))
    sum_a_Q = np.zeros((n_samples, n_hidden))
    spike_ll_M = np.zeros(n_samples)
    spike_ll_Q = np.zeros(n_samples)
    # Per bin scratch.
    a_M = np.empty(n)
    a_Q = np.empty(n_hidden)
    x_h = np.zeros(n_hidden, dtype=np.uint8)
    if not clamp:
        for k in range(n_samples):
            for h in range(n_hidden):
                remaining[k, h] = _threshold(rng)

    for t in range(n_bins):
        first, last = visible_ptr[t], visible_ptr[t + 1]
        for k in range(n_samples):
            # Intensities of bin t from the state of bin t; decay the inputs to t + 1.
            for h in range(n_hidden):
                drive = in_Q_v[h] + in_Q_h[k, h] + eta_0 * psi_h[k, h] + b_Q[h]
                in_Q_h[k, h] *= decay
                a = _exp(log_a0 + inv_du * drive)
                a_Q[h] = a
                sum_a_Q[k, h] += a
            for i in range(n_visible):
                drive = in_M_v[i] + in_M_h[k, i] + eta_0 * psi_v[i] + b_M[i]
                in_M_h[k, i] *= decay
                a = _exp(log_a0 + inv_du * drive)
                a_M[i] = a
                sum_a_M[k, i] += a
            for h in range(n_hidden):
                i = n_visible + h
                drive = in_M_v[i] + in_M_h[k, i] + eta_0 * psi_h[k, h] + b_M[i]
                in_M_h[k, i] *= decay
                a = _exp(log_a0 + inv_du * drive)
                a_M[i] = a
                sum_a_M[k, i] += a
            # The hidden spikes: sampled by the thresholds, or given.
            if clamp:
                for h in range(n_hidden):
                    x_h[h] = hidden[k, t, h]
            else:
                for h in range(n_hidden):
                    remaining[k, h] -= a_Q[h]
                for h in range(n_hidden):
                    if remaining[k, h] < 0.0:
                        x_h[h] = 1
                        remaining[k, h] = _threshold(rng)
                    else:
                        x_h[h] = 0
            if write_factors:
                for h in range(n_hidden):
                    factor_Q[k, t, h] = -inv_du * a_Q[h]
                for i in range(n):
                    factor_M[k, t, i] = -inv_du * a_M[i]
            # Spikes: their log-likelihood terms and factors, their adaptation, and the
            # weights they send to bin t + 1.
            for slot in range(first, last):
                i = visible_idx[slot]
                spike_ll_M[k] += _spike_log_likelihood(a_M[i])
                if write_factors:
                    factor_M[k, t, i] = _spike_factor(a_M[i], inv_du)
            for h in range(n_hidden):
                psi_h[k, h] = decay_a * psi_h[k, h] + x_h[h]
            for h in range(n_hidden):
                if x_h[h]:
                    j = n_visible + h
                    spike_ll_Q[k] += _spike_log_likelihood(a_Q[h])
                    spike_ll_M[k] += _spike_log_likelihood(a_M[j])
                    if write_factors:
                        factor_Q[k, t, h] = _spike_factor(a_Q[h], inv_du)
                        factor_M[k, t, j] = _spike_factor(a_M[j], inv_du)
                    if write_hidden:
                        hidden[k, t, h] = 1
                    for i in range(n):
                        in_M_h[k, i] += W_M[j, i]
                    for i in range(n_hidden):
                        in_Q_h[k, i] += W_Q[j, i]
                elif write_hidden:
                    hidden[k, t, h] = 0
        # The shared state at t + 1.
        for i in range(n):
            in_M_v[i] *= decay
        for h in range(n_hidden):
            in_Q_v[h] *= decay
        for v in range(n_visible):
            psi_v[v] = decay_a * psi_v[v] + x_visible[t, v]
        for slot in range(first, last):
            v = visible_idx[slot]
            for i in range(n):
                in_M_v[i] += W_M[v, i]
            for i in range(n_hidden):
                in_Q_v[i] += W_Q[v, i]

    for k in range(n_samples):
        total_M = 0.0
        for i in range(n):
            total_M += sum_a_M[k, i]
        total_Q = 0.0
        for h in range(n_hidden):
            total_Q += sum_a_Q[k, h]
        log_p[k] = spike_ll_M[k] - total_M
        log_q[k] = spike_ll_Q[k] - total_Q


@njit
def run_sleep(weights, params, rng, raster, log_p):
    """Sample every neuron from the generative model M alone, from rest.

    Parameters
    ----------
    weights : Weights
        Only ``W_M`` and ``b_M`` are used.
    params : Params
    rng : numpy.random.Generator
        Thresholds in the module's order: N at the start, one per spike after.
    raster : uint8 array, shape (T, N)
        Output: the sampled raster, visible neurons first.
    log_p : float64 array, shape (1,)
        Output: ``log p(X)`` of the sampled raster.
    """
    W_M = weights.W_M
    b_M = weights.b_M
    n_bins, n = raster.shape
    decay, decay_a, eta_0 = params.decay_syn, params.decay_adapt, params.eta_0
    log_a0, inv_du = params.log_a0, params.inv_delta_u
    drive = np.zeros(n)
    psi = np.zeros(n)
    a = np.empty(n)
    sum_a = np.zeros(n)
    remaining = np.empty(n)
    for i in range(n):
        remaining[i] = _threshold(rng)
    spikes = 0.0
    for t in range(n_bins):
        for i in range(n):
            a_i = _exp(log_a0 + inv_du * (drive[i] + eta_0 * psi[i] + b_M[i]))
            drive[i] *= decay
            a[i] = a_i
            sum_a[i] += a_i
            remaining[i] -= a_i
        for i in range(n):
            if remaining[i] < 0.0:
                raster[t, i] = 1
                remaining[i] = _threshold(rng)
            else:
                raster[t, i] = 0
        for i in range(n):
            psi[i] = decay_a * psi[i] + raster[t, i]
        for j in range(n):
            if raster[t, j]:
                spikes += _spike_log_likelihood(a[j])
                for i in range(n):
                    drive[i] += W_M[j, i]
    total = 0.0
    for i in range(n):
        total += sum_a[i]
    log_p[0] = spikes - total


@njit
def eligibility(raster, factor, decay, grad_W, grad_b):
    """``grad_W[j, i] = sum_t f_i(t) phi_j(t)`` and ``grad_b[i] = sum_t f_i(t)``.

    The weight gradient of the local rule, post-synaptic factor times presynaptic trace,
    summed over the batch. Computed without the traces: with
    ``phi_j(t) = sum_{s < t} decay^(t-1-s) X_j(s)``,
    ``sum_t f_i(t) phi_j(t) = sum_s X_j(s) G_i(s)``, ``G_i(s) = sum_{t > s}
    decay^(t-1-s) f_i(t)``, the factor filtered backwards in time
    (``G(T-1) = 0``, ``G(s) = f(s+1) + decay G(s+1)``); each spike (s, j) then adds the
    row ``G(s)`` to ``grad_W[j]``: O(T n_post) plus O(n_post) per spike.

    Parameters
    ----------
    raster : uint8 array, shape (T, N)
        The presynaptic spikes (all neurons).
    factor : float64 array, shape (T, n_post)
        Post-synaptic factors (N neurons under M, or the nH hidden ones under Q).
    decay : float
        ``exp(-dt / tau_syn)``.
    grad_W : float64 array, shape (N, n_post)
        Output, presynaptic x postsynaptic like the weights.
    grad_b : float64 array, shape (n_post,)
        Output.
    """
    n_bins, n_post = factor.shape
    n = raster.shape[1]
    for j in range(n):
        for i in range(n_post):
            grad_W[j, i] = 0.0
    for i in range(n_post):
        grad_b[i] = 0.0
    backward = np.zeros(n_post)
    for s in range(n_bins - 1, -1, -1):
        for j in range(n):
            if raster[s, j]:
                for i in range(n_post):
                    grad_W[j, i] += backward[i]
        for i in range(n_post):
            f = factor[s, i]
            grad_b[i] += f
            backward[i] = f + decay * backward[i]


@njit
def _all_finite(a):
    flat = a.ravel()
    for i in range(flat.shape[0]):
        if not math.isfinite(flat[i]):
            return False
    return True


@njit
def train_batches(weights, params, rule, data, rng, free_energy, baseline):
    """Wake learning, batch after batch, weights updated in place after every batch.

    Per batch b (from rest): one wake sample ``X_H ~ q(. | X_V = data[b])`` with
    ``F = log q - log p``; then plain SGD with the local rules

        W_M += mu_M  sum_t f^M_i(t) phi_j(t),          b_M += mu_M sum_t f^M_i(t),
        W_Q -= mu_Q (F - F_bar) sum_t f^Q_h(t) phi_j(t),  b_Q likewise,

    ``F_bar`` the moving average of F over the previous batches
    (``F_bar <- F_bar + (F - F_bar) / baseline_tau`` after the update, started at the
    first batch's F) if ``rule.baseline``, else 0. Stops at the first batch whose F or
    updated weights are not finite.

    Parameters
    ----------
    weights : Weights
        Updated in place.
    params : Params
    rule : Rule
    data : uint8 array, shape (B, T, nV)
    rng : numpy.random.Generator
    free_energy, baseline : float64 arrays, shape (B,)
        Output: F of every batch and the ``F_bar`` its update used; NaN from the batch
        that diverged on (they must be NaN-filled by the caller).

    Returns
    -------
    n_done : int
        Batches completed (updates applied and finite).
    diverged : bool
    """
    W_M, b_M, W_Q, b_Q = weights
    n_batches, n_bins, n_visible = data.shape
    n = b_M.shape[0]
    n_hidden = b_Q.shape[0]
    hidden = np.zeros((1, n_bins, n_hidden), dtype=np.uint8)
    factor_M = np.zeros((1, n_bins, n))
    factor_Q = np.zeros((1, n_bins, n_hidden))
    log_p = np.zeros(1)
    log_q = np.zeros(1)
    raster = np.zeros((n_bins, n), dtype=np.uint8)
    grad_WM = np.zeros((n, n))
    grad_bM = np.zeros(n)
    grad_WQ = np.zeros((n, n_hidden))
    grad_bQ = np.zeros(n_hidden)
    mean_f = 0.0
    for b in range(n_batches):
        x_visible = data[b]
        run_wake(weights, params, x_visible, False, hidden, rng, log_p, log_q, factor_M,
                 factor_Q)
        f = log_q[0] - log_p[0]
        if not math.isfinite(f):
            return b, True
        if rule.baseline:
            if b == 0:
                mean_f = f
            reference = mean_f
        else:
            reference = 0.0
        for t in range(n_bins):
            for i in range(n_visible):
                raster[t, i] = x_visible[t, i]
            for h in range(n_hidden):
                raster[t, n_visible + h] = hidden[0, t, h]
        eligibility(raster, factor_M[0], params.decay_syn, grad_WM, grad_bM)
        eligibility(raster, factor_Q[0], params.decay_syn, grad_WQ, grad_bQ)
        step_M = rule.mu_M
        step_Q = -rule.mu_Q * (f - reference)
        for j in range(n):
            for i in range(n):
                W_M[j, i] += step_M * grad_WM[j, i]
            for h in range(n_hidden):
                W_Q[j, h] += step_Q * grad_WQ[j, h]
        for i in range(n):
            b_M[i] += step_M * grad_bM[i]
        for h in range(n_hidden):
            b_Q[h] += step_Q * grad_bQ[h]
        if not (_all_finite(W_M) and _all_finite(b_M) and _all_finite(W_Q)
                and _all_finite(b_Q)):
            return b, True
        free_energy[b] = f
        baseline[b] = reference
        if rule.baseline:
            mean_f += (f - mean_f) / rule.baseline_tau
    return n_batches, False
