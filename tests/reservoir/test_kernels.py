"""Reservoir kernels against plain-NumPy twins and closed forms."""

import math
from dataclasses import replace

import numpy as np
import pytest

from synlearn.reservoir import kernels
from synlearn.reservoir.protocol import Protocol, RuleSetting, protocol_scalars, readout_state
from synlearn.reservoir.network import make_reservoir, network_state

from .reference import autonomous_twin, trials_twin


def small_reservoir(n=24, gain=1.5, seed=0, het=0.5):
    return make_reservoir(n, 0.3, gain, np.random.default_rng(seed), het)


def run_kernel_trials(reservoir, targets, setting, protocol, n_trials, rng, w=None, learn=True,
                      trace=None):
    """``kernels.run_trials`` for one run learning ``targets[0]`` with ``setting``, its
    state built by the production factories. Returns the final ``Readout`` and the summed
    squared error."""
    readout = readout_state(reservoir.n_units, 1, [setting], protocol)
    if w is not None:
        readout.w[:] = w
    sq = np.zeros(1)
    kernels.run_trials(network_state(reservoir), readout, protocol_scalars(protocol), targets,
                       n_trials, learn, rng, sq, np.zeros((0, 1)) if trace is None else trace)
    return readout, sq[0]


# alpha_decay = exp(-2 learn_every dt / forgetting_tau) = 0.99 per learning step
TAU_99 = -2.0 * 2 * 1.0 / math.log(0.99)


@pytest.mark.parametrize("rule,rate,forgetting_tau", [("delta", 2e-3, None), ("bayes", 1e-2, None),
                                                      ("bayes", 1e-2, TAU_99), ("rls", 1.0, None)])
@pytest.mark.parametrize("noise", [0.0, 0.02])
def test_trials_kernel_matches_numpy_twin(rule, rate, forgetting_tau, noise):
    reservoir = small_reservoir()
    targets = np.sin(np.linspace(0, 2 * np.pi, 30, endpoint=False))[None, :]
    # noise: the std of one step's increment; dt = 1 ms, tau = 10 ms, learn_every = 2
    protocol = Protocol(noise_std=noise / math.sqrt(0.2), pulse_ms=5.0)
    assert protocol.noise_step_std == pytest.approx(noise, rel=1e-12)
    readout, sq = run_kernel_trials(reservoir, targets, RuleSetting(rule, rate, forgetting_tau),
                                    protocol, 3, np.random.default_rng(5))
    w, coef, decay = readout.w[:, 0], readout.alpha[:, 0], readout.alpha_decay[0]
    assert decay == (1.0 if forgetting_tau is None else pytest.approx(0.99, rel=1e-12))
    w_ref, alpha_ref, sq_ref = trials_twin(
        reservoir, targets, 0, rule, rate, 3, protocol.learn_every, protocol.pulse_steps,
        protocol.pulse_amplitude, protocol.init_std, protocol.noise_step_std, protocol.leak,
        np.random.default_rng(5), decay,
    )
    np.testing.assert_allclose(w, w_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sq, sq_ref, rtol=1e-9)
    if rule != "rls":
        np.testing.assert_allclose(coef, alpha_ref, rtol=1e-12)
    assert np.abs(w).max() > 0


def test_sparse_product_matches_dense():
    reservoir = small_reservoir(n=40)
    rates = np.random.default_rng(1).standard_normal((40, 7))
    out = np.empty_like(rates)
    network = network_state(reservoir)
    kernels.recurrent_input(network.indptr, network.indices, network.J, rates, out)
    np.testing.assert_allclose(out, reservoir.dense_weights() @ rates, rtol=1e-12, atol=1e-14)


def test_rls_equals_ridge_regression():
    """With the a-priori error, T RLS steps give w = (alpha I + S^T S)^-1 S^T f exactly."""
    rng = np.random.default_rng(2)
    n, T, alpha = 12, 40, 3.0
    features = rng.standard_normal((T, n))
    f = rng.standard_normal(T)
    w = np.zeros((n, 1))
    P = np.eye(n) / alpha
    seen, gain_vector = np.empty(n), np.empty(n)
    for t in range(T):
        err = f[t] - features[t] @ w[:, 0]
        kernels.rls_update(P, w, 0, features[t][:, None], np.ones(n), err, seen, gain_vector)
    ridge = np.linalg.solve(alpha * np.eye(n) + features.T @ features, features.T @ f)
    np.testing.assert_allclose(w[:, 0], ridge, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(P, np.linalg.inv(alpha * np.eye(n) + features.T @ features), atol=1e-12)
    np.testing.assert_array_equal(P, P.T)


def test_bayes_rule_with_one_hot_features_equals_per_feature_ridge():
    """Each synapse sees its own feature only: w_i = sum f / (1/eta0 + n_i)."""
    rng = np.random.default_rng(3)
    n, T, eta0 = 6, 200, 0.05
    active = rng.integers(0, n, T)
    f = rng.standard_normal(T) + active  # each feature has its own mean target
    w = np.zeros((n, 1))
    alpha = np.full((n, 1), eta0)
    one = np.ones(1)
    for t in range(T):
        s = np.zeros((n, 1))
        s[active[t]] = 1.0
        err = np.array([f[t] - w[active[t], 0]])
        kernels.local_update(w, alpha, s, np.ones(n), err, one, np.zeros(1), one)
    counts = np.bincount(active, minlength=n)
    sums = np.bincount(active, weights=f, minlength=n)
    np.testing.assert_allclose(w[:, 0], sums / (1.0 / eta0 + counts), rtol=1e-12)
    np.testing.assert_allclose(alpha[:, 0], 1.0 / (1.0 / eta0 + counts), rtol=1e-12)


def test_bayes_rates_never_increase_and_stay_positive():
    rng = np.random.default_rng(4)
    n = 50
    w = np.zeros((n, 2))
    alpha = np.full((n, 2), [1e-2, 1e3])  # a huge eta0 must not go negative either
    previous = alpha.copy()
    for _ in range(500):
        s = rng.standard_normal((n, 2)) * rng.lognormal(0, 2, (n, 1))
        kernels.local_update(w, alpha, s, np.ones(n), rng.standard_normal(2), np.ones(2),
                             np.zeros(2), np.ones(2))
        assert np.all(alpha <= previous)
        assert np.all(alpha > 0)
        previous = alpha.copy()
    assert np.all(alpha < 1e-2)


def test_forgetting_keeps_rates_above_a_floor():
    """With forgetting the rate cannot anneal to zero: it settles where drift balances data."""
    n, eta0, decay = 4, 1e-2, 0.99
    w = np.zeros((n, 1))
    alpha = np.full((n, 1), eta0)
    s = np.ones((n, 1))
    for _ in range(5000):
        kernels.local_update(w, alpha, s, np.ones(n), np.zeros(1), np.array([decay]),
                             np.array([eta0 * (1 - decay)]), np.ones(1))
    # fixed point of a -> 1 / (1 / (d a + eta0 (1 - d)) + 1)
    a = alpha[0, 0]
    prior = decay * a + eta0 * (1 - decay)
    assert a == pytest.approx(prior / (1 + prior), rel=1e-12)
    assert a > 1e-4


def test_zero_rate_leaves_weights_unchanged():
    rng = np.random.default_rng(6)
    n = 10
    w = rng.standard_normal((n, 2))
    before = w.copy()
    rate = np.zeros((n, 2))
    kernels.local_update(w, rate, rng.standard_normal((n, 2)), np.ones(n), np.ones(2),
                         np.ones(2), np.zeros(2), np.array([0.0, 1.0]))
    np.testing.assert_array_equal(w, before)


def _separation(gain, steps=4000):
    reservoir = make_reservoir(300, 0.1, gain, np.random.default_rng(7))
    x0 = np.random.default_rng(8).standard_normal(300)
    a = autonomous_twin(reservoir, x0, steps, 0.1)
    b = autonomous_twin(reservoir, x0 + 1e-8 * np.random.default_rng(9).standard_normal(300), steps, 0.1)
    return a, np.linalg.norm(a - b, axis=1)


def test_gain_1p5_without_feedback_is_chaotic():
    path, distance = _separation(1.5)
    # near g = 1 chaos is slow (Lyapunov exponent ~0.03 / tau at g = 1.5), hence 400 tau
    assert distance[-1] > 1e4 * distance[0]
    assert np.std(path[-100:]) > 0.3  # activity keeps fluctuating


def test_gain_0p5_decays_to_rest():
    path, distance = _separation(0.5)
    assert np.abs(path[-1]).max() < 1e-3
    assert distance[-1] < distance[0]


def test_continuous_kernel_without_feedback_follows_twin():
    reservoir = small_reservoir(n=30, het=0.0)
    x0 = np.random.default_rng(10).standard_normal(30)
    x = np.tile(x0[:, None], (1, 2))
    rates = np.tanh(x)
    protocol = Protocol(kind="continuous")  # no noise, leak = dt / tau = 0.1
    # two runs on target 0, w = 0 and learning off: no feedback
    readout = readout_state(30, 1, [RuleSetting("delta", 1e-3), RuleSetting("bayes", 1e-2)],
                            protocol)
    kernels.run_continuous(
        network_state(reservoir), readout, protocol_scalars(protocol), np.zeros((1, 5)), x, rates,
        50, 0, False, np.random.default_rng(0), np.zeros(2), np.zeros((0, 2)),
    )
    path = autonomous_twin(reservoir, x0, 50, protocol.leak)
    np.testing.assert_allclose(x[:, 0], path[-1], rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(x[:, 0], x[:, 1])


def test_kernel_tanh_is_within_3_ulp_of_numpy_and_keeps_nan():
    grid = np.concatenate([np.linspace(-30, 30, 120001), np.logspace(-300, 1.6, 4000),
                           -np.logspace(-300, 1.6, 4000), [0.0, -0.0, 0.25, -0.25, 19.99, 20.01]])
    out = np.empty((1, grid.size))
    kernels.tanh_array(grid[None, :], out)
    reference = np.tanh(grid)
    ulps = np.abs(out[0] - reference) / np.spacing(np.abs(reference))
    assert ulps.max() <= 3
    assert np.all(np.sign(out[0]) == np.sign(reference))
    special = np.array([[np.nan, np.inf, -np.inf]])
    kernels.tanh_array(special, out[:, :3])
    assert np.isnan(out[0, 0]) and out[0, 1] == 1.0 and out[0, 2] == -1.0


def test_kernel_tanh_does_not_depend_on_the_position_in_a_batch():
    values = np.random.default_rng(11).standard_normal(257) * 5
    whole = np.empty((1, 257))
    kernels.tanh_array(values[None, :], whole)
    for start, width in ((0, 1), (1, 3), (5, 7), (2, 255)):
        part = np.empty((1, width))
        kernels.tanh_array(values[None, start:start + width], part)
        np.testing.assert_array_equal(part[0], whole[0, start:start + width])


@pytest.mark.parametrize("kind", ["trials", "continuous"])
def test_one_run_steps_bit_identically_alone_and_inside_a_batch(kind):
    # batch 1 runs its own loops (vectorised over units): they must agree bit for bit
    reservoir = small_reservoir(n=37)
    targets = np.sin(np.linspace(0, 2 * np.pi, 30, endpoint=False))[None, :]
    protocol = Protocol(kind=kind, noise_std=0.1, pulse_ms=5.0)
    settings = [RuleSetting("bayes", 1e-2), RuleSetting("delta", 2e-3), RuleSetting("rls", 1.0)]
    network, scalars = network_state(reservoir), protocol_scalars(protocol)

    def run(chosen):
        readout = readout_state(reservoir.n_units, 1, chosen, protocol)
        readout.w[:] = 0.1
        batch = len(chosen)
        sq, trace = np.zeros(batch), np.zeros((60, batch))
        rng = np.random.default_rng(3)
        if kind == "trials":
            kernels.run_trials(network, readout, scalars, targets, 2, True, rng, sq, np.zeros((0, batch)))
        else:
            x = np.repeat(np.random.default_rng(4).standard_normal((37, 1)), batch, axis=1)
            rates = np.tanh(x)
            kernels.run_continuous(network, readout, scalars, targets, x, rates, 60, 0, True, rng,
                                   sq, trace)
        return readout, sq

    batched, batched_sq = run(settings)
    for run_index, setting in enumerate(settings):
        alone, alone_sq = run([setting])
        np.testing.assert_array_equal(alone.w[:, 0], batched.w[:, run_index])
        np.testing.assert_array_equal(alone.alpha[:, 0], batched.alpha[:, run_index])
        assert alone_sq[0] == batched_sq[run_index]


def test_uint32_indices_step_exactly_like_int64_ones():
    reservoir = small_reservoir(n=41)
    network = network_state(reservoir)
    assert network.indices.dtype == np.uint32
    wide = network._replace(indices=network.indices.astype(np.int64))
    rates = np.tanh(np.random.default_rng(2).standard_normal((41, 3)))
    for batch in (1, 3):
        narrow_out, wide_out = np.empty((41, batch)), np.empty((41, batch))
        part = np.ascontiguousarray(rates[:, :batch])
        kernels.recurrent_input(network.indptr, network.indices, network.J, part, narrow_out)
        kernels.recurrent_input(wide.indptr, wide.indices, wide.J, part, wide_out)
        np.testing.assert_array_equal(narrow_out, wide_out)
        np.testing.assert_allclose(narrow_out, reservoir.dense_weights() @ part, rtol=1e-12,
                                   atol=1e-14)


def readout_after_pulse(reservoir, w, protocol, pulse_ms, seeds):
    """Readout at the start and at the end of the pulse, one trial from each seed's fresh
    state, under ``protocol`` with its pulse set to ``pulse_ms``."""
    protocol = replace(protocol, pulse_ms=pulse_ms)
    steps = protocol.pulse_steps
    ends = []
    for seed in seeds:
        trace = np.zeros((steps + 1, 1))
        # learning off, and a negligible rate in case it were not
        run_kernel_trials(reservoir, np.zeros((1, 1)), RuleSetting("delta", 1e-300), protocol, 1,
                          np.random.default_rng(seed), w=w, learn=False, trace=trace)
        ends.append((trace[0, 0], trace[-1, 0]))
    return np.array(ends)


@pytest.mark.parametrize("network", [0, 1, 2])
def test_default_pulse_sets_the_phase(network):
    """The default pulse (50 ms, amplitude 2) makes trials from independent random
    states nearly identical, with feedback and private noise on; a 5 ms pulse does not."""
    protocol = Protocol(noise_std=0.05)
    assert (protocol.leak, protocol.pulse_amplitude, protocol.init_std) == (0.1, 2.0, 1.0)
    reservoir = make_reservoir(500, 0.1, 1.5, np.random.default_rng(network), 0.5)
    w = np.random.default_rng(99).normal(0.0, 1.0 / np.sqrt(500), (500, 1))
    seeds = range(1, 9)
    start, end = readout_after_pulse(reservoir, w, protocol, protocol.pulse_ms, seeds).T
    assert end.std() < 0.15 * start.std()
    start, end = readout_after_pulse(reservoir, w, protocol, 5.0, seeds).T
    assert end.std() > 0.4 * start.std()
