"""Plain-NumPy twins of the spiking kernels (``synlearn.spiking.kernels``).

Written from the model's equations with the traces kept explicitly: ``phi`` and ``psi``
are advanced bin by bin, ``u = phi @ W + eta_0 psi + b`` is a dense product, the
intensity is ``rho_0 exp((u - theta) / delta_u)`` in Hz and ``a = rho dt``. They sample
as the kernels do, by time rescaling (a neuron spikes when the summed ``a = rho dt``
since its last spike exceeds an Exp(1) threshold ``-log1p(-U)``), and draw the
thresholds in the kernels' documented order: one per neuron (and sample) before the
first bin, then one per spike, bin by bin, samples in order, neurons in increasing
index, which is the C order of ``np.nonzero``. So a kernel and its twin given
generators with the same seed agree on the spikes and, up to rounding, on everything
else.
"""

from __future__ import annotations

import numpy as np


def expected_count(u, params):
    """``a = rho dt`` with ``rho = rho_0 exp((u - theta) / delta_u)`` (Hz), dt in s."""
    return params.rho_0 * np.exp((u - params.theta) / params.delta_u) * params.dt


def bin_terms(x, u, params):
    """The bin's log-likelihood and post-synaptic factor, from a and p = 1 - e^-a."""
    a = expected_count(u, params)
    p = -np.expm1(-a)
    with np.errstate(divide="ignore"):
        ll = x * np.log(p) + (1 - x) * (-a)
    factor = (a / p) * (x - p) / params.delta_u
    return ll, factor, p


def wake_twin(weights, params, x_visible, n_samples=1, rng=None, hidden=None):
    """K wake samples (``hidden=None``, drawing from ``rng``) or K given hidden rasters.

    Returns ``(log_p, log_q, hidden, factor_M, factor_Q)`` with shapes (K,), (K,),
    (K, T, nH), (K, T, N), (K, T, nH).
    """
    W_M, b_M, W_Q, b_Q = weights
    x_visible = np.asarray(x_visible, dtype=float)
    n_t, n_v = x_visible.shape
    n, n_h = b_M.size, b_Q.size
    if hidden is None:
        remaining = -np.log1p(-rng.random((n_samples, n_h)))
        out_hidden = np.zeros((n_samples, n_t, n_h), dtype=np.uint8)
    else:
        out_hidden = np.asarray(hidden, dtype=np.uint8).copy()
        n_samples = out_hidden.shape[0]
    phi = np.zeros((n_samples, n))
    psi = np.zeros((n_samples, n))
    log_p = np.zeros(n_samples)
    log_q = np.zeros(n_samples)
    factor_M = np.zeros((n_samples, n_t, n))
    factor_Q = np.zeros((n_samples, n_t, n_h))
    for t in range(n_t):
        u_Q = phi @ W_Q + params.eta_0 * psi[:, n_v:] + b_Q
        if hidden is None:
            remaining -= expected_count(u_Q, params)
            spikes = remaining < 0.0
            out_hidden[:, t] = spikes
            ks, hs = np.nonzero(spikes)
            remaining[ks, hs] = -np.log1p(-rng.random(ks.size))
        x_h = out_hidden[:, t].astype(float)
        ll_Q, f_Q, _ = bin_terms(x_h, u_Q, params)
        x = np.concatenate([np.broadcast_to(x_visible[t], (n_samples, n_v)), x_h], axis=1)
        u_M = phi @ W_M + params.eta_0 * psi + b_M
        ll_M, f_M, _ = bin_terms(x, u_M, params)
        log_q += ll_Q.sum(axis=1)
        log_p += ll_M.sum(axis=1)
        factor_Q[:, t] = f_Q
        factor_M[:, t] = f_M
        phi = np.exp(-params.dt / params.tau_syn) * phi + x
        psi = np.exp(-params.dt / params.tau_adapt) * psi + x
    return log_p, log_q, out_hidden, factor_M, factor_Q


def sleep_twin(weights, params, n_bins, rng):
    """A raster of every neuron sampled from M; returns ``(raster, log_p)``."""
    W_M, b_M = weights.W_M, weights.b_M
    n = b_M.size
    remaining = -np.log1p(-rng.random(n))
    phi, psi = np.zeros(n), np.zeros(n)
    raster = np.zeros((n_bins, n), dtype=np.uint8)
    log_p = 0.0
    for t in range(n_bins):
        u = phi @ W_M + params.eta_0 * psi + b_M
        remaining -= expected_count(u, params)
        raster[t] = remaining < 0.0
        spiking = np.flatnonzero(raster[t])
        remaining[spiking] = -np.log1p(-rng.random(spiking.size))
        x = raster[t].astype(float)
        ll, _, _ = bin_terms(x, u, params)
        log_p += ll.sum()
        phi = np.exp(-params.dt / params.tau_syn) * phi + x
        psi = np.exp(-params.dt / params.tau_adapt) * psi + x
    return raster, log_p


def traces_twin(raster, decay):
    """``phi(t)`` of every neuron, shape (T, N): ``phi(0) = 0``,
    ``phi(t + 1) = decay phi(t) + X(t)``."""
    raster = np.asarray(raster, dtype=float)
    phi = np.zeros_like(raster)
    for t in range(1, raster.shape[0]):
        phi[t] = decay * phi[t - 1] + raster[t - 1]
    return phi


def eligibility_twin(raster, factor, decay):
    """``sum_t outer(phi(t), f(t))`` (pre x post) and ``sum_t f(t)``, traces forward."""
    phi = traces_twin(raster, decay)
    return phi.T @ factor, factor.sum(axis=0)


def train_twin(weights, params, rule, data, rng):
    """``kernels.train_batches`` batch by batch with the twins; returns
    ``(weights, free_energy, baseline)`` (no divergence handling)."""
    W_M, b_M, W_Q, b_Q = (a.copy() for a in weights)
    n_batches = data.shape[0]
    energies, baselines = np.full(n_batches, np.nan), np.full(n_batches, np.nan)
    mean_f = 0.0
    decay = np.exp(-params.dt / params.tau_syn)
    for b in range(n_batches):
        current = type(weights)(W_M, b_M, W_Q, b_Q)
        log_p, log_q, hidden, f_M, f_Q = wake_twin(current, params, data[b], 1, rng)
        f = log_q[0] - log_p[0]
        if rule.baseline:
            if b == 0:
                mean_f = f
            reference = mean_f
        else:
            reference = 0.0
        raster = np.concatenate([data[b], hidden[0]], axis=1)
        g_WM, g_bM = eligibility_twin(raster, f_M[0], decay)
        g_WQ, g_bQ = eligibility_twin(raster, f_Q[0], decay)
        W_M = W_M + rule.mu_M * g_WM
        b_M = b_M + rule.mu_M * g_bM
        W_Q = W_Q - rule.mu_Q * (f - reference) * g_WQ
        b_Q = b_Q - rule.mu_Q * (f - reference) * g_bQ
        energies[b], baselines[b] = f, reference
        if rule.baseline:
            mean_f += (f - mean_f) / rule.baseline_tau
    return type(weights)(W_M, b_M, W_Q, b_Q), energies, baselines


# --- small networks the tests share ------------------------------------------------------


def random_network(n_visible, n_hidden, seed, weight_std=1.0, bias_std=0.5, **params):
    """Weights with O(1) entries and ``make_params(**params)``; a coarse bin by default
    (dt = 20 ms, rho_0 = 25 Hz: p ~ 0.4 at u = 0), so that short rasters are diverse."""
    from synlearn.spiking import model

    settings = dict(dt_ms=20.0, tau_syn_ms=40.0, tau_adapt_ms=30.0, eta_0=-1.0,
                    rho_0_hz=25.0)
    settings.update(params)
    p = model.make_params(**settings)
    rng = np.random.default_rng(seed)
    n = n_visible + n_hidden
    weights = model.make_weights(weight_std * rng.standard_normal((n, n)),
                                 bias_std * rng.standard_normal(n),
                                 weight_std * rng.standard_normal((n, n_hidden)),
                                 bias_std * rng.standard_normal(n_hidden))
    return weights, p


def all_rasters(n_bins, n_neurons):
    """Every 0/1 raster of shape (n_bins, n_neurons), shape (2^(T n), T, n); raster r's
    entry (t, i) is bit ``t n + i`` of r."""
    count = n_bins * n_neurons
    bits = (np.arange(2 ** count)[:, None] >> np.arange(count)[None, :]) & 1
    return bits.reshape(-1, n_bins, n_neurons).astype(np.uint8)


def raster_index(rasters):
    """The index of each raster (K, T, n) in ``all_rasters``."""
    flat = rasters.reshape(rasters.shape[0], -1).astype(np.int64)
    return flat @ (1 << np.arange(flat.shape[1]))


def numeric(function, weights, field, step=1e-6):
    """Central differences of ``function(weights)`` with respect to every entry of the
    weight array ``field`` (a ``Weights`` field)."""
    base = getattr(weights, field)
    grad = np.zeros_like(base)
    for index in np.ndindex(base.shape):
        values = []
        for sign in (1, -1):
            changed = base.copy()
            changed[index] += sign * step
            values.append(function(weights._replace(**{field: changed})))
        grad[index] = (values[0] - values[1]) / (2 * step)
    return grad
