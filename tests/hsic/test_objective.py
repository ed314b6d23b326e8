"""Kernels, HSIC and the three global signals against closed forms and finite differences."""

import math

import numpy as np
import pytest

from synlearn.hsic import kernels
from synlearn.hsic.layers import make_mlp
from synlearn.hsic.objective import (VARIANTS, centering_matrix, gaussian_kernel, global_signal,
                                     hsic, signal_coefficients, window_objective)
from synlearn.hsic.tasks import linear_task

from .reference import (gaussian_kernel_twin, global_signal_twin, signal_coefficients_twin)


def direct_kernel(a, sigma):
    """The Gaussian kernel by a double loop, ``s = sigma sqrt(dim)``."""
    s = sigma * math.sqrt(a.shape[1])
    n = a.shape[0]
    return np.array([[math.exp(-np.sum((a[i] - a[j]) ** 2) / (2 * s * s)) for j in range(n)]
                     for i in range(n)])


def direct_hsic(ka, kc):
    n = ka.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    return np.trace(ka @ h @ kc @ h) / (n - 1) ** 2


def direct_objective(x, y, z, gamma, sx, sy, sz):
    kz = direct_kernel(z, sz)
    return direct_hsic(direct_kernel(x, sx), kz) - gamma * direct_hsic(direct_kernel(y, sy), kz)


def small_window(rng, n=5, dx=3, classes=3, dz=4):
    x = rng.standard_normal((n, dx))
    y = np.eye(classes)[rng.integers(0, classes, n)]
    z = rng.standard_normal((n, dz))
    return x, y, z


@pytest.mark.parametrize("n,dim,sigma", [(6, 1, 0.3), (12, 5, 1.0), (40, 784, 0.5)])
def test_kernel_matrix_is_symmetric_psd_with_unit_diagonal(n, dim, sigma):
    a = np.random.default_rng(n).random((n, dim))
    k = gaussian_kernel(a, sigma)
    assert k.dtype == np.float64 and k.shape == (n, n)
    assert np.array_equal(k, k.T)
    assert np.array_equal(np.diag(k), np.ones(n))
    assert np.linalg.eigvalsh(k).min() > -1e-12
    np.testing.assert_allclose(k, gaussian_kernel_twin(a, sigma * math.sqrt(dim)),
                               rtol=1e-12, atol=1e-13)
    if n <= 12:
        np.testing.assert_allclose(k, direct_kernel(a, sigma), rtol=1e-12, atol=1e-13)


def test_hsic_matches_the_trace_formula():
    x, y, z = small_window(np.random.default_rng(1), n=7)
    kx, kz = gaussian_kernel(x, 0.7), gaussian_kernel(z, 1.3)
    assert hsic(kx, kz) == pytest.approx(direct_hsic(kx, kz), rel=1e-12)
    h = centering_matrix(7)
    np.testing.assert_allclose(h @ np.ones(7), 0.0, atol=1e-15)


def test_hsic_near_zero_when_independent_and_positive_when_dependent():
    rng = np.random.default_rng(2)
    n = 200
    x = rng.standard_normal((n, 2))
    independent = rng.standard_normal((n, 2))
    dependent = x + 0.1 * rng.standard_normal((n, 2))
    kx = gaussian_kernel(x, 0.5)
    h_ind = hsic(kx, gaussian_kernel(independent, 0.5))
    h_dep = hsic(kx, gaussian_kernel(dependent, 0.5))
    h_self = hsic(kx, kx)
    assert h_dep > 0.5 * h_self
    assert abs(h_ind) < 0.1 * h_dep  # the biased estimate is O(1/n) above zero
    # nonlinear dependence (a function of |x|) is seen too
    h_nonlinear = hsic(kx, gaussian_kernel(np.linalg.norm(x, axis=1, keepdims=True), 0.5))
    assert h_nonlinear > 5 * abs(h_ind)


def closed_form_signal(x, y, z, gamma, sx, sy, sz, variant):
    """The three xi of the brief, written out term by term (N = B, current sample last)."""
    big_n = x.shape[0]
    last = big_n - 1
    kx, ky = direct_kernel(x, sx), direct_kernel(y, sy)
    s_z = sz * math.sqrt(z.shape[1])
    alpha = [(2 / s_z ** 2) * math.exp(-np.sum((z[last] - z[j]) ** 2) / (2 * s_z ** 2))
             * (z[last] - z[j]) for j in range(big_n)]
    alpha_bar = sum(alpha[:last]) / big_n  # N - 1 terms divided by N
    kbar_x = kx - kx.mean(axis=1, keepdims=True)
    kbar_y = ky - ky.mean(axis=1, keepdims=True)
    c = [kbar_x[i, i] - gamma * kbar_y[i, i] for i in range(big_n)]
    if variant == "release":
        return c[last] * alpha_bar / (big_n - 1) ** 2
    if variant == "revised":
        return (sum(c[i] * alpha[i] for i in range(last)) / big_n
                + c[last] * alpha_bar) / (big_n - 1) ** 2
    h = np.eye(big_n) - np.ones((big_n, big_n)) / big_n
    m = h @ (kx - gamma * ky) @ h
    return -sum(m[last, j] * alpha[j] for j in range(big_n)) / (big_n - 1) ** 2


@pytest.mark.parametrize("variant", VARIANTS)
def test_signal_matches_its_closed_form(variant):
    gamma, sx, sy, sz = 2.5, 0.6, 0.4, 0.8
    x, y, z = small_window(np.random.default_rng(3))
    beta = signal_coefficients(gaussian_kernel(x, sx), gaussian_kernel(y, sy), gamma, variant)
    xi = global_signal(z, beta, sz)
    np.testing.assert_allclose(xi, closed_form_signal(x, y, z, gamma, sx, sy, sz, variant),
                               rtol=1e-11, atol=1e-15)


@pytest.mark.parametrize("seed", [4, 5])
def test_exact_signal_is_the_gradient_of_the_window_objective(seed):
    gamma, sx, sy, sz = 3.0, 0.5, 0.25, 0.7
    x, y, z = small_window(np.random.default_rng(seed), n=6)
    beta = signal_coefficients(gaussian_kernel(x, sx), gaussian_kernel(y, sy), gamma, "exact")
    xi = global_signal(z, beta, sz)
    step = 1e-6
    numeric = np.empty(z.shape[1])
    for k in range(z.shape[1]):
        up, down = z.copy(), z.copy()
        up[-1, k] += step
        down[-1, k] -= step
        numeric[k] = (direct_objective(x, y, up, gamma, sx, sy, sz)
                      - direct_objective(x, y, down, gamma, sx, sy, sz)) / (2 * step)
    np.testing.assert_allclose(xi, numeric, rtol=1e-6, atol=1e-10 * np.abs(numeric).max())
    # the production objective agrees with the direct one
    assert window_objective(x, y, z, gamma, sx, sy, sz) == pytest.approx(
        direct_objective(x, y, z, gamma, sx, sy, sz), rel=1e-10)
    # and neither published signal equals the gradient
    for variant in ("release", "revised"):
        other = global_signal(z, signal_coefficients(gaussian_kernel(x, sx),
                                                     gaussian_kernel(y, sy), gamma, variant), sz)
        assert not np.allclose(other, xi, rtol=1e-2)


def test_published_signals_mostly_point_along_the_gradient():
    # The common sign convention: on windows of the linear task through an untrained
    # 2-4-2 network, release and revised xi are positively aligned with dL/dz_N.
    # (Seeds 0-5 give mean cosines 0.30-0.50 and 69-90% positive windows.)
    rng = np.random.default_rng(0)
    task = linear_task(rng)
    network = make_mlp((2, 4, 2), rng)
    cosines = {variant: [] for variant in VARIANTS}
    for _ in range(200):
        rows = rng.choice(task.train.labels.size, 64, replace=False)
        x, y = task.train.inputs[rows], task.train.targets[rows]
        kx, ky = gaussian_kernel(x, 0.5), gaussian_kernel(y, 0.25)
        z = network.forward(x)[0][0]
        xis = {v: global_signal(z, signal_coefficients(kx, ky, 10.0, v), 1.0) for v in VARIANTS}
        for variant, xi in xis.items():
            cosines[variant].append(xi @ xis["exact"]
                                    / (np.linalg.norm(xi) * np.linalg.norm(xis["exact"])))
    assert np.allclose(cosines["exact"], 1.0)
    for variant in ("release", "revised"):
        assert np.mean(np.array(cosines[variant]) > 0) > 0.6
        assert np.mean(cosines[variant]) > 0.2


@pytest.mark.parametrize("n", [2, 8, 33])
def test_kernels_match_their_numpy_twins(n):
    rng = np.random.default_rng(n)
    x, y, z = small_window(rng, n=n, dx=7, classes=4, dz=5)
    kx, ky = gaussian_kernel(x, 0.5), gaussian_kernel(y, 0.3)
    for variant, code in kernels.VARIANT_CODES.items():
        beta = signal_coefficients(kx, ky, 4.0, variant)
        np.testing.assert_allclose(beta, signal_coefficients_twin(kx, ky, 4.0, code),
                                   rtol=1e-12, atol=1e-16)
        assert beta[-1] == 0.0
        np.testing.assert_allclose(global_signal(z, beta, 0.9),
                                   global_signal_twin(z, beta, 0.9 * math.sqrt(5)),
                                   rtol=1e-12, atol=1e-16)


def test_rejects_an_unknown_variant():
    k = np.eye(3)
    with pytest.raises(ValueError, match="variant"):
        signal_coefficients(k, k, 1.0, "paper")
