"""Plain-NumPy, step-by-step twin of the synapse filters (slow and obvious).

Written directly from Aitchison et al. (2021) and the authors' update forms, without the
kernels' helpers, so that the kernels can be checked against it on identical inputs.
"""

from __future__ import annotations

import math

import numpy as np


def normal_pdf(z):
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def normal_cdf(z):
    return 0.5 * np.vectorize(math.erfc)(-np.asarray(z, dtype=float) / math.sqrt(2.0))


def run_reference(model, rates_hz, spikes, target_path, membrane_noise, sampling_noise,
                  etas, include_bayesian=True, burn_in_steps=0):
    """Simulate every synapse at every step on a supplied world.

    Returns a dict with the final ``bayes_mu, bayes_sig2, classical_mu``, the per-step
    ``u`` of every rule (classical columns first, Bayesian last), and the error integrals
    ``err_bayes, err_classical`` (sum over post-update times after burn-in of the squared
    error times dt), ``coverage_sum`` and ``learning_rate_sum``.
    """
    dt, sigma0 = model.dt, model.sigma0
    mean, var = model.prior_mean, model.prior_var
    k_factor = model.sampling_variance_factor
    theta = model.threshold_sd * sigma0
    decay = 0.0 if model.tau == math.inf else dt / model.tau
    a = math.exp(-decay)
    etas = np.asarray(etas, dtype=float)
    n_steps, n = spikes.shape

    m_prior = math.exp(mean + var / 2)
    s2_prior = m_prior ** 2 * (math.exp(var) - 1)
    p = np.asarray(rates_hz) * dt
    if model.posterior_sampling:
        share_prior = 2 * s2_prior
    else:
        share_prior = s2_prior + k_factor * m_prior
    constant_noise = sigma0 ** 2 + np.sum(p * (1 - p)) * share_prior

    mu = np.full(n, mean)
    sig2 = np.full(n, var)
    mu_c = np.full((n, etas.size), mean)
    u_trace = np.zeros((n_steps, etas.size + 1))
    err_bayes = np.zeros(n)
    err_classical = np.zeros((n, etas.size))
    coverage_sum = np.zeros(n)
    learning_rate_sum = np.zeros(n)

    for k in range(n_steps):
        x = spikes[k].astype(float)
        target_weight = np.exp(target_path[k])
        xi = sampling_noise[k]

        m = np.exp(mu + sig2 / 2)
        s2 = m ** 2 * (np.exp(sig2) - 1)
        m_c = np.exp(mu_c)
        if model.feedback == "rl":
            sd = np.sqrt(s2) if model.posterior_sampling else np.sqrt(k_factor * m)
            w = m + sd * xi
            w_c = m_c + np.sqrt(k_factor * m_c) * xi[:, None]
        else:
            w = m
            w_c = m_c
        u = np.sum(x * (target_weight - w)) + sigma0 * membrane_noise[k]
        u_c = np.sum(x[:, None] * (target_weight[:, None] - w_c), axis=0) \
            + sigma0 * membrane_noise[k]
        u_trace[k, :-1] = u_c
        u_trace[k, -1] = u

        if model.noise_variance == "exact":
            share = 2 * s2 if model.posterior_sampling else s2 + k_factor * m
            noise_var = sigma0 ** 2 + np.sum(x * share)
        else:
            noise_var = constant_noise

        # Bayesian filter step (x multiplies the gain: silent synapses learn nothing)
        if model.feedback == "linear":
            gain = sig2 * m * x / noise_var
            d_mu = gain * u
            d_sig2 = -gain ** 2 * noise_var
        elif model.feedback == "cerebellar":
            f = 1.0 if u >= theta else -1.0
            z = -f * theta / math.sqrt(noise_var)
            ratio = normal_pdf(z) / normal_cdf(z)
            gain = sig2 * m * x / math.sqrt(noise_var)
            d_mu = gain * f * ratio
            d_sig2 = -gain ** 2 * ratio * (ratio + z)
        else:
            f = -abs(u)
            gain = sig2 * m * x / noise_var
            delta = m - w
            if model.rl_update == "tanh":
                z = f * delta / noise_var
                d_mu = gain * (f * np.tanh(z) - delta)
                d_sig2 = gain ** 2 * ((f / np.cosh(z)) ** 2 - noise_var)
            else:
                d_mu = gain * delta * (f ** 2 / noise_var - 1)
                d_sig2 = gain ** 2 * (f ** 2 / noise_var - 1) * noise_var
        if include_bayesian:
            mu = mu + d_mu
            sig2 = sig2 + d_sig2
            if k >= burn_in_steps:
                learning_rate_sum += x * np.abs(np.exp(d_mu + d_sig2 / 2) - 1)

        # classical: the same step with sigma^2 m / S replaced by eta
        if model.feedback == "linear":
            mu_c = mu_c + etas * x[:, None] * u_c
        elif model.feedback == "cerebellar":
            f_c = np.where(u_c >= theta, 1.0, -1.0)
            z_c = -f_c * theta / sigma0
            ratio_c = normal_pdf(z_c) / normal_cdf(z_c)
            mu_c = mu_c + etas * x[:, None] * f_c * ratio_c
        else:
            f_c = -np.abs(u_c)
            delta_c = m_c - w_c
            mu_c = mu_c + etas * x[:, None] * (f_c * np.tanh(f_c * delta_c) - delta_c)

        # prior drift over one step (exact OU relaxation of mean and variance)
        mu = mean + (mu - mean) * a
        sig2 = var + (sig2 - var) * a * a

        if k + 1 > burn_in_steps:
            lam = target_path[k + 1]
            err_bayes += (mu - lam) ** 2 * dt
            err_classical += (mu_c - lam[:, None]) ** 2 * dt
            coverage_sum += np.abs(mu - lam) < 2 * np.sqrt(sig2)

    return {"bayes_mu": mu, "bayes_sig2": sig2, "classical_mu": mu_c, "u_trace": u_trace,
            "err_bayes": err_bayes, "err_classical": err_classical,
            "coverage_sum": coverage_sum, "learning_rate_sum": learning_rate_sum}


def make_world(model, n_steps, rng, rates_hz=None):
    """Draw a world step by step: Bernoulli spikes, exact one-step OU targets, noises."""
    n = model.n_synapses
    if rates_hz is None:
        rates_hz = np.sort(10 ** (0.5 * rng.standard_normal(n)))[::-1]
        rates_hz = np.clip(rates_hz, 0.05, 60.0)
    spikes = rng.random((n_steps, n)) < rates_hz * model.dt
    lam = np.empty((n_steps + 1, n))
    lam[0] = model.prior_mean + math.sqrt(model.prior_var) * rng.standard_normal(n)
    a = 1.0 if model.tau == math.inf else math.exp(-model.dt / model.tau)
    sd = math.sqrt(model.prior_var * (1 - a * a))
    for k in range(n_steps):
        lam[k + 1] = model.prior_mean + (lam[k] - model.prior_mean) * a \
            + sd * rng.standard_normal(n)
    membrane_noise = rng.standard_normal(n_steps)
    sampling_noise = rng.standard_normal((n_steps, n))
    return np.asarray(rates_hz, dtype=float), spikes, lam, membrane_noise, sampling_noise
