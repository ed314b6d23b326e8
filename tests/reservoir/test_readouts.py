"""The readout library: closed forms, the pipeline's own numbers, batching, bad input,
the reservoirpy adapter and the README example."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from synlearn.core.errors import ConfigError
from synlearn.reservoir import BayesianReadout, DeltaReadout, RLSReadout, kernels
from synlearn.reservoir.network import make_reservoir, network_state
from synlearn.reservoir.protocol import Protocol, RuleSetting, protocol_scalars, readout_state

README = Path(__file__).resolve().parents[2] / "README.md"

# The README's example, verbatim (between <!-- readout-example --> markers there).


def random_states(rng, n_steps, n_features, *batch):
    """Reservoir-like activity: tanh of Gaussians, with heterogeneous per-feature gains."""
    gains = 10.0 ** (0.5 * rng.standard_normal((n_features,) + (1,) * len(batch)))
    return gains * np.tanh(rng.standard_normal((n_steps, n_features) + batch))


# --------------------------------------------------------------------------------------
# Closed forms


def test_bayes_with_one_hot_states_equals_per_feature_ridge():
    """One-hot states: each weight is the posterior mean of its own feature under a prior
    N(0, eta0 sigma_l^2) with sigma_l = 1, i.e. sum(f where on) / (1/eta0 + count)."""
    rng = np.random.default_rng(3)
    n, T, eta0 = 6, 300, 0.05
    active = rng.integers(0, n, T)
    f = rng.standard_normal(T) + active  # each feature has its own mean target
    readout = BayesianReadout(eta0)
    for t in range(T):
        readout.partial_fit(np.eye(n)[active[t]], f[t])
    counts = np.bincount(active, minlength=n)
    sums = np.bincount(active, weights=f, minlength=n)
    np.testing.assert_allclose(readout.w, sums / (1.0 / eta0 + counts), rtol=1e-12)
    np.testing.assert_allclose(readout.alpha, 1.0 / (1.0 / eta0 + counts), rtol=1e-12)
    assert readout.n_steps == T


def test_rls_after_n_steps_equals_ridge_regression():
    rng = np.random.default_rng(2)
    n, T = 12, 40
    X = rng.standard_normal((T, n))
    y = X @ rng.standard_normal(n) + 0.3 * rng.standard_normal(T)
    for alpha in (0.1, 3.0):
        readout = RLSReadout(alpha)
        readout.partial_fit_block(X, y)
        gram = X.T @ X + alpha * np.eye(n)
        np.testing.assert_allclose(readout.w, np.linalg.solve(gram, X.T @ y), rtol=1e-9,
                                   atol=1e-12)
        np.testing.assert_allclose(readout.P, np.linalg.inv(gram), rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(readout.P, readout.P.T)


def test_delta_equals_the_explicit_lms_recursion():
    rng = np.random.default_rng(4)
    n, T, eta = 20, 500, 0.01
    X = random_states(rng, T, n)
    y = X @ rng.standard_normal(n)
    readout = DeltaReadout(eta)
    w = np.zeros(n)
    predictions = []
    for t in range(T):
        predictions.append(readout.partial_fit(X[t], y[t]))
        z = w @ X[t]
        assert predictions[-1] == pytest.approx(z, rel=1e-12, abs=1e-14)
        w = w + eta * (y[t] - z) * X[t]
    np.testing.assert_allclose(readout.w, w, rtol=1e-12, atol=1e-14)
    assert np.abs(w).max() > 0.1


def test_forgetting_uses_readout_states_formulas_and_keeps_a_floor():
    protocol = Protocol(dt=0.5, learn_every=3)
    eta0, tau = 2e-3, 40.0
    reference = readout_state(4, 1, [RuleSetting("bayes", eta0, tau)], protocol)
    readout = BayesianReadout(eta0, tau, step_time=protocol.learn_every * protocol.dt)
    assert readout.alpha_decay == reference.alpha_decay[0]  # bit for bit
    assert readout.alpha_floor == reference.alpha_floor[0]
    plain = BayesianReadout(eta0)
    assert (plain.alpha_decay, plain.alpha_floor) == (1.0, 0.0)
    for _ in range(5000):
        readout.partial_fit(np.ones(4), 0.0)
    a, d = readout.alpha[0], readout.alpha_decay
    prior = d * a + eta0 * (1 - d)
    assert a == pytest.approx(prior / (1 + prior), rel=1e-12)  # drift balances data
    assert a > 1e-3 * eta0


# --------------------------------------------------------------------------------------
# The library gives the pipeline's numbers


STEP_TIME_SETTINGS = [RuleSetting("delta", 5e-3), RuleSetting("bayes", 5e-2),
                      RuleSetting("bayes", 5e-2, 30.0), RuleSetting("rls", 1.0)]


def pipeline_run(n_steps, settings, w0, stepwise):
    """The pipeline's kernel (``run_continuous``, with output feedback and private noise)
    on a tiny network learning two targets. Stepwise: one call per step, recording the
    state ``g_out * r`` and the target each learning step sees, and the readout ``z`` it
    starts from."""
    reservoir = make_reservoir(30, 0.3, 1.5, np.random.default_rng(0), 0.5)
    protocol = Protocol(kind="continuous", noise_std=0.05, learn_every=2)
    period = 40
    phase = 2 * np.pi * np.arange(period) / period
    targets = np.stack([np.sin(phase), 0.5 * np.cos(2 * phase)])
    readout = readout_state(30, 2, settings, protocol)
    readout.w[:] = w0[:, readout.target_index]
    network, scalars = network_state(reservoir), protocol_scalars(protocol)
    n_runs = readout.w.shape[1]
    x = np.tile(np.random.default_rng(1).standard_normal((30, 1)), (1, n_runs))
    rates = np.tanh(x)
    rng = np.random.default_rng(5)
    sq = np.zeros(n_runs)
    seen, f, z = [], [], []
    if not stepwise:
        kernels.run_continuous(network, readout, scalars, targets, x, rates, n_steps, 0, True,
                               rng, sq, np.zeros((0, n_runs)))
        return readout, protocol, None
    trace = np.zeros((1, n_runs))
    for t in range(n_steps):
        learns = t % protocol.learn_every == 0
        if learns:
            seen.append(network.g_out[:, None] * rates)
            f.append(targets[readout.target_index, t % period])
        kernels.run_continuous(network, readout, scalars, targets, x, rates, 1, t, True, rng,
                               sq, trace)
        if learns:
            z.append(trace[0].copy())
    return readout, protocol, (np.array(seen), np.array(f), np.array(z))


def library_readout(setting, protocol, w0, n_runs=None):
    if setting.rule == "delta":
        return DeltaReadout(setting.rate, n_runs=n_runs, w0=w0)
    if setting.rule == "rls":
        return RLSReadout(setting.rate, n_runs=n_runs, w0=w0)
    return BayesianReadout(setting.rate, setting.forgetting_tau,
                           step_time=protocol.learn_every * protocol.dt, n_runs=n_runs, w0=w0)


def test_library_gives_the_pipelines_weights_bit_for_bit():
    """Drive the pipeline's kernel (closed loop: the readout feeds back), record the states
    and targets of its learning steps, feed them to the library: same weights, rates, P
    and predictions, to the last bit, for every rule, unbatched and batched."""
    settings = STEP_TIME_SETTINGS
    w0 = np.random.default_rng(9).normal(0, 0.1 / np.sqrt(30), (30, 2))
    readout, protocol, (seen, f, z) = pipeline_run(400, settings, w0, stepwise=True)
    whole, _, _ = pipeline_run(400, settings, w0, stepwise=False)
    np.testing.assert_array_equal(readout.w, whole.w)  # recording changed nothing
    assert not readout.diverged.any()
    assert seen.shape == (200, 30, 8)
    n_settings = len(settings)
    for k, setting in enumerate(settings):
        runs = np.arange(k, readout.w.shape[1], n_settings)  # batch_layout: both targets
        batched = library_readout(setting, protocol, w0, n_runs=runs.size)
        prior = batched.partial_fit_block(np.ascontiguousarray(seen[:, :, runs]), f[:, runs])
        np.testing.assert_array_equal(batched.w, readout.w[:, runs])
        np.testing.assert_array_equal(prior, z[:, runs])
        for j, run in enumerate(runs):
            alone = library_readout(setting, protocol, w0[:, j])
            predictions = [alone.partial_fit(seen[t, :, run], f[t, run]) for t in range(200)]
            np.testing.assert_array_equal(alone.w, readout.w[:, run])
            np.testing.assert_array_equal(predictions, z[:, run])
            if setting.rule == "rls":
                np.testing.assert_array_equal(alone.P, readout.P[readout.rls_slot[run]])
            elif setting.rule == "bayes":
                np.testing.assert_array_equal(alone.alpha, readout.alpha[:, run])
        assert np.abs(readout.w[:, runs] - w0).max() > 1e-3  # it learned something


@pytest.mark.parametrize("rule", ["delta", "bayes", "rls"])
def test_batched_runs_equal_separate_unbatched_runs(rule):
    rng = np.random.default_rng(7)
    n, T, B = 16, 60, 3
    states = random_states(rng, T, n, B)
    targets = rng.standard_normal((T, B))
    rates = {"delta": [1e-3, 3e-3, 1e-2], "bayes": [1e-2, 0.1, 1.0], "rls": [0.3, 1.0, 3.0]}[rule]
    taus = [10.0, np.inf, 100.0]

    def make(rate, tau=None, **kw):
        if rule == "delta":
            return DeltaReadout(rate, **kw)
        if rule == "rls":
            return RLSReadout(rate, **kw)
        return BayesianReadout(rate, tau, step_time=2.0, **kw)

    batched = make(rates, taus if rule == "bayes" else None)
    assert batched.n_runs == B
    prior = batched.partial_fit_block(states, targets)
    for b in range(B):
        alone = make(rates[b], taus[b] if rule == "bayes" else None)
        assert alone.n_runs is None
        steps = [alone.partial_fit(states[t, :, b], targets[t, b]) for t in range(T)]
        np.testing.assert_array_equal(alone.w, batched.w[:, b])
        np.testing.assert_array_equal(steps, prior[:, b])
        if rule == "bayes":
            np.testing.assert_array_equal(alone.alpha, batched.alpha[:, b])
        if rule == "rls":
            np.testing.assert_array_equal(alone.P, batched.P[b])
    # a state shared by every run (several outputs of one state) is that state copied
    shared = make(rates, taus if rule == "bayes" else None, n_runs=B)
    copied = make(rates, taus if rule == "bayes" else None, n_runs=B)
    for t in range(T):
        shared.partial_fit(states[t, :, 0], targets[t])
        copied.partial_fit(np.repeat(states[t, :, :1], B, axis=1), targets[t])
    np.testing.assert_array_equal(shared.w, copied.w)
    block = make(rates, taus if rule == "bayes" else None, n_runs=B)
    block.partial_fit_block(states[:, :, 0], targets)
    np.testing.assert_array_equal(block.w, shared.w)


def test_predict_is_the_prediction_a_step_starts_from():
    rng = np.random.default_rng(8)
    states = random_states(rng, 30, 10)
    readout = BayesianReadout(0.1)
    readout.partial_fit_block(states[:20], np.sin(np.arange(20.0)))
    ahead = readout.predict_block(states[20:])
    assert readout.predict(states[20]) == ahead[0]
    assert readout.partial_fit(states[20], 1.0) == ahead[0]
    assert readout.n_steps == 21
    with pytest.raises(ValueError, match="read-only"):
        readout.w[0] = 1.0


def test_a_diverging_run_stops_alone_and_is_flagged():
    rng = np.random.default_rng(6)
    n, T = 50, 400
    states = np.tanh(rng.standard_normal((T, n, 2)))
    targets = rng.standard_normal((T, 2))
    readout = DeltaReadout([10.0, 1e-3])  # eta |s|^2 ~ 300: the first run blows up
    with pytest.warns(RuntimeWarning, match="run 0 diverged"):
        prior = readout.partial_fit_block(states, targets)
    np.testing.assert_array_equal(readout.diverged, [True, False])
    assert np.all(np.isnan(readout.w[:, 0])) and np.isnan(prior[-1, 0])
    alone = DeltaReadout(1e-3)
    alone.partial_fit_block(states[:, :, 1], targets[:, 1])
    np.testing.assert_array_equal(readout.w[:, 1], alone.w)
    z = readout.partial_fit(states[0], [0.0, 0.0])  # learning goes on for the other run
    assert np.isnan(z[0]) and np.isfinite(z[1]) and readout.n_steps == T + 1
    single = DeltaReadout(10.0)  # the same, one step at a time
    with pytest.warns(RuntimeWarning, match="the readout diverged"):
        steps = [single.partial_fit(states[t, :, 0], targets[t, 0]) for t in range(T)]
    np.testing.assert_array_equal(steps, prior[:, 0])
    assert single.diverged and np.all(np.isnan(single.w)) and single.n_steps == T


# --------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("make,message", [
    (lambda: DeltaReadout(0.0), "eta must be positive"),
    (lambda: DeltaReadout(-1e-3), "eta must be positive"),
    (lambda: DeltaReadout(float("nan")), "eta must be positive"),
    (lambda: DeltaReadout(np.inf), "eta must be positive and finite"),
    (lambda: BayesianReadout([0.1, 0.0]), r"eta0 must be positive.*\[0\.0\]"),
    (lambda: BayesianReadout(0.1, forgetting_tau=0.0), "forgetting_tau must be positive"),
    (lambda: BayesianReadout(0.1, 10.0, step_time=-1.0), "step_time must be positive"),
    (lambda: BayesianReadout(0.1, step_time=[1.0, 2.0]), "step_time must be one"),
    (lambda: RLSReadout("big"), "alpha must be a positive number"),
    (lambda: RLSReadout([[1.0]]), "alpha must be a positive number or a 1-D array"),
    (lambda: RLSReadout(1.0, n_features=0), "n_features must be an integer >= 1"),
    (lambda: RLSReadout(1.0, n_runs=2.5), "n_runs must be an integer >= 1"),
    (lambda: BayesianReadout([0.1, 0.2], n_runs=3), "eta0 has 2 runs but the readout has 3"),
    (lambda: DeltaReadout(0.1, n_features=3, w0=np.zeros(4)), "w0 has 4 features"),
    (lambda: DeltaReadout(0.1, w0=[0.0, np.nan]), "w0 contains non-finite"),
])
def test_bad_parameters_raise_config_errors_naming_them(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_bad_states_and_targets_raise_before_anything_is_learned():
    readout = BayesianReadout(0.1, n_features=4)
    readout.partial_fit(np.ones(4), 1.0)
    w, alpha = readout.w.copy(), readout.alpha.copy()
    cases = [
        (lambda: readout.partial_fit(np.ones(5), 1.0),
         r"state has shape \(5,\); expected \(4,\) for this unbatched readout"),
        (lambda: readout.partial_fit(np.ones((4, 2)), 1.0), r"state has shape \(4, 2\)"),
        (lambda: readout.partial_fit(np.ones(4), [1.0, 2.0]),
         r"target has shape \(2,\); expected a scalar"),
        (lambda: readout.partial_fit([0, 1, np.nan, 0], 1.0), "state contains non-finite"),
        (lambda: readout.partial_fit([0, 1, np.inf, 0], 1.0), "state contains non-finite"),
        (lambda: readout.partial_fit(np.ones(4), np.nan), "target is not finite"),
        (lambda: readout.partial_fit(["a", "b", "c", "d"], 1.0), "state must be numeric"),
        (lambda: readout.partial_fit_block(np.ones((3, 4)), np.ones(2)),
         r"targets has shape \(2,\); expected \(3,\) for 3 steps"),
        (lambda: readout.predict(np.ones(3)), r"state has shape \(3,\)"),
        (lambda: readout.predict_block(np.ones(4)), r"states has shape \(4,\)"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    np.testing.assert_array_equal(readout.w, w)
    np.testing.assert_array_equal(readout.alpha, alpha)
    assert readout.n_steps == 1 and not readout.diverged
    block = np.ones((6, 4))
    block[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"states\[3\] contains non-finite values; the 3 "
                                         r"steps before it were applied"):
        readout.partial_fit_block(block, np.zeros(6))
    assert readout.n_steps == 4


def test_bad_batched_input_names_the_run():
    readout = RLSReadout([1.0, 2.0, 3.0])
    readout.partial_fit(np.ones((5, 3)), [0.0, 1.0, 2.0])
    state = np.ones((5, 3))
    state[1, 2] = np.nan
    with pytest.raises(ValueError, match="state contains non-finite values \\(run 2\\)"):
        readout.partial_fit(state, [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="target is not finite \\(runs 0, 1\\)"):
        readout.partial_fit(np.ones((5, 3)), [np.nan, np.inf, 2.0])
    with pytest.raises(ValueError, match=r"\(5, 3\) \(one state per run\) or \(5,\) \(shared"):
        readout.partial_fit(np.ones((3, 5)), 0.0)
    assert readout.n_steps == 1


# --------------------------------------------------------------------------------------
# reservoirpy


def test_synlearn_does_not_need_reservoirpy():
    code = ("import sys; import synlearn.reservoir as r; r.BayesianReadout(0.1)."
            "partial_fit([1.0], 1.0); assert 'reservoirpy' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_reservoirpy_model_trains_the_bayesian_readout_online():
    """Reservoir >> BayesianReadoutNode, trained online by reservoirpy's Model: its weights
    are synlearn's BayesianReadout fed the same reservoir states (plus a bias input of 1)."""
    pytest.importorskip("reservoirpy", minversion="0.4")
    from reservoirpy.nodes import Reservoir

    from synlearn.reservoir import BayesianReadoutNode

    T = 400
    u = np.sin(np.arange(T + 1) / 5.0)[:, None]
    X, Y = u[:-1], np.hstack([u[1:], u[1:] ** 2])  # two outputs
    reservoir = Reservoir(60, lr=0.3, sr=0.9, seed=1)
    states = reservoir.run(X)
    reservoir.reset()
    node = BayesianReadoutNode(eta0=0.05, forgetting_tau=200.0)
    model = reservoir >> node
    online = model.partial_fit(X, Y)
    assert node.Wout.shape == (60, 2) and node.bias.shape == (2,)
    assert online.shape == (T, 2)

    library = BayesianReadout(0.05, 200.0, n_runs=2)
    library.partial_fit_block(np.hstack([states, np.ones((T, 1))]), Y)
    np.testing.assert_array_equal(node.Wout, library.w[:60])
    np.testing.assert_array_equal(node.bias, library.w[60])
    np.testing.assert_array_equal(node.alpha, library.alpha[:60])
    assert np.mean((online[-100:] - Y[-100:]) ** 2) < 0.5 * np.mean(Y[-100:] ** 2)  # it learned

    # the offline route (Model.fit -> node.fit -> node.partial_fit) from the prior again
    offline = Reservoir(60, lr=0.3, sr=0.9, seed=1) >> BayesianReadoutNode(eta0=0.05,
                                                                           forgetting_tau=200.0)
    offline.fit(X, Y)
    np.testing.assert_array_equal(offline.nodes[1].Wout, node.Wout)
    np.testing.assert_array_equal(offline.nodes[1].bias, node.bias)
    # running the trained node is the library's prediction
    np.testing.assert_array_equal(node.run(states[:5]),
                                  library.predict_block(np.hstack([states[:5], np.ones((5, 1))])))
    assert model.run(X[:5]).shape == (5, 2)


def test_reservoirpy_node_matches_lms_interface():
    pytest.importorskip("reservoirpy", minversion="0.4")
    from reservoirpy.nodes import LMS

    from synlearn.reservoir import BayesianReadoutNode

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = x @ np.array([[10.0], [-0.2], [7.0]]) + 12.0
    for node in (LMS(1e-1), BayesianReadoutNode(eta0=1.0)):
        first = node.partial_fit(x[:100], y[:100])
        node.partial_fit(x[100:], y[100:])
        assert first.shape == (100, 1) and node.Wout.shape == (3, 1) and node.bias.shape == (1,)
        assert np.allclose(node.run(x[:4]), y[:4], atol=0.5)
        assert node.step(x[0]).shape == (1,)
    # a fixed (not learned) bias, and the node's step-by-step path equals its block path
    fixed = BayesianReadoutNode(eta0=1.0, bias=np.array([12.0]), fit_bias=False)
    stepped = BayesianReadoutNode(eta0=1.0, bias=np.array([12.0]), fit_bias=False)
    fixed.partial_fit(x, y)
    stepped.initialize(x, y)
    after = [stepped._learning_step(x[t], y[t]) for t in range(200)]
    np.testing.assert_array_equal(fixed.Wout, stepped.Wout)
    np.testing.assert_array_equal(fixed.bias, [12.0])
    assert np.allclose(after[-1], y[-1], atol=0.5)
    with pytest.raises(ValueError, match="must not be None"):
        fixed.partial_fit(x, None)
    with pytest.raises(ConfigError, match="eta0 must be positive"):
        BayesianReadoutNode(eta0=0.0)


# --------------------------------------------------------------------------------------
# The README example


def readme_example() -> str:
    """The code block after ``<!-- readout-example -->`` in README.md."""
    match = re.search(r"<!-- readout-example -->.*?```python\n(.*?)```", README.read_text(), re.S)
    assert match, "no ```python block after <!-- readout-example --> in README.md"
    return match.group(1)


def test_readme_example_runs_and_learns(capsys):
    namespace = {}
    exec(compile(readme_example(), "README example", "exec"), namespace)
    errors = np.array(namespace["sq_errors"])
    assert np.all(np.isfinite(errors))
    assert errors[-300:].mean() < 0.3 * errors[:300].mean()
    printed = capsys.readouterr().out
    assert printed.startswith("MSE, first and last 300 steps:") and "per-synapse rates" in printed
