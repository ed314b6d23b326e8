"""Plain-NumPy twins of the convolutional blocks (``synlearn.hsic.conv``).

Direct convolution: explicit loops over the output pixels (and for the adjoints, over
the pixels a cotangent comes from), nothing shared with the im2col code. Arrays are
NHWC; kernels ``(3, 3, C_in, C_out)`` (``conv`` stores them flattened to
``(9 C_in, C_out)``). LayerNorm eps 1e-6, no affine parameters.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-6


def conv_twin(x, kernel, bias):
    """``out[i, h, w] = b + sum_{kh, kw} x[i, h + kh - 1, w + kw - 1] @ K[kh, kw]``."""
    n, height, width, _ = x.shape
    out = np.empty((n, height, width, kernel.shape[3]))
    for i in range(n):
        for h in range(height):
            for w in range(width):
                acc = bias.copy()
                for kh in range(3):
                    for kw in range(3):
                        p, q = h + kh - 1, w + kw - 1
                        if 0 <= p < height and 0 <= q < width:
                            acc += x[i, p, q] @ kernel[kh, kw]
                out[i, h, w] = acc
    return out


def conv_input_gradient_twin(g, kernel):
    """The adjoint of ``conv_twin`` in x: each output pixel's cotangent sent back to
    the nine inputs it read."""
    n, height, width, _ = g.shape
    dx = np.zeros((n, height, width, kernel.shape[2]))
    for i in range(n):
        for h in range(height):
            for w in range(width):
                for kh in range(3):
                    for kw in range(3):
                        p, q = h + kh - 1, w + kw - 1
                        if 0 <= p < height and 0 <= q < width:
                            dx[i, p, q] += kernel[kh, kw] @ g[i, h, w]
    return dx


def conv_weight_gradient_twin(x, g):
    """``dK[kh, kw] = sum_{i, h, w} outer(x[i, h + kh - 1, w + kw - 1], g[i, h, w])``."""
    n, height, width, c_in = x.shape
    dk = np.zeros((3, 3, c_in, g.shape[3]))
    for i in range(n):
        for h in range(height):
            for w in range(width):
                for kh in range(3):
                    for kw in range(3):
                        p, q = h + kh - 1, w + kw - 1
                        if 0 <= p < height and 0 <= q < width:
                            dk[kh, kw] += np.outer(x[i, p, q], g[i, h, w])
    return dk


def pool_twin(x):
    """``out[i, h, w] = mean of x[i, 2h:2h+2, 2w:2w+2]``, pixel by pixel."""
    n, height, width, c = x.shape
    out = np.empty((n, height // 2, width // 2, c))
    for h in range(height // 2):
        for w in range(width // 2):
            out[:, h, w] = x[:, 2 * h:2 * h + 2, 2 * w:2 * w + 2].mean(axis=(1, 2))
    return out


def pool_backward_twin(g):
    """Each pooled pixel's cotangent / 4 on its 2x2 inputs."""
    n, half_h, half_w, c = g.shape
    dx = np.empty((n, 2 * half_h, 2 * half_w, c))
    for h in range(2 * half_h):
        for w in range(2 * half_w):
            dx[:, h, w] = g[:, h // 2, w // 2] / 4.0
    return dx


def relu_layer_norm_pixels_twin(pre):
    """``LN(ReLU(pre))`` over the channels of every pixel."""
    a = np.maximum(pre, 0.0)
    centred = a - a.mean(axis=-1, keepdims=True)
    return centred / np.sqrt(np.mean(centred * centred, axis=-1, keepdims=True) + EPS)


def block_twin(x, kernel, bias, pool_input=False, pool_output=True):
    """``[pool] conv ReLU LN [pool]`` on NHWC images."""
    if pool_input:
        x = pool_twin(x)
    z = relu_layer_norm_pixels_twin(conv_twin(x, kernel, bias))
    return pool_twin(z) if pool_output else z
