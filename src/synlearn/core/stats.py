"""Statistics shared by every family: bootstrap intervals and the divergence rule.

A diverged run is a result: it is counted, and a setting where at least
``DIVERGENCE_EXCLUSION`` of the runs diverged is excluded from the choice of the best
setting (the excluded fraction is reported by each family's statistics).
"""

from __future__ import annotations

import numpy as np

DIVERGENCE_EXCLUSION = 0.5


def bootstrap_median_ci(
    values: np.ndarray, rng: np.random.Generator, n_boot: int = 2000, level: float = 0.95
) -> tuple[float, float, float]:
    """Median of ``values`` and its percentile-bootstrap confidence interval.

    Parameters
    ----------
    values : numpy.ndarray
        Samples; ``inf`` is allowed (a diverged run) and NaN is not.
    rng : numpy.random.Generator
    n_boot : int
        Bootstrap resamples.
    level : float
        Coverage of the interval.
    """
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return (np.nan, np.nan, np.nan)
    if np.isnan(values).any():
        raise ValueError("bootstrap_median_ci got NaN; encode diverged runs as inf")
    resampled = np.median(values[rng.integers(0, values.size, (n_boot, values.size))], axis=1)
    tail = (1.0 - level) / 2.0
    # No interpolation: with diverged runs (inf) it would compute inf - inf.
    low, high = np.quantile(resampled, [tail, 1.0 - tail], method="inverted_cdf")
    return float(np.median(values)), float(low), float(high)


def group_rng(seed: int, key) -> np.random.Generator:
    """A generator for one group of a table, addressed by the group's key.

    The stream depends on ``seed`` and on the key's values only (a stable hash of their
    ``repr``), not on which other groups exist or in which order they are visited.

    Parameters
    ----------
    seed : int
    key : tuple or scalar
        The group's key, e.g. ``(variant, rule, rate, forgetting_tau, trial)``.
    """
    import zlib

    key = key if isinstance(key, tuple) else (key,)
    text = "\x1f".join(repr(item.item() if hasattr(item, "item") else item) for item in key)
    return np.random.default_rng([int(seed), zlib.crc32(text.encode())])
