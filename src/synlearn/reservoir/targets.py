"""Target signals for readout learning: random periodic functions and sums of sines."""

from __future__ import annotations

import numpy as np

from ..core.errors import ConfigError, require_positive

# At l = 0.1 the coefficients fall below 1e-16 of the total by harmonic 86, far inside
# the grid's 2048, so the transform is exact up to rounding for every allowed l.
_SPECTRUM_GRID = 4096
_SMALLEST_LENGTH_SCALE = 0.1


def periodic_kernel(lag: np.ndarray, period: float, length_scale: float) -> np.ndarray:
    """The periodic (exp-sine-squared) kernel ``k(s) = exp(-2 sin^2(pi s / P) / l^2)``.

    Parameters
    ----------
    lag : array_like
        Time lags s, in the same unit as ``period``.
    period, length_scale : float
        P and l (both > 0).
    """
    return np.exp(-2.0 * np.sin(np.pi * np.asarray(lag) / period) ** 2 / length_scale**2)


def periodic_kernel_spectrum(length_scale: float) -> np.ndarray:
    """Fourier cosine coefficients ``a_n`` with ``k(s) = sum_n a_n cos(2 pi n s / P)``.

    The coefficients are those of ``exp(cos(theta) / l^2 - 1 / l^2)``, i.e.
    ``a_0 = exp(-1/l^2) I_0(1/l^2)`` and ``a_n = 2 exp(-1/l^2) I_n(1/l^2)`` (modified
    Bessel functions), computed here exactly up to rounding by a discrete Fourier
    transform of one period: the coefficients decay faster than geometrically, so
    aliasing on a 4096-point grid is far below double precision.

    Returns
    -------
    numpy.ndarray
        Positive ``a_0 .. a_K``, truncated at the first below 1e-16 of their sum
        (the rounding floor of the transform).
    """
    require_positive("length_scale", length_scale)
    if length_scale < _SMALLEST_LENGTH_SCALE:
        # Narrower kernels need more harmonics than the grid resolves without aliasing.
        raise ConfigError(f"length_scale must be >= {_SMALLEST_LENGTH_SCALE}, got {length_scale}")
    theta = 2.0 * np.pi * np.arange(_SPECTRUM_GRID) / _SPECTRUM_GRID
    kernel = np.exp((np.cos(theta) - 1.0) / length_scale**2)
    coefs = np.fft.rfft(kernel).real / _SPECTRUM_GRID
    coefs[1:] *= 2.0
    negligible = np.flatnonzero(coefs < 1e-16 * coefs.sum())
    return coefs[: int(negligible[0])]


def sample_periodic_gp(
    n_samples: int,
    n_steps: int,
    length_scale: float,
    rng: np.random.Generator,
    normalise: bool = True,
) -> np.ndarray:
    """Draw periodic Gaussian-process samples over exactly one period of ``n_steps``.

    Exact sampling through the kernel's Fourier series: independent Gaussian cosine and
    sine coefficients per harmonic with variance ``a_n`` (``periodic_kernel_spectrum``),
    so the covariance of ``f(t), f(t')`` is exactly ``k(t - t')`` with no ``T x T``
    factorisation.

    Parameters
    ----------
    n_samples : int
        Number of independent functions.
    n_steps : int
        Samples per period; the period P is ``n_steps`` steps.
    length_scale : float
        l of the periodic kernel (dimensionless, relative to the period through
        ``sin(pi s / P)``).
    rng : numpy.random.Generator
    normalise : bool
        Subtract each sample's mean and divide by its standard deviation, so every
        target has zero mean and unit variance over its period and a test MSE of 1
        is the MSE of a silent readout.

    Returns
    -------
    numpy.ndarray, shape (n_samples, n_steps)
    """
    if n_samples < 1 or n_steps < 2:
        raise ConfigError(f"need n_samples >= 1 and n_steps >= 2, got {n_samples}, {n_steps}")
    spectrum = periodic_kernel_spectrum(length_scale)
    harmonics = np.arange(spectrum.size)
    phase = 2.0 * np.pi * np.outer(harmonics, np.arange(n_steps)) / n_steps
    scale = np.sqrt(spectrum)[None, :]
    cos_coef = rng.standard_normal((n_samples, spectrum.size)) * scale
    sin_coef = rng.standard_normal((n_samples, spectrum.size)) * scale
    sin_coef[:, 0] = 0.0
    samples = cos_coef @ np.cos(phase) + sin_coef @ np.sin(phase)
    if normalise:
        samples = _standardise(samples)
    return samples


def four_sines(n_steps_per_second: float, duration_s: float = 1.2) -> np.ndarray:
    """The periodic target of Sussillo & Abbott (2009, Fig. 2): four sines.

    Periods 1.2, 0.6, 0.4 and 0.3 s with amplitudes 1, 1/2, 1/6 and 1/3 (their
    harmonics 1-4 of 1.2 s), normalised to zero mean and unit variance.

    Parameters
    ----------
    n_steps_per_second : float
        Sampling rate (1 / dt).
    duration_s : float
        Length of the returned signal in seconds; 1.2 s is one period.
    """
    require_positive("n_steps_per_second", n_steps_per_second)
    t = np.arange(int(round(duration_s * n_steps_per_second))) / n_steps_per_second
    signal = sum(
        amp * np.sin(2.0 * np.pi * t / period)
        for amp, period in ((1.0, 1.2), (1 / 2, 0.6), (1 / 6, 0.4), (1 / 3, 0.3))
    )
    return _standardise(signal[None, :])[0]


def _standardise(samples: np.ndarray) -> np.ndarray:
    centred = samples - samples.mean(axis=1, keepdims=True)
    return centred / centred.std(axis=1, keepdims=True)
