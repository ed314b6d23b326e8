"""Plain-NumPy twins of the HSIC kernels (``synlearn.hsic.kernels``).

Each twin is written from the equations with whole-array NumPy operations (explicit
centering matrix, explicit pairwise differences). The kernels must agree with them.
"""

from __future__ import annotations

import numpy as np

from synlearn.hsic.kernels import EXACT, RELEASE


def gaussian_kernel_twin(samples, scale):
    """``K_ij = exp(-|a_i - a_j|^2 / (2 scale^2))`` from explicit pairwise differences."""
    diff = samples[:, None, :] - samples[None, :, :]
    return np.exp(-np.sum(diff * diff, axis=2) / (2.0 * scale * scale))


def signal_coefficients_twin(kx, ky, gamma, variant):
    """``beta`` of ``xi = sum_j beta_j alpha_j``, from the definitions."""
    n = kx.shape[0]
    norm = 1.0 / (n - 1.0) ** 2
    if variant == EXACT:
        h = np.eye(n) - np.ones((n, n)) / n
        m = h @ (kx - gamma * ky) @ h
        beta = -m[-1] * norm
    else:
        c = (np.diag(kx) - kx.mean(axis=1)) - gamma * (np.diag(ky) - ky.mean(axis=1))
        if variant == RELEASE:
            beta = np.full(n, c[-1] / n * norm)
        else:
            beta = (c + c[-1]) / n * norm
    beta[-1] = 0.0
    return beta


def global_signal_twin(z, beta, scale):
    """``sum_{j<N} beta_j (2 / scale^2) k(z_N, z_j) (z_N - z_j)``."""
    diff = z[-1] - z
    k = np.exp(-np.sum(diff * diff, axis=1) / (2.0 * scale * scale))
    weights = beta * (2.0 / scale ** 2) * k
    weights[-1] = 0.0
    return weights @ diff


def adamw_twin(param, grad, first, second, lr, beta1, beta2, eps, weight_decay,
               correction1, correction2):
    """One AdamW step, in place, as ``synlearn.hsic.kernels.adamw_step``."""
    first *= beta1
    first += (1.0 - beta1) * grad
    second *= beta2
    second += (1.0 - beta2) * (grad * grad)
    update = (first * (1.0 / correction1)) / (np.sqrt(second * (1.0 / correction2)) + eps)
    param -= lr * (update + weight_decay * param)


def bias_relu_layer_norm_twin(pre, bias, eps):
    """``LN(ReLU(pre + bias))`` row-wise; returns (outputs, active, inv_std)."""
    shifted = pre + bias
    active = shifted > 0
    rectified = np.maximum(shifted, 0.0)
    centred = rectified - rectified.mean(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(np.var(rectified, axis=1) + eps)
    return centred * inv_std[:, None], active, inv_std


def relu_layer_norm_pull_back_twin(outputs, inv_std, active, cotangent):
    """``ReLU'(pre) (g - mean(g) - z mean(g z)) inv_std`` row-wise."""
    g = cotangent
    delta = (g - g.mean(axis=1, keepdims=True)
             - outputs * np.mean(g * outputs, axis=1, keepdims=True))
    return delta * inv_std[:, None] * active
