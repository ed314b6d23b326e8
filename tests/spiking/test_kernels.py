"""The kernels against their plain-NumPy twins, and the batched sampler against K runs."""

import numpy as np
import pytest

from synlearn.spiking import kernels, learning, model

from .reference import (
    eligibility_twin, random_network, sleep_twin, train_twin, wake_twin,
)

RTOL = 1e-10


def visible_raster(seed, n_bins, n_visible, rate=0.3):
    return (np.random.default_rng(seed).random((n_bins, n_visible)) < rate).astype(np.uint8)


@pytest.mark.parametrize("n_samples", [1, 7])
def test_wake_sampling_matches_twin(n_samples):
    # A mid-size network, so that the incremental input (rows of W added per spike) is
    # checked against the twin's dense phi @ W over many spikes.
    weights, params = random_network(6, 9, seed=1, weight_std=0.4)
    x = visible_raster(2, 40, 6)
    n, n_h = weights.n_neurons, weights.n_hidden
    hidden = np.zeros((n_samples, 40, n_h), dtype=np.uint8)
    log_p, log_q = np.empty(n_samples), np.empty(n_samples)
    f_M, f_Q = np.empty((n_samples, 40, n)), np.empty((n_samples, 40, n_h))
    rng = np.random.default_rng(3)
    kernels.run_wake(weights, params, x, False, hidden, rng, log_p, log_q, f_M, f_Q)
    t_log_p, t_log_q, t_hidden, t_f_M, t_f_Q = wake_twin(weights, params, x, n_samples,
                                                         np.random.default_rng(3))
    assert 0.1 < hidden.mean() < 0.9  # the draws decide something
    np.testing.assert_array_equal(hidden, t_hidden)
    np.testing.assert_allclose(log_p, t_log_p, rtol=RTOL)
    np.testing.assert_allclose(log_q, t_log_q, rtol=RTOL)
    np.testing.assert_allclose(f_M, t_f_M, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(f_Q, t_f_Q, rtol=1e-9, atol=1e-12)
    # One threshold per sample and hidden neuron, then one per spike: the generators
    # are at the same place.
    draws = n_samples * n_h + int(hidden.sum())
    assert rng.random() == np.random.default_rng(3).random(draws + 1)[-1]


def test_clamped_wake_matches_twin_and_draws_nothing():
    weights, params = random_network(4, 5, seed=4)
    x = visible_raster(5, 25, 4)
    hidden = visible_raster(6, 25 * 3, 5).reshape(3, 25, 5)
    evaluation = learning.evaluate(weights, params, x, hidden)
    t_log_p, t_log_q, *_ = wake_twin(weights, params, x, hidden=hidden)
    np.testing.assert_allclose(evaluation.log_p, t_log_p, rtol=RTOL)
    np.testing.assert_allclose(evaluation.log_q, t_log_q, rtol=RTOL)
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    kernels.run_wake(weights, params, x, True, hidden, rng, np.empty(3), np.empty(3),
                     np.zeros((0, 0, 0)), np.zeros((0, 0, 0)))
    assert rng.bit_generator.state == state


def test_sleep_matches_twin():
    weights, params = random_network(3, 4, seed=7, weight_std=0.5)
    raster = np.zeros((60, 7), dtype=np.uint8)
    log_p = np.zeros(1)
    kernels.run_sleep(weights, params, np.random.default_rng(8), raster, log_p)
    t_raster, t_log_p = sleep_twin(weights, params, 60, np.random.default_rng(8))
    assert 0.1 < raster.mean() < 0.9
    np.testing.assert_array_equal(raster, t_raster)
    np.testing.assert_allclose(log_p[0], t_log_p, rtol=RTOL)
    np.testing.assert_array_equal(learning.sleep(weights, params, 60,
                                                 np.random.default_rng(8)), t_raster)


def test_sleep_log_p_is_the_wake_evaluation_of_its_raster():
    weights, params = random_network(3, 4, seed=9, weight_std=0.5)
    raster = np.zeros((30, 7), dtype=np.uint8)
    log_p = np.zeros(1)
    kernels.run_sleep(weights, params, np.random.default_rng(1), raster, log_p)
    evaluation = learning.evaluate(weights, params, raster[:, :3], raster[:, 3:])
    np.testing.assert_allclose(evaluation.log_p[0], log_p[0], rtol=1e-12)


def test_eligibility_matches_forward_traces():
    rng = np.random.default_rng(10)
    raster = (rng.random((50, 8)) < 0.2).astype(np.uint8)
    factor = rng.standard_normal((50, 5))
    grad_W, grad_b = np.empty((8, 5)), np.empty(5)
    kernels.eligibility(raster, factor, 0.8, grad_W, grad_b)
    t_W, t_b = eligibility_twin(raster, factor, 0.8)
    np.testing.assert_allclose(grad_W, t_W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_b, t_b, rtol=1e-12)


@pytest.mark.parametrize("baseline", [True, False])
def test_train_batches_matches_twin(baseline):
    weights, params = random_network(4, 3, seed=11, weight_std=0.3)
    rule = model.make_rule(mu_M=0.01, mu_Q=5e-4, baseline=baseline, baseline_tau=3.0)
    data = visible_raster(12, 4 * 30, 4).reshape(4, 30, 4)
    result = learning.train(weights, params, data, np.random.default_rng(13), rule)
    t_weights, t_f, t_baseline = train_twin(weights, params, rule, data,
                                            np.random.default_rng(13))
    assert not result.diverged and result.n_batches == 4
    np.testing.assert_allclose(result.free_energy, t_f, rtol=1e-9)
    np.testing.assert_allclose(result.baseline, t_baseline, rtol=1e-9)
    for got, want in zip(result.weights, t_weights):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    for got, before in zip(result.weights, weights):  # every group learned
        assert not np.array_equal(got, before)
    if not baseline:
        assert np.all(result.baseline == 0.0)


def test_batched_samples_equal_separate_runs():
    # K samples in one call: each sample's log p and log q are those of its hidden
    # raster evaluated alone (K = 1), so samples do not interact through the shared
    # visible state; and the IS estimator sees the same free energies.
    weights, params = random_network(5, 6, seed=14, weight_std=0.5)
    x = visible_raster(15, 35, 5)
    batch = learning.free_energy(weights, params, x, np.random.default_rng(16), 9)
    assert len({tuple(h.ravel()) for h in batch.hidden}) == 9
    for k in range(9):
        alone = learning.evaluate(weights, params, x, batch.hidden[k])
        np.testing.assert_allclose(alone.log_p[0], batch.log_p[k], rtol=1e-13)
        np.testing.assert_allclose(alone.log_q[0], batch.log_q[k], rtol=1e-13)
    estimate = learning.log_likelihood_is(weights, params, x, 9, np.random.default_rng(16))
    expected = learning.importance_statistics(batch.free_energy)
    np.testing.assert_allclose(estimate, expected, rtol=1e-13)


def test_vectorisable_exp():
    rng = np.random.default_rng(17)
    x = np.concatenate([rng.uniform(-708, 708, 20000), rng.uniform(-30, 10, 20000),
                        [0.0, 1e-300, -1e-300, 708.0, -708.0]])
    out = np.empty_like(x)
    kernels.exp_array(x, out)
    want = np.exp(x)
    assert np.max(np.abs(out - want) / np.spacing(want)) <= 4
    special = np.array([np.nan, np.inf, -np.inf, 709.0, -709.0, 1e6, -1e6])
    got = np.empty_like(special)
    kernels.exp_array(special, got)
    np.testing.assert_array_equal(got, [np.nan, np.inf, 0.0, np.inf, 0.0, np.inf, 0.0])
