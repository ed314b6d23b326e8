"""Construction of the rate reservoir of Sussillo & Abbott (2009)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.errors import ConfigError, require_positive
from .kernels import Network, kernel_array


@dataclass(frozen=True)
class Reservoir:
    """A sparse random rate network with output feedback, in CSR form.

    ``tau dx/dt = -x + J r + u z + w_in I(t)``, ``r = tanh(x)``, and the readout sees
    ``readout_gains * r`` (Sussillo & Abbott 2009, Eq. 1, with per-unit gains).
    The kernels take it as a ``Network`` (``network_state``).
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    feedback: np.ndarray
    input_weights: np.ndarray
    readout_gains: np.ndarray

    @property
    def n_units(self) -> int:
        return self.feedback.shape[0]

    def dense_weights(self) -> np.ndarray:
        """The recurrent matrix J as a dense array (for tests and small N)."""
        n = self.n_units
        dense = np.zeros((n, n))
        for row in range(n):
            span = slice(self.indptr[row], self.indptr[row + 1])
            dense[row, self.indices[span]] = self.weights[span]
        return dense


def network_state(reservoir: Reservoir) -> Network:
    """The kernels' view of ``reservoir``, every field cast to its exact type.

    Parameters
    ----------
    reservoir : Reservoir

    Returns
    -------
    Network
        ``indptr`` int64 and ``indices`` uint32 (half the bytes of int64 in the
        product's inner loop, which is bound by memory traffic: 1.8x faster at N = 500),
        ``J`` (the CSR values, ``reservoir.weights``),
        ``u`` (``feedback``), ``w_in`` (``input_weights``) and ``g_out``
        (``readout_gains``) float64; all C-contiguous and writeable. The arrays are
        the reservoir's own unless a cast needs a copy.
    """
    return Network(
        indptr=kernel_array(reservoir.indptr, np.int64),
        indices=kernel_array(reservoir.indices, np.uint32),
        J=kernel_array(reservoir.weights, np.float64),
        u=kernel_array(reservoir.feedback, np.float64),
        w_in=kernel_array(reservoir.input_weights, np.float64),
        g_out=kernel_array(reservoir.readout_gains, np.float64),
    )


def make_reservoir(
    n_units: int,
    connection_prob: float,
    gain: float,
    rng: np.random.Generator,
    gain_log10_sd: float = 0.0,
) -> Reservoir:
    """Draw a reservoir: sparse J, feedback u, input weights and readout gains.

    Each entry of J is nonzero with probability ``connection_prob``; nonzero entries are
    Gaussian with standard deviation ``gain / sqrt(connection_prob * n_units)``
    (Sussillo & Abbott 2009, Methods), so the spectral radius is close to ``gain``.
    The draws do not depend on ``gain``: reservoirs from the same ``rng`` state with
    different gains are the same network scaled, which makes a gain sweep paired.

    Parameters
    ----------
    n_units : int
        Number of units N (>= 2).
    connection_prob : float
        Connection probability p in (0, 1].
    gain : float
        Synaptic gain g (> 0); g > 1 gives chaotic spontaneous activity.
    rng : numpy.random.Generator
        Source of all draws.
    gain_log10_sd : float
        Standard deviation of log10 of the per-unit readout gains (heterogeneous
        presynaptic activity, as the log-normal rates of Aitchison et al. 2021); the
        gains are normalised to unit mean square. 0 gives homogeneous units.

    Returns
    -------
    Reservoir
    """
    if int(n_units) != n_units or n_units < 2:
        raise ConfigError(f"n_units must be an integer >= 2, got {n_units!r}")
    n_units = int(n_units)
    if not 0 < connection_prob <= 1:
        raise ConfigError(f"connection_prob must be in (0, 1], got {connection_prob!r}")
    require_positive("gain", gain)
    if gain_log10_sd < 0:
        raise ConfigError(f"gain_log10_sd must be >= 0, got {gain_log10_sd!r}")

    connected = rng.random((n_units, n_units)) < connection_prob
    values = rng.standard_normal((n_units, n_units))
    feedback = rng.uniform(-1.0, 1.0, n_units)
    input_weights = rng.standard_normal(n_units)
    readout_gains = 10.0 ** (gain_log10_sd * rng.standard_normal(n_units))
    readout_gains /= np.sqrt(np.mean(readout_gains**2))

    scale = gain / np.sqrt(connection_prob * n_units)
    rows, cols = np.nonzero(connected)
    indptr = np.zeros(n_units + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_units), out=indptr[1:])
    return Reservoir(
        indptr=indptr,
        indices=cols.astype(np.int64),
        weights=np.ascontiguousarray(values[rows, cols] * scale),
        feedback=feedback,
        input_weights=input_weights,
        readout_gains=readout_gains,
    )
