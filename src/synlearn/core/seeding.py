"""Named, independent random streams derived from one base seed.

Every stream is addressed by a tuple of integers (its purpose and indices), so the
numbers a run sees depend only on the config's seed and the run's identity, never on
how runs are grouped into jobs or how many jobs run side by side.
"""

from __future__ import annotations

import numpy as np

# Each family names the purposes of its streams (its first key) in its own modules; the
# values are part of the results' identity, and families use disjoint values so that no
# two experiments ever draw from the same stream: reservoir 0-3, synapse 4,
# hsic 5-10, spiking 11-23.


def generator(base_seed: int, *key: int) -> np.random.Generator:
    """Return a PCG64 Generator for the stream ``key`` of ``base_seed``.

    Parameters
    ----------
    base_seed : int
        The config's seed (non-negative).
    *key : int
        The stream's address, e.g. ``(NETWORK, network_index)``.
    """
    if base_seed < 0 or any(k < 0 for k in key):
        raise ValueError(f"seeds and stream keys must be non-negative, got {base_seed}, {key}")
    sequence = np.random.SeedSequence(int(base_seed), spawn_key=tuple(int(k) for k in key))
    return np.random.Generator(np.random.PCG64(sequence))
