import numpy as np
import pytest

from synlearn.reservoir.targets import (
    four_sines, periodic_kernel, periodic_kernel_spectrum, sample_periodic_gp,
)
from synlearn.core.errors import ConfigError


@pytest.mark.parametrize("length_scale", [0.3, 0.5, 1.0])
def test_spectrum_reproduces_the_kernel(length_scale):
    coefs = periodic_kernel_spectrum(length_scale)
    lag = np.linspace(0, 1, 101)
    series = coefs @ np.cos(2 * np.pi * np.outer(np.arange(coefs.size), lag))
    np.testing.assert_allclose(series, periodic_kernel(lag, 1.0, length_scale), atol=1e-14)
    # a_0 = exp(-1/l^2) I_0(1/l^2), the Bessel form of the series
    z = 1 / length_scale**2
    assert coefs[0] == pytest.approx(np.exp(-z) * np.i0(z), rel=1e-12)


def test_gp_samples_have_the_kernel_as_covariance():
    n_steps = 40
    samples = sample_periodic_gp(20000, n_steps, 0.5, np.random.default_rng(0), normalise=False)
    empirical = samples.T @ samples / samples.shape[0]
    lags = np.subtract.outer(np.arange(n_steps), np.arange(n_steps))
    expected = periodic_kernel(lags, n_steps, 0.5)
    # standard error of a covariance estimate from 20000 samples is <= sqrt(2/20000) = 0.01
    assert np.abs(empirical - expected).max() < 0.05
    assert np.abs(samples.mean(axis=0)).max() < 0.05


def test_gp_samples_are_periodic_and_normalised():
    samples = sample_periodic_gp(5, 50, 0.5, np.random.default_rng(1))
    np.testing.assert_allclose(samples.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(samples.std(axis=1), 1, rtol=1e-12)
    raw = sample_periodic_gp(1, 100, 0.5, np.random.default_rng(2), normalise=False)[0]
    twice = sample_periodic_gp(1, 200, 0.5, np.random.default_rng(2), normalise=False)[0]
    np.testing.assert_allclose(twice[::2], raw, atol=1e-12)  # the same function, finer grid


def test_four_sines_is_periodic_with_the_published_harmonics():
    one = four_sines(1000.0)
    assert one.size == 1200
    two = four_sines(1000.0, 2.4)
    np.testing.assert_allclose(two[:1200], two[1200:], atol=1e-9)
    power = np.abs(np.fft.rfft(one)) ** 2
    assert set(np.argsort(power)[-4:]) == {1, 2, 3, 4}


def test_bad_target_parameters():
    with pytest.raises(ConfigError, match="length_scale"):
        sample_periodic_gp(1, 10, 0.0, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="length_scale must be >= 0.1"):
        periodic_kernel_spectrum(0.01)
    with pytest.raises(ConfigError, match="n_steps >= 2"):
        sample_periodic_gp(1, 1, 0.5, np.random.default_rng(0))
