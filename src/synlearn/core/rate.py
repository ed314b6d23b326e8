"""Kernels of rate networks that more than one family uses: the vectorisable tanh and
the CSR recurrent product.

Moved here unchanged from ``synlearn.reservoir.kernels`` (which imports them back under
the same names) when the working-memory reservoir of ``synlearn.hsic.memory`` came to
need the same two pieces: a rate network ``tau du/dt = -u + J r + ...``, ``r = tanh(u)``
(Sussillo & Abbott 2009, Eq. 1) with a sparse J stepped one state vector at a time.
Families do not import each other, so what both step with lives in ``core``.

References
----------
Sussillo, D. & Abbott, L. F. (2009). Generating coherent patterns of activity from
chaotic neural networks. Neuron 63, 544-557 (Eq. 1: the network).
"""

from __future__ import annotations

import numpy as np

from .jit import njit

_LN2_HI = 0.693145751953125  # few significant bits: k * _LN2_HI is exact for k < 64
_LN2_LO = 1.4286068203094172e-06


@njit(inline="always")
def tanh(x):
    """``tanh(x)`` in plain arithmetic, so that loops over it vectorise.

    ``math.tanh`` is a scalar library call that LLVM cannot vectorise; here it took
    two thirds of a batched step. This version is within 3 ulp of NumPy's tanh over
    the whole real line, keeps NaN, and performs the same operations in the vector body
    and the scalar remainder of a loop, so a run is bit-identical at any position in a
    batch. With ``a = |x|`` (capped at 20, where tanh is 1 in double precision) and
    ``m = expm1(-2a)``: ``tanh(a) = -m / (2 + m)``. ``expm1`` is a Taylor series on
    ``[-0.5, 0]``; below, ``exp`` by Cody-Waite reduction ``-2a = r - k ln 2`` with a
    Taylor series for ``exp(r)``, ``|r| <= ln(2) / 2``, and ``2^-k`` built bit by bit.
    Both branches are computed and one is selected, which is what lets LLVM vectorise.

    Parameters
    ----------
    x : float
        Argument.

    Returns
    -------
    float
        ``tanh(x)``, the rate ``r = tanh(x)`` of Sussillo & Abbott (2009), Eq. 1.
    """
    a = x if x >= 0.0 else -x
    a = 20.0 if a > 20.0 else a  # a comparison with NaN is false: NaN passes through
    y = -2.0 * a
    ys = y if y > -0.5 else -0.5
    s = 1.0 / 6402373705728000.0
    s = s * ys + 1.0 / 355687428096000.0
    s = s * ys + 1.0 / 20922789888000.0
    s = s * ys + 1.0 / 1307674368000.0
    s = s * ys + 1.0 / 87178291200.0
    s = s * ys + 1.0 / 6227020800.0
    s = s * ys + 1.0 / 479001600.0
    s = s * ys + 1.0 / 39916800.0
    s = s * ys + 1.0 / 3628800.0
    s = s * ys + 1.0 / 362880.0
    s = s * ys + 1.0 / 40320.0
    s = s * ys + 1.0 / 5040.0
    s = s * ys + 1.0 / 720.0
    s = s * ys + 1.0 / 120.0
    s = s * ys + 1.0 / 24.0
    s = s * ys + 1.0 / 6.0
    s = s * ys + 0.5
    s = s * ys + 1.0
    small = ys * s
    k = np.floor(-y * 1.4426950408889634 + 0.5)
    r = (y + k * _LN2_HI) + k * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    scale = 1.0
    for bit in range(6):  # k <= 58 < 2^6
        half = np.floor(k * 0.5)
        scale = scale * (2.0 ** -(2**bit) if k - 2.0 * half > 0.5 else 1.0)
        k = half
    large = p * scale - 1.0
    m = small if y > -0.5 else large
    t = -m / (2.0 + m)
    return t if x >= 0.0 else -t


@njit
def tanh_array(x, out):
    """``out = tanh(x)`` elementwise with the kernels' ``tanh``, for 2-D arrays.

    Parameters
    ----------
    x : numpy.ndarray of float64, shape (m, n)
        Arguments.
    out : numpy.ndarray of float64, shape (m, n)
        Receives ``tanh(x)``; may be ``x``.
    """
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = tanh(x[i, j])


@njit
def recurrent_input(indptr, indices, J, rates, out):
    """``out = J @ rates`` for CSR ``J`` and a batch of rate vectors ``(n, batch)``.

    The recurrent term ``J r`` of Sussillo & Abbott (2009), Eq. 1.

    Parameters
    ----------
    indptr, indices, J : numpy.ndarray
        J in CSR form: row pointers (n_units + 1,), column indices and values (nnz,).
    rates : numpy.ndarray of float64, shape (n_units, batch)
        ``r`` of every run.
    out : numpy.ndarray of float64, shape (n_units, batch)
        Receives ``J r``.
    """
    n_units, batch = rates.shape
    if batch == 1:
        # A local sum: `out` may alias `rates` for all LLVM knows, so accumulating in
        # memory forces a store and reload per nonzero (1.8x slower at N = 500).
        for i in range(n_units):
            total = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                total += J[k] * rates[indices[k], 0]
            out[i, 0] = total
        return
    for i in range(n_units):
        for b in range(batch):
            out[i, b] = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            weight = J[k]
            for b in range(batch):
                out[i, b] += weight * rates[j, b]
