"""Cross-field rules of the ``synapse`` config section, checked before any job."""

from __future__ import annotations

from ..core.errors import ConfigError

# run_rate_table's burn-in (the pipeline does not pass the config's burn_in_tau to it)
RATE_TABLE_BURN_IN_TAU = 2.0


def check_config(section: dict, schema: dict) -> None:
    """Check what the schema cannot: rate range order and burn-in against run lengths.

    Parameters
    ----------
    section : dict
        The ``synapse`` section (already valid against its schema).
    schema : dict
        The family's schema (unused: every single value is checked by it).

    Raises
    ------
    ConfigError
        Naming the key, e.g. ``synapse.classical_etas: low (0.1) must be below high``.
    """
    etas = section["classical_etas"]
    if not etas["low"] < etas["high"] and etas["count"] > 1:
        raise ConfigError(f"synapse.classical_etas: low ({etas['low']}) must be below high "
                          f"({etas['high']}) for {etas['count']} log-spaced rates")
    if etas["low"] != etas["high"] and etas["count"] == 1:
        raise ConfigError(f"synapse.classical_etas: one rate (count: 1) needs low == high, "
                          f"got {etas['low']} and {etas['high']}")
    burn_in = section["burn_in_tau"]
    if not burn_in < section["duration_tau"]:
        raise ConfigError(f"synapse.burn_in_tau: the burn-in ({burn_in} tau) must be shorter "
                          f"than duration_tau ({section['duration_tau']} tau)")
    if not section["rates_tau"] > RATE_TABLE_BURN_IN_TAU:
        raise ConfigError(f"synapse.rates_tau: the rate table discards its first "
                          f"{RATE_TABLE_BURN_IN_TAU:g} tau, so rates_tau must be longer, got "
                          f"{section['rates_tau']}")
