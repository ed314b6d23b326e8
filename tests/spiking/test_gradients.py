"""The local rules' gradients (post-synaptic factor x presynaptic trace) against finite
differences of the log-likelihoods on a fixed raster."""

import numpy as np
import pytest

from synlearn.spiking import learning, model

from .reference import numeric, random_network


def test_postsynaptic_factor_is_the_derivative_of_the_bin_log_likelihood():
    params = model.make_params(dt_ms=1.0, rho_0_hz=10.0, delta_u=0.7)
    u = np.linspace(-8.0, 6.0, 57)  # a = rho dt from ~1e-9 to ~50
    step = 1e-6
    for x in (0, 1):
        xs = np.full(u.shape, x)
        numeric = (model.bin_log_likelihood(xs, u + step, params)
                   - model.bin_log_likelihood(xs, u - step, params)) / (2 * step)
        factor = model.postsynaptic_factor(xs, u, params)
        np.testing.assert_allclose(factor, numeric, rtol=1e-6, atol=1e-9)
    # The two branches of (1/delta_u)(a/p)(X - p): a e^-a / (p delta_u) and -a / delta_u.
    a = np.exp(params.log_a0 + u / 0.7)
    p = -np.expm1(-a)
    np.testing.assert_allclose(model.postsynaptic_factor(np.ones_like(u), u, params),
                               a * np.exp(-a) / (p * 0.7), rtol=1e-12)
    np.testing.assert_allclose(model.postsynaptic_factor(np.zeros_like(u), u, params),
                               -a / 0.7, rtol=1e-12)
    # Small rho dt: the factor tends to the point-process one, (X - a) / delta_u; exactly
    # for X = 0, and for X = 1 as a / (e^a - 1) = 1 - a / 2 + O(a^2), off by X a / 2.
    small = u < -4.0
    for x in (0, 1):
        limit = (x - a[small]) / 0.7
        got = model.postsynaptic_factor(np.full(small.sum(), x), u[small], params)
        np.testing.assert_allclose(got - limit, x * a[small] / (2 * 0.7), rtol=0,
                                   atol=float(np.max(a[small])) ** 2)
        assert np.all(np.abs(got - limit) <= a[small])


@pytest.mark.parametrize("dt_ms", [1.0, 10.0])
def test_local_gradients_match_finite_differences(dt_ms):
    weights, params = random_network(3, 2, seed=31, weight_std=0.8, dt_ms=dt_ms,
                                     rho_0_hz=60.0)
    rng = np.random.default_rng(32)
    n_bins, rate = round(400 / dt_ms), 0.04 * dt_ms  # 400 ms at 40 Hz
    x = (rng.random((n_bins, 3)) < rate).astype(np.uint8)
    h = (rng.random((n_bins, 2)) < rate).astype(np.uint8)
    evaluation = learning.evaluate(weights, params, x, h, gradients=True)

    def log_p(w):
        return learning.evaluate(w, params, x, h).log_p[0]

    def log_q(w):
        return learning.evaluate(w, params, x, h).log_q[0]

    for field, got in (("W_M", evaluation.grad_log_p.W_M[0]),
                       ("b_M", evaluation.grad_log_p.b_M[0])):
        np.testing.assert_allclose(got, numeric(log_p, weights, field), rtol=1e-6, atol=1e-7)
        assert np.all(numeric(log_q, weights, field) == 0.0)  # q does not depend on M
    for field, got in (("W_Q", evaluation.grad_log_q.W_Q[0]),
                       ("b_Q", evaluation.grad_log_q.b_Q[0])):
        np.testing.assert_allclose(got, numeric(log_q, weights, field), rtol=1e-6, atol=1e-7)
        assert np.all(numeric(log_p, weights, field) == 0.0)
    # Every presynaptic neuron spiked, so every weight's gradient is exercised.
    assert np.all(evaluation.grad_log_p.W_M[0] != 0.0)
