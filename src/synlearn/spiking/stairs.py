"""The "stairs" data set: blocks of visible neurons that fire one after another.

Our definition (in the spirit of the temporal patterns of Jimenez Rezende & Gerstner
2014, Section 3): ``n_blocks`` blocks of ``block_size`` visible neurons (default 3 x 10
= 30), neurons ``b * block_size .. (b + 1) * block_size - 1`` forming block b. An
episode climbs the staircase: block 0 is active for a first step, then block 1, then
block 2, then block 0 again ("after the third step it starts over"), and so on, every
step lasting a whole number of bins drawn uniformly from ``[step_ms[0], step_ms[1]]``
(default 10-30 ms, both ends included, independently for every step). The active
block's neurons fire at ``active_hz`` (default 80 Hz), all others at ``background_hz``
(default 2 Hz), each bin independently with probability ``1 - exp(-rate dt)``, the
Bernoulli model of ``synlearn.spiking.model``. Every episode (a training batch of 200 ms,
a held-out raster) starts at the beginning of block 0's step, as the network starts
from rest.

Random numbers, per episode in order: ``rng.integers(lo, hi + 1, size=n_steps)`` step
lengths in bins (``n_steps = n_bins // lo + 1``, enough to cover the episode), then
``rng.random((n_bins, nV))``, a neuron spiking iff its uniform is below its
probability.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..core.errors import ConfigError, require_positive
from .model import SPIKE

N_BLOCKS = 3
BLOCK_SIZE = 10
STEP_MS = (10.0, 30.0)
ACTIVE_HZ = 80.0
BACKGROUND_HZ = 2.0
N_HIDDEN = 50
BATCH_MS = 200.0
BATCHES_PER_EPOCH = 500


class Stairs(NamedTuple):
    """A stairs raster and its ground truth.

    Attributes
    ----------
    raster : ndarray of uint8, shape (n_bins, nV) or (n_batches, n_bins, nV)
    block : ndarray of int8, same shape without the neuron axis
        The active block in every bin.
    """

    raster: np.ndarray
    block: np.ndarray


def _whole(name, value) -> int:
    if isinstance(value, bool) or not float(value).is_integer() or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _episode(rng, n_bins, n_blocks, block_size, lo, hi, p_active, p_background):
    n_steps = n_bins // lo + 1
    lengths = rng.integers(lo, hi + 1, size=n_steps)
    step_of_bin = np.repeat(np.arange(n_steps), lengths)[:n_bins]
    block = (step_of_bin % n_blocks).astype(np.int8)
    neuron_block = np.arange(n_blocks * block_size) // block_size
    p = np.where(block[:, None] == neuron_block[None, :], p_active, p_background)
    raster = (rng.random((n_bins, n_blocks * block_size)) < p).astype(SPIKE)
    return raster, block


def make_stairs(rng: np.random.Generator, n_bins: int, n_batches: int | None = None, *,
           dt_ms: float = 1.0, n_blocks: int = N_BLOCKS, block_size: int = BLOCK_SIZE,
           step_ms: tuple[float, float] = STEP_MS, active_hz: float = ACTIVE_HZ,
           background_hz: float = BACKGROUND_HZ) -> Stairs:
    """Stairs rasters: one episode of ``n_bins``, or ``n_batches`` independent ones.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws as the module docstring says, episode after episode.
    n_bins : int
        Bins per episode (a 200 ms training batch at dt = 1 ms: 200).
    n_batches : int, optional
        None: one episode, shape (n_bins, nV); else shape (n_batches, n_bins, nV).
    dt_ms : float
        Bin length (ms).
    n_blocks, block_size : int
        Blocks and neurons per block (nV = n_blocks x block_size; default 3 x 10).
    step_ms : (float, float)
        Shortest and longest step (ms), rounded to bins (default 10-30 ms).
    active_hz, background_hz : float
        Rates of the active block and of every other neuron (default 80 and 2 Hz).

    Returns
    -------
    Stairs
        ``(raster, block)``.

    Raises
    ------
    ConfigError
        Non-positive sizes or rates, or a step range shorter than a bin or reversed.
    """
    if not isinstance(rng, np.random.Generator):
        raise ConfigError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    n_bins = _whole("n_bins", n_bins)
    n_blocks = _whole("n_blocks", n_blocks)
    block_size = _whole("block_size", block_size)
    dt = require_positive("dt_ms", dt_ms)
    active = require_positive("active_hz", active_hz)
    background = require_positive("background_hz", background_hz)
    try:
        shortest, longest = (require_positive("step_ms", s) for s in step_ms)
    except (TypeError, ValueError):
        raise ConfigError(f"step_ms must be two positive durations (ms), got {step_ms!r}") from None
    lo, hi = round(shortest / dt), round(longest / dt)
    if lo < 1 or hi < lo:
        raise ConfigError(f"step_ms = {tuple(step_ms)!r} must be increasing and at least "
                          f"one bin of {dt:g} ms")
    p_active = -math.expm1(-active * dt * 1e-3)
    p_background = -math.expm1(-background * dt * 1e-3)
    args = (n_bins, n_blocks, block_size, lo, hi, p_active, p_background)
    if n_batches is None:
        return Stairs(*_episode(rng, *args))
    n_batches = _whole("n_batches", n_batches)
    rasters = np.empty((n_batches, n_bins, n_blocks * block_size), dtype=SPIKE)
    blocks = np.empty((n_batches, n_bins), dtype=np.int8)
    for b in range(n_batches):
        rasters[b], blocks[b] = _episode(rng, *args)
    return Stairs(rasters, blocks)
