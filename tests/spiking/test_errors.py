"""Bad input raises ConfigError naming the key or the problem."""

import numpy as np
import pytest

from synlearn.core.errors import ConfigError
from synlearn.spiking import learning, model, stairs


@pytest.fixture(scope="module")
def setup():
    params = model.make_params()
    weights = model.init_weights(4, 3, np.random.default_rng(0))
    x = np.zeros((200, 4), dtype=np.uint8)
    return weights, params, x


@pytest.mark.parametrize("key, value, match", [
    ("dt_ms", 0.0, "dt_ms"),
    ("tau_syn_ms", -1.0, "tau_syn_ms"),
    ("tau_adapt_ms", float("nan"), "tau_adapt_ms"),
    ("rho_0_hz", 0.0, "rho_0_hz"),
    ("delta_u", -2.0, "delta_u"),
    ("eta_0", float("inf"), "eta_0"),
    ("theta", "high", "theta"),
])
def test_bad_params(key, value, match):
    with pytest.raises(ConfigError, match=match):
        model.make_params(**{key: value})


@pytest.mark.parametrize("kwargs, match", [
    (dict(mu_M=-1e-3), "mu_M"),
    (dict(mu_Q=float("nan")), "mu_Q"),
    (dict(baseline_tau=0.0), "baseline_tau"),
    (dict(baseline_tau=0.5), "baseline_tau"),
])
def test_bad_rule(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        model.make_rule(**kwargs)


def test_bad_weights():
    n, h = 5, 2
    good = dict(W_M=np.zeros((n, n)), b_M=np.zeros(n), W_Q=np.zeros((n, h)), b_Q=np.zeros(h))
    model.make_weights(**good)
    for field, value, match in (("W_M", np.zeros((n, n + 1)), "W_M must have shape"),
                                ("W_Q", np.zeros((h, n)), "W_Q must have shape"),
                                ("b_M", np.zeros((n, 1)), "one-dimensional"),
                                ("W_M", np.full((n, n), np.nan), "W_M must be finite"),
                                ("b_Q", np.zeros(n), "at least one visible")):
        with pytest.raises(ConfigError, match=match):
            model.make_weights(**{**good, field: value})
    with pytest.raises(ConfigError, match="n_hidden"):
        model.init_weights(3, 0, np.random.default_rng(0))


def test_bad_calls(setup):
    weights, params, x = setup
    rng = np.random.default_rng(1)
    with pytest.raises(ConfigError, match="visible neurons"):
        learning.free_energy(weights, params, np.zeros((200, 5), dtype=np.uint8), rng)
    with pytest.raises(ConfigError, match="0/1"):
        learning.free_energy(weights, params, np.full((200, 4), 2), rng)
    with pytest.raises(ConfigError, match="x_visible must be a 2-dimensional"):
        learning.free_energy(weights, params, np.zeros(200), rng)
    with pytest.raises(ConfigError, match="rng must be a numpy.random.Generator"):
        learning.log_likelihood_is(weights, params, x, 10, 1234)
    with pytest.raises(ConfigError, match="K must be a positive integer"):
        learning.log_likelihood_is(weights, params, x, 0, rng)
    with pytest.raises(ConfigError, match="n_samples"):
        learning.free_energy(weights, params, x, rng, n_samples=2.5)
    with pytest.raises(ConfigError, match="n_bins"):
        learning.sleep(weights, params, -3, rng)
    with pytest.raises(ConfigError, match="params must be"):
        learning.sleep(weights, {"dt_ms": 1.0}, 10, rng)
    with pytest.raises(ConfigError, match="weights.W_M must be a C-contiguous float64"):
        learning.sleep(weights._replace(W_M=weights.W_M.astype(np.float32)), params, 10, rng)
    with pytest.raises(ConfigError, match="hidden has"):
        learning.evaluate(weights, params, x, np.zeros((100, 3), dtype=np.uint8))


def test_bad_training_input(setup):
    weights, params, x = setup
    rng = np.random.default_rng(2)
    with pytest.raises(ConfigError, match="batch_ms = 200.5 ms is not a whole number of bins"):
        learning.train(weights, params, np.zeros((401, 4), dtype=np.uint8), rng,
                       batch_ms=200.5)
    with pytest.raises(ConfigError, match="not a whole number of batches of 200 bins"):
        learning.train(weights, params, np.zeros((401, 4), dtype=np.uint8), rng)
    with pytest.raises(ConfigError, match="data has 6 neurons .* weights have 4 visible"):
        learning.train(weights, params, np.zeros((2, 200, 6), dtype=np.uint8), rng)
    with pytest.raises(ConfigError, match="batch_ms = 100"):
        learning.train(weights, params, np.zeros((2, 200, 4), dtype=np.uint8), rng,
                       batch_ms=100)
    with pytest.raises(ConfigError, match="rule must be"):
        learning.train(weights, params, np.zeros((2, 200, 4), dtype=np.uint8), rng,
                       rule=(1e-3, 1e-4, True, 10.0))
    coarse = model.make_params(dt_ms=3.0)
    with pytest.raises(ConfigError, match="dt = 3 ms"):
        learning.train(weights, coarse, np.zeros((600, 4), dtype=np.uint8), rng)


@pytest.mark.parametrize("kwargs, match", [
    (dict(step_ms=(30.0, 10.0)), "step_ms"),
    (dict(step_ms=(0.2, 1.0)), "step_ms"),
    (dict(active_hz=-80.0), "active_hz"),
    (dict(block_size=0), "block_size"),
    (dict(n_batches=1.5), "n_batches"),
])
def test_bad_stairs(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        stairs.make_stairs(np.random.default_rng(0), 200, **kwargs)
