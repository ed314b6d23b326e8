"""The Bernoulli log-likelihood against its continuous-time (point-process) limit, and
against the kernels' log p."""

import math

import numpy as np

from synlearn.spiking import learning, model

from .reference import expected_count, random_network, traces_twin

DURATION = 0.6  # s: three periods of the intensity
PERIOD = 0.2
SPIKE_TIMES = [np.array([0.0113, 0.0571, 0.1304, 0.2468, 0.3392, 0.4107, 0.5555]),
               np.array([0.0333, 0.1711, 0.2002, 0.3749, 0.4913, 0.5890])]
RATES = np.array([40.0, 25.0])  # Hz, the mean of each neuron's intensity


def rho(t):
    """A fixed smooth intensity trajectory (Hz), shape (len(t), 2)."""
    phase = 2 * np.pi * np.asarray(t)[:, None] / PERIOD
    return RATES * (1.0 + 0.5 * np.sin(phase + np.array([0.0, 1.0])))


def exact_continuous():
    """``sum_i [sum_s log rho_i(t_s) - int_0^D rho_i dt]``; D is whole periods."""
    spikes = sum(float(np.sum(np.log(rho(times)[:, i]))) for i, times in enumerate(SPIKE_TIMES))
    return spikes - float(np.sum(RATES)) * DURATION


def discretised(dt_ms):
    dt = dt_ms * 1e-3
    n_bins = round(DURATION / dt)
    raster = np.zeros((n_bins, 2), dtype=np.uint8)
    for i, times in enumerate(SPIKE_TIMES):
        raster[np.floor(times / dt).astype(int), i] = 1
    assert raster.sum() == sum(len(t) for t in SPIKE_TIMES)  # one spike a bin at most
    return raster, rho((np.arange(n_bins) + 0.5) * dt)


def test_bernoulli_converges_to_the_continuous_limit():
    n_spikes = sum(len(t) for t in SPIKE_TIMES)
    dts = [4.0 / 2 ** k for k in range(7)]  # 4 ms down to 1/16 ms
    on_grid, to_exact = [], []
    for dt_ms in dts:
        raster, intensity = discretised(dt_ms)
        bernoulli = model.bernoulli_log_likelihood(raster, intensity, dt_ms)
        continuous = model.continuous_log_likelihood(raster, intensity, dt_ms)
        # Per bin the two differ by X (a / 2 + O(a^2)), a = rho dt.
        half_counts = 0.5 * float(np.sum(raster * intensity)) * dt_ms * 1e-3
        assert abs((bernoulli - continuous) - half_counts) < 0.02 * half_counts
        on_grid.append(bernoulli - continuous)
        to_exact.append(bernoulli - n_spikes * math.log(dt_ms * 1e-3) - exact_continuous())
    on_grid, to_exact = np.array(on_grid), np.abs(to_exact)
    # Halving dt halves the difference (linear convergence).
    np.testing.assert_allclose(on_grid[:-1] / on_grid[1:], 2.0, rtol=0.03)
    assert np.all(np.diff(to_exact[1:]) < 0)
    assert to_exact[-1] < to_exact[0] / 20
    slope = np.polyfit(np.log(dts), np.log(to_exact), 1)[0]
    assert 0.8 < slope < 1.2


def test_kernel_log_p_is_the_bernoulli_log_likelihood_of_its_intensities():
    weights, params = random_network(3, 2, seed=41, weight_std=0.6)
    rng = np.random.default_rng(42)
    raster = (rng.random((50, 5)) < 0.3).astype(np.uint8)
    phi = traces_twin(raster, params.decay_syn)
    psi = traces_twin(raster, params.decay_adapt)
    u_M = phi @ weights.W_M + params.eta_0 * psi + weights.b_M
    u_Q = phi @ weights.W_Q + params.eta_0 * psi[:, 3:] + weights.b_Q
    dt_ms = params.dt * 1e3
    rho_M = expected_count(u_M, params) / params.dt
    rho_Q = expected_count(u_Q, params) / params.dt
    evaluation = learning.evaluate(weights, params, raster[:, :3], raster[:, 3:])
    np.testing.assert_allclose(evaluation.log_p[0],
                               model.bernoulli_log_likelihood(raster, rho_M, dt_ms),
                               rtol=1e-11)
    np.testing.assert_allclose(evaluation.log_q[0],
                               model.bernoulli_log_likelihood(raster[:, 3:], rho_Q, dt_ms),
                               rtol=1e-11)
