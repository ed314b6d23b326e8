"""Training on the stairs, determinism, divergence, and the stairs data set."""

import numpy as np
import pytest

from synlearn.spiking import learning, model, stairs

from .reference import random_network

N_BATCHES = 300


@pytest.fixture(scope="module")
def small_stairs():
    """A small stairs problem: 3 blocks of 4 visible neurons, 10 hidden, 200 ms batches."""
    data = stairs.make_stairs(np.random.default_rng(1), 200, N_BATCHES, block_size=4).raster
    weights = model.init_weights(12, 10, np.random.default_rng(2))
    return data, weights


def test_baseline_rule_lowers_the_free_energy(small_stairs):
    data, weights = small_stairs
    params = model.make_params()
    trained = learning.train(weights, params, data, np.random.default_rng(3))
    frozen = learning.train(weights, params, data, np.random.default_rng(3),
                            model.make_rule(mu_M=0.0, mu_Q=0.0))
    assert not trained.diverged and trained.n_batches == N_BATCHES
    first, last = trained.free_energy[:100].mean(), trained.free_energy[-100:].mean()
    assert last < first - 30  # nats per 200 ms batch
    # Not a drift of the data: without learning F stays where it was.
    assert abs(frozen.free_energy[-100:].mean() - frozen.free_energy[:100].mean()) < 10
    assert last < frozen.free_energy[-100:].mean() - 30
    for got, before in zip(frozen.weights, weights):
        np.testing.assert_array_equal(got, before)
    # The baseline is the moving average of the previous batches' F.
    tau = model.make_rule().baseline_tau
    f_bar = trained.free_energy[0]
    for b in range(1, 20):
        f_bar += (trained.free_energy[b - 1] - f_bar) / tau
        assert trained.baseline[b] == pytest.approx(f_bar, rel=1e-12)
    # The held-out likelihood improves too.
    test = stairs.make_stairs(np.random.default_rng(4), 200, block_size=4).raster
    before = learning.log_likelihood_is(weights, params, test, 100, np.random.default_rng(5))
    after = learning.log_likelihood_is(trained.weights, params, test, 100,
                                       np.random.default_rng(5))
    assert after.estimate > before.estimate + 20


def test_naive_rule_runs(small_stairs):
    data, weights = small_stairs
    result = learning.train(weights, model.make_params(), data, np.random.default_rng(3),
                            model.make_rule(baseline=False))
    assert isinstance(result, learning.TrainResult)
    assert np.all(result.baseline[:result.n_batches] == 0.0)
    assert np.all(np.isfinite(result.free_energy[:result.n_batches]))


def test_training_is_deterministic_per_seed(small_stairs):
    data, weights = small_stairs
    params = model.make_params()
    runs = [learning.train(weights, params, data[:50], np.random.default_rng(seed))
            for seed in (7, 7, 8)]
    np.testing.assert_array_equal(runs[0].free_energy, runs[1].free_energy)
    for a, b in zip(runs[0].weights, runs[1].weights):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(runs[0].free_energy, runs[2].free_energy)
    # The input weights are not touched (copy=True).
    fresh = model.init_weights(12, 10, np.random.default_rng(2))
    for a, b in zip(weights, fresh):
        np.testing.assert_array_equal(a, b)
    # A stream cut into 200 ms batches is the same as the batches.
    stream = learning.train(weights, params, data[:50].reshape(-1, 12),
                            np.random.default_rng(7))
    np.testing.assert_array_equal(stream.free_energy, runs[0].free_energy)


def test_divergence_is_recorded_not_raised():
    weights, params = random_network(4, 3, seed=51, weight_std=0.3)
    data = (np.random.default_rng(52).random((40, 30, 4)) < 0.3).astype(np.uint8)
    result = learning.train(weights, params, data, np.random.default_rng(53),
                            model.make_rule(mu_M=50.0, mu_Q=1.0, baseline=False))
    assert result.diverged
    assert result.n_batches < 40
    assert np.all(np.isnan(result.free_energy[result.n_batches:]))
    assert np.all(np.isnan(result.baseline[result.n_batches:]))
    assert np.all(np.isfinite(result.free_energy[:result.n_batches]))


def test_stairs_structure():
    rng = np.random.default_rng(61)
    data = stairs.make_stairs(rng, 3000)
    raster, block = data
    assert raster.shape == (3000, 30) and raster.dtype == np.uint8
    # Steps of 10-30 ms, blocks in the order 0, 1, 2, 0, 1, 2, ...
    edges = np.flatnonzero(np.diff(block)) + 1
    lengths = np.diff(np.concatenate([[0], edges]))
    assert lengths.min() >= 10 and lengths.max() <= 30
    assert abs(lengths.mean() - 20) < 2
    starts = block[np.concatenate([[0], edges])]
    np.testing.assert_array_equal(starts, np.arange(starts.size) % 3)
    # Rates: 80 Hz in the active block, 2 Hz elsewhere.
    active = block[:, None] == (np.arange(30) // 10)[None, :]
    assert raster[active].mean() * 1000 == pytest.approx(80.0, rel=0.05)
    assert raster[~active].mean() * 1000 == pytest.approx(2.0, rel=0.15)
    # Batches are episodes that start at block 0; determinism per seed.
    batches = stairs.make_stairs(np.random.default_rng(62), 200, 4, dt_ms=1.0)
    assert batches.raster.shape == (4, 200, 30) and np.all(batches.block[:, 0] == 0)
    again = stairs.make_stairs(np.random.default_rng(62), 200, 4)
    np.testing.assert_array_equal(batches.raster, again.raster)
    # The documented order of the draws.
    rng = np.random.default_rng(63)
    lengths = rng.integers(10, 31, size=200 // 10 + 1)
    uniforms = rng.random((200, 30))
    one = stairs.make_stairs(np.random.default_rng(63), 200)
    block = (np.repeat(np.arange(lengths.size), lengths)[:200] % 3)
    np.testing.assert_array_equal(one.block, block)
    p = np.where(block[:, None] == np.arange(30) // 10, -np.expm1(-0.08), -np.expm1(-0.002))
    np.testing.assert_array_equal(one.raster, (uniforms < p).astype(np.uint8))


def test_sleep_after_training_resembles_the_stairs(small_stairs):
    # The generative model alone produces block-structured activity: the (10 ms
    # smoothed) spike trains of two visible neurons of one block are correlated, those
    # of different blocks are not; before training neither.
    data, weights = small_stairs
    params = model.make_params()
    trained = learning.train(weights, params, data, np.random.default_rng(3)).weights
    block = np.arange(12) // 4
    same = (block[:, None] == block[None, :]) & ~np.eye(12, dtype=bool)
    other = block[:, None] != block[None, :]
    correlations = {}
    for name, w in (("initial", weights), ("trained", trained)):
        raster = learning.sleep(w, params, 20000, np.random.default_rng(9))
        assert raster.shape == (20000, 22)
        visible = raster[:, :12].astype(float)
        smooth = np.stack([np.convolve(c, np.ones(10), "same") for c in visible.T])
        c = np.corrcoef(smooth)
        correlations[name] = (c[same].mean(), c[other].mean(), visible.mean() * 1000)
    within, between, rate = correlations["trained"]
    assert 15 < rate < 45  # the data's mean is (80 + 2 x 2) / 3 = 28 Hz
    assert within > 0.05 and between < 0.0
    assert abs(correlations["initial"][0]) < 0.02


def test_importance_statistics():
    f = np.array([3.0, 1.0, 2.0, 2.5])
    w = np.exp(-f)
    result = learning.importance_statistics(f)
    assert result.estimate == pytest.approx(np.log(w.mean()), rel=1e-14)
    assert result.standard_error == pytest.approx(w.std(ddof=1) / (2 * w.mean()), rel=1e-12)
    assert result.ess == pytest.approx(w.sum() ** 2 / (w * w).sum(), rel=1e-12)
    # Shifted by a constant: the estimate moves, the error and the ESS do not; no
    # overflow at free energies of thousands of nats.
    shifted = learning.importance_statistics(f + 5000.0)
    assert shifted.estimate == pytest.approx(result.estimate - 5000.0, rel=1e-14)
    assert shifted.standard_error == pytest.approx(result.standard_error, rel=1e-12)
    assert np.isnan(learning.importance_statistics([1.0, np.inf]).estimate)
