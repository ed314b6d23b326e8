"""Exact enumeration on a tiny network: 1 visible and 2 hidden neurons over 4 bins.

Every hidden raster (2^(2 x 4) = 256) is evaluated, which gives ``log p(x_V)``, the
exact ``E_q[F]`` and its exact gradient, against which the sampled quantities (the
importance-sampling estimate, the mean free energy, the score-function gradient) are
checked within their standard errors.
"""

import numpy as np
import pytest
from scipy.special import logsumexp

from synlearn.spiking import learning, model

from .reference import all_rasters, numeric, random_network, raster_index

N_V, N_H, T = 1, 2, 4
X = np.array([[1], [0], [1], [1]], dtype=np.uint8)
HIDDEN = all_rasters(T, N_H)
K = 20000


@pytest.fixture(scope="module")
def tiny():
    weights, params = random_network(N_V, N_H, seed=22, weight_std=0.5)
    return weights, params


def exact(weights, params, x=X, gradients=False):
    """log q and log p of every hidden raster, and log p(x_V)."""
    evaluation = learning.evaluate(weights, params, x, HIDDEN, gradients=gradients)
    return evaluation, float(logsumexp(evaluation.log_p))


def test_both_models_are_normalised(tiny):
    weights, params = tiny
    evaluation, _ = exact(weights, params)
    assert np.exp(logsumexp(evaluation.log_q)) == pytest.approx(1.0, abs=1e-12)
    total = [exact(weights, params, x)[1] for x in all_rasters(T, N_V)]
    assert np.exp(logsumexp(total)) == pytest.approx(1.0, abs=1e-12)


def test_importance_sampling_and_free_energy_bound(tiny):
    weights, params = tiny
    evaluation, log_px = exact(weights, params)
    q = np.exp(evaluation.log_q)
    f = evaluation.log_q - evaluation.log_p
    mean_f = float(q @ f)
    kl = mean_f + log_px  # KL(q || posterior) >= 0
    assert kl > 0.05  # q is not the posterior: the bound is strict

    samples = learning.free_energy(weights, params, X, np.random.default_rng(1), K)
    # The sampled F are the exact F of the sampled rasters.
    np.testing.assert_allclose(samples.free_energy, f[raster_index(samples.hidden)],
                               rtol=1e-12)
    se_f = samples.free_energy.std(ddof=1) / np.sqrt(K)
    assert abs(samples.free_energy.mean() - mean_f) < 4 * se_f
    assert samples.free_energy.mean() > -log_px + kl / 2  # mean F >= -log p(x_V)

    estimate = learning.log_likelihood_is(weights, params, X, K, np.random.default_rng(2))
    assert 0 < estimate.standard_error < 0.02
    assert abs(estimate.estimate - log_px) < 4 * estimate.standard_error
    assert 1 < estimate.ess < K
    # The sampler's frequencies are q: chi-square-like check on the 256 rasters.
    counts = np.bincount(raster_index(samples.hidden), minlength=HIDDEN.shape[0])
    expected = K * q
    keep = expected > 20
    z = (counts[keep] - expected[keep]) / np.sqrt(expected[keep])
    assert np.mean(z ** 2) < 1.5
    mean = np.tensordot(q, HIDDEN.astype(float), axes=1)
    got = samples.hidden.mean(axis=0)
    assert np.all(np.abs(got - mean) < 4 * np.sqrt(mean * (1 - mean) / K))


def test_free_energy_is_minus_log_p_when_q_is_the_posterior(tiny):
    # Hidden neurons without influence on the visible one, and Q = M on the hidden ones:
    # p(x, h) = p(x) prod_t p^M(h(t) | past), so q(h | x) = p(h | x) and F = -log p(x)
    # for every sample.
    weights, params = tiny
    W_M = weights.W_M.copy()
    W_M[N_V:, :N_V] = 0.0
    posterior = model.make_weights(W_M, weights.b_M, W_M[:, N_V:], weights.b_M[N_V:])
    evaluation, log_px = exact(posterior, params)
    f = evaluation.log_q - evaluation.log_p
    np.testing.assert_allclose(f, -log_px, rtol=0, atol=1e-12)
    samples = learning.free_energy(posterior, params, X, np.random.default_rng(3), 200)
    np.testing.assert_allclose(samples.free_energy, -log_px, rtol=0, atol=1e-12)
    estimate = learning.log_likelihood_is(posterior, params, X, 200,
                                          np.random.default_rng(4))
    assert estimate.estimate == pytest.approx(log_px, abs=1e-12)
    assert estimate.standard_error < 1e-12
    assert estimate.ess == pytest.approx(200)


def expected_free_energy(weights, params):
    evaluation, _ = exact(weights, params)
    return float(np.exp(evaluation.log_q) @ (evaluation.log_q - evaluation.log_p))


def numeric_gradient(weights, params, field):
    return numeric(lambda changed: expected_free_energy(changed, params), weights, field)


def test_score_function_gradient_of_the_free_energy_is_unbiased(tiny):
    weights, params = tiny
    evaluation, _ = exact(weights, params, gradients=True)
    q = np.exp(evaluation.log_q)
    f = evaluation.log_q - evaluation.log_p
    score = {"W_Q": evaluation.grad_log_q.W_Q, "b_Q": evaluation.grad_log_q.b_Q}
    samples = learning.free_energy(weights, params, X, np.random.default_rng(5), K)
    index = raster_index(samples.hidden)
    for field, g in score.items():
        true = numeric_gradient(weights, params, field)
        assert np.max(np.abs(true)) > 0.05
        # The score has zero mean under q; the exact expectation of F times the score
        # is the gradient of E_q[F] (the d log q / dw term inside F has zero mean).
        np.testing.assert_allclose(np.tensordot(q, g, axes=1), 0.0, atol=1e-12)
        weighted = np.tensordot(q * f, g, axes=1)
        np.testing.assert_allclose(weighted, true, rtol=1e-6, atol=1e-8)
        # Sampled: mean of (F - b) d log q / dw, for no baseline and a constant one.
        per_sample = g[index]
        errors = {}
        for b in (0.0, float(q @ f)):
            terms = (samples.free_energy - b).reshape((-1,) + (1,) * (g.ndim - 1)) * per_sample
            mean = terms.mean(axis=0)
            se = terms.std(axis=0, ddof=1) / np.sqrt(K)
            assert np.all(np.abs(mean - true) < 4 * se), (field, b)
            errors[b] = se
        # The baseline near E_q[F] makes the estimate less noisy.
        assert np.all(errors[float(q @ f)] < errors[0.0])


def test_sleep_samples_the_generative_model():
    # Every raster of 3 neurons over 3 bins (512): the sleep sampler's frequencies are
    # p(X), the probabilities the wake evaluation gives the same rasters.
    weights, params = random_network(1, 2, seed=23, weight_std=1.0)
    rasters = all_rasters(3, 3)
    log_p = np.concatenate([learning.evaluate(weights, params, r[:, :1], r[None, :, 1:]).log_p
                            for r in rasters])
    assert np.exp(logsumexp(log_p)) == pytest.approx(1.0, abs=1e-12)
    rng = np.random.default_rng(24)
    n = 20000
    samples = np.stack([learning.sleep(weights, params, 3, rng) for _ in range(n)])
    counts = np.bincount(raster_index(samples), minlength=rasters.shape[0])
    expected = n * np.exp(log_p)
    keep = expected > 20
    z = (counts[keep] - expected[keep]) / np.sqrt(expected[keep])
    assert keep.sum() > 30 and np.mean(z ** 2) < 1.5
    # The expected spike count of every neuron and bin, within 4 standard errors.
    mean = np.tensordot(np.exp(log_p), rasters.astype(float), axes=1)
    got = samples.mean(axis=0)
    assert np.all(np.abs(got - mean) < 4 * np.sqrt(mean * (1 - mean) / n))
    total = rasters.reshape(rasters.shape[0], -1).sum(1)
    sd = np.sqrt(np.exp(log_p) @ (total - np.exp(log_p) @ total) ** 2 / n)
    assert abs(samples.reshape(n, -1).sum(1).mean() - np.exp(log_p) @ total) < 3 * sd
