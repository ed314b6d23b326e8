"""Gaussian kernels, HSIC, the window objective and the global signal xi.

Daruwalla & Lipasti (2024) train each hidden layer l of an MLP on the information
bottleneck of a window of the B most recent samples,

    L_l = HSIC(X, Z_l) - gamma HSIC(Y, Z_l),    HSIC(A, C) = tr(K_A H K_C H) / (B - 1)^2,

with X the network's input (for every layer), Y the one-hot labels, Z_l the layer's
post-LayerNorm output, ``H = I - 11^T / B`` and Gaussian kernels
``k(a, a') = exp(-|a - a'|^2 / (2 s^2))``, ``s = sigma sqrt(dim)`` (one sigma each for x,
y and z). The window's rows are its samples; the last row is the current sample,
index N = B.

Sign convention
---------------
``xi`` estimates the gradient ``dL / dz_N`` of the window objective with respect to the
current sample's layer output, and learning *descends* it: the parameter update is
``-lr (dz_N / dtheta)^T xi`` (through the optimiser). All three variants below carry
this sign, so they can be compared by their cosine alignment.

The exact gradient. With ``M = H (K_x - gamma K_y) H`` (symmetric),
``L = tr(M K_z) / (N - 1)^2``. Only row and column N of ``K_z`` depend on ``z_N``, with
``d k_z(z_N, z_j) / dz_N = -k_z(z_N, z_j) (z_N - z_j) / s_z^2`` and ``k_z(z_N, z_N) = 1``,
so by the symmetry of M and K_z

    dL / dz_N = -(1 / (N - 1)^2) sum_j M_Nj alpha_j,
    alpha_j = (2 / s_z^2) k_z(z_N, z_j) (z_N - z_j)    (alpha_N = 0).

The published signals replace the row ``M_Nj`` by diagonal terms of
``kbar = K - rowmean(K)``, ``c_i = kbar^x_ii - gamma kbar^y_ii``, and
``alpha_bar = (1/N) sum_{j<N} alpha_j`` (N - 1 terms divided by N, as in the published
code):

- ``release`` (behind every published figure): ``xi = c_N alpha_bar / (N - 1)^2``;
- ``revised`` (the repository's later fix):
  ``xi = [(1/N) sum_{i<N} c_i alpha_i + c_N alpha_bar] / (N - 1)^2``;
- ``exact``: ``dL / dz_N`` above.

Why the published signals carry the gradient's sign: M is centred, so
``sum_j M_Nj = 0`` and ``sum_{j<N} M_Nj = -M_NN``; with every ``M_Nj`` (j < N) replaced
by that mean, ``dL / dz_N ~ N M_NN alpha_bar / (N - 1)^3``, and ``M_NN`` is the doubly
centred counterpart of ``c_N``. On windows of 64 samples of the linear task through an
untrained 2-4-2 network their mean cosine with the exact gradient is 0.3-0.5 (positive
in 69-90% of windows, six seeds; ``tests/hsic/test_objective.py``). Neither equals it:
neither weights sample j by whether it shares the current sample's label (release
weights all alike, revised by ``c_j``, a property of j alone), which the gradient does
through ``M_Nj``.

All three are ``xi = sum_j beta_j alpha_j`` with weights ``beta`` that depend on the
inputs and labels only (``signal_coefficients``), shared by every layer of a window.

References
----------
Daruwalla, K. & Lipasti, M. (2024). Information bottleneck-based Hebbian learning rule
naturally ties working memory and synaptic updates. Front. Comput. Neurosci. 18,
1240348 (Methods: the HSIC objective and the global signal).
Gretton, A. et al. (2005). Measuring statistical dependence with Hilbert-Schmidt norms.
ALT 2005, 63-77 (the biased HSIC estimate).
"""

from __future__ import annotations

import math

import numpy as np

from . import kernels

FLOAT = np.float64
VARIANTS = tuple(kernels.VARIANT_CODES)


def kernel_scale(sigma: float, dim: int) -> float:
    """The kernel width ``s = sigma sqrt(dim)`` of Daruwalla & Lipasti (2024)."""
    return float(sigma) * math.sqrt(dim)


def _as_rows(samples) -> np.ndarray:
    rows = np.ascontiguousarray(samples, dtype=FLOAT)
    if rows.ndim != 2:
        raise ValueError(f"expected a (samples, dim) array, got shape {rows.shape}")
    return rows


def gaussian_kernel(samples, sigma: float) -> np.ndarray:
    """The Gaussian kernel matrix of a window.

    ``K_ij = exp(-|a_i - a_j|^2 / (2 s^2))`` with ``s = sigma sqrt(dim)``
    (Daruwalla & Lipasti 2024, Methods).

    Parameters
    ----------
    samples : ndarray, shape (B, dim)
        One sample per row.
    sigma : float
        The width per dimension.

    Returns
    -------
    ndarray, shape (B, B), float64
        Symmetric, positive semi-definite, unit diagonal. The squared distances come
        from the Gram matrix ``A A^T`` (BLAS), so they carry an absolute rounding error
        of order ``1e-16 |a|^2``.
    """
    rows = _as_rows(samples)
    out = np.empty((rows.shape[0], rows.shape[0]), dtype=FLOAT)
    kernels.gaussian_from_gram(rows @ rows.T, kernel_scale(sigma, rows.shape[1]), out)
    return out


def centering_matrix(n: int) -> np.ndarray:
    """``H = I - 11^T / n``."""
    return np.eye(n, dtype=FLOAT) - np.full((n, n), 1.0 / n, dtype=FLOAT)


def hsic(k_a: np.ndarray, k_c: np.ndarray) -> float:
    """The biased HSIC estimate ``tr(K_A H K_C H) / (B - 1)^2`` (Gretton et al. 2005).

    Parameters
    ----------
    k_a, k_c : ndarray, shape (B, B)
        Kernel matrices of the same window.

    Returns
    -------
    float
    """
    n = k_a.shape[0]
    # tr(K_A H K_C H) = sum_ij (H K_A H)_ij (K_C)_ij for symmetric kernels.
    centred = k_a - k_a.mean(axis=0, keepdims=True)
    centred = centred - centred.mean(axis=1, keepdims=True)
    return float(np.sum(centred * k_c) / (n - 1.0) ** 2)


def window_objective(inputs, targets, layer_outputs, gamma: float, sigma_x: float,
                     sigma_y: float, sigma_z: float) -> float:
    """``HSIC(X, Z) - gamma HSIC(Y, Z)`` over one window (Daruwalla & Lipasti 2024).

    Parameters
    ----------
    inputs : ndarray, shape (B, d_x)
        The network's inputs X.
    targets : ndarray, shape (B, classes)
        The one-hot labels Y.
    layer_outputs : ndarray, shape (B, d_z)
        One layer's post-LayerNorm outputs Z.
    gamma, sigma_x, sigma_y, sigma_z : float

    Returns
    -------
    float
    """
    k_z = gaussian_kernel(layer_outputs, sigma_z)
    return (hsic(gaussian_kernel(inputs, sigma_x), k_z)
            - gamma * hsic(gaussian_kernel(targets, sigma_y), k_z))


def signal_coefficients(k_x: np.ndarray, k_y: np.ndarray, gamma: float,
                        variant: str) -> np.ndarray:
    """The weights ``beta`` of ``xi = sum_j beta_j alpha_j`` for one window.

    Parameters
    ----------
    k_x, k_y : ndarray, shape (B, B)
        The window's input and label kernels (``gaussian_kernel``).
    gamma : float
        The weight of ``HSIC(Y, Z)``.
    variant : {"release", "revised", "exact"}
        See the module docstring.

    Returns
    -------
    ndarray, shape (B,), float64
        ``beta_N = 0``; for ``j < N`` (with ``N = B``):
        release ``c_N / (N (N-1)^2)``, revised ``(c_j + c_N) / (N (N-1)^2)``,
        exact ``-[H (K_x - gamma K_y) H]_Nj / (N-1)^2``.
    """
    if variant not in kernels.VARIANT_CODES:
        raise ValueError(f"unknown xi variant {variant!r}; expected one of {VARIANTS}")
    k_x = np.ascontiguousarray(k_x, dtype=FLOAT)
    k_y = np.ascontiguousarray(k_y, dtype=FLOAT)
    if k_x.shape[0] < 2 or k_x.shape != k_y.shape or k_x.shape[0] != k_x.shape[1]:
        raise ValueError(f"need two (B, B) kernels with B >= 2, got {k_x.shape}, {k_y.shape}")
    out = np.empty(k_x.shape[0], dtype=FLOAT)
    kernels.signal_coefficients(k_x, k_y, float(gamma), kernels.VARIANT_CODES[variant], out)
    return out


def global_signal(layer_outputs, coefficients: np.ndarray, sigma_z: float) -> np.ndarray:
    """The global signal ``xi`` of one layer for the window's current (last) sample.

    ``xi = sum_{j<N} beta_j alpha_j``, ``alpha_j = (2 / s_z^2) k_z(z_N, z_j) (z_N - z_j)``,
    ``s_z = sigma_z sqrt(d_z)`` (Daruwalla & Lipasti 2024, Methods; the sign convention and
    the variants are in the module docstring). Only the last row of ``K_z`` is needed.

    Parameters
    ----------
    layer_outputs : ndarray, shape (B, d_z)
        The layer's post-LayerNorm outputs over the window, current sample last.
    coefficients : ndarray, shape (B,)
        ``signal_coefficients`` of the window.
    sigma_z : float

    Returns
    -------
    ndarray, shape (d_z,), float64
        An estimate of ``d(HSIC(X, Z) - gamma HSIC(Y, Z)) / dz_N``, to be descended.
    """
    z = _as_rows(layer_outputs)
    out = np.empty(z.shape[1], dtype=FLOAT)
    kernels.global_signal(z, np.ascontiguousarray(coefficients, dtype=FLOAT),
                          kernel_scale(sigma_z, z.shape[1]), out)
    return out
