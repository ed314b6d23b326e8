"""The steps of the reservoir workflow, from resolved config to tidy tables.

Each function is what one Snakemake rule does; the scripts in ``workflow/scripts`` only
read their inputs, call one of these, and write the outputs.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..core import seeding
from .targets import four_sines, sample_periodic_gp
from ..core.errors import ConfigError
from .protocol import initial_readouts, simulate_readout_learning
from .network import make_reservoir
from .studies import Variant

# Purposes of the family's random streams (see synlearn.core.seeding).
NETWORK_STREAM = 0
TARGET_STREAM = 1
TRAIN_STREAM = 2
TEST_STREAM = 3
# the initial readout of network i and target j: stream (NETWORK_STREAM, i, 1 + j), a
# child of the network's address that no other draw uses
READOUT_CHILD = 1


def make_targets(variant: Variant, seed: int) -> pd.DataFrame:
    """One period of every target of ``variant`` as a tidy table (target, step, value).

    Target ``j`` of a random (``gp``) kind is drawn from its own stream, so it is the
    same function in every study that shares its parameters. ``repeats`` makes a target
    that spans several base periods with the same smoothness (the kernel's length scale
    divided by ``repeats``), for the target-length study.
    """
    target = variant.params["target"]
    dt = float(variant.params["protocol"]["dt_ms"])
    repeats = int(target["repeats"])
    if target["kind"] == "four_sines":
        if variant.targets != 1:
            raise ConfigError(f"study {variant.study!r}: the four_sines target is unique; set targets: 1")
        values = four_sines(1000.0 / dt, 1.2 * repeats)[None, :]
    else:
        n_steps = int(round(float(target["period_ms"]) * repeats / dt))
        # unstandardised (the authors' targets: trial-0 errors 0.2-3 for unit prior
        # variance) or scaled to zero mean and unit variance over the period
        values = np.vstack([
            sample_periodic_gp(1, n_steps, float(target["length_scale"]) / repeats,
                               seeding.generator(seed, TARGET_STREAM, j),
                               normalise=bool(target.get("standardise", True)))
            for j in range(variant.targets)
        ])
    n_targets, n_steps = values.shape
    return pd.DataFrame({
        "target": np.repeat(np.arange(n_targets), n_steps),
        "step": np.tile(np.arange(n_steps), n_targets),
        "value": values.ravel(),
    })


def targets_array(table: pd.DataFrame) -> np.ndarray:
    """Back from the tidy table to an array (n_targets, period_steps)."""
    wide = table.pivot(index="target", columns="step", values="value").sort_index()
    return wide.to_numpy(dtype=np.float64)


def run_network(variant: Variant, network: int, seed: int, targets: np.ndarray,
                code: str = "") -> dict[str, pd.DataFrame]:
    """Train and test every (target x rule setting) of ``variant`` on network ``network``.

    The network, training trials and test trials of network ``i`` come from streams
    addressed by ``i`` only, so the same network (scaled by its gain) and the same
    trials appear in every study: comparisons across studies are paired.

    Returns
    -------
    dict
        ``curves``, ``traces`` and ``rates`` tables with the variant's identifying
        columns, the network index, the seed and the code hash. Traces and rates are
        recorded for target 0 of network 0 only.
    """
    net = variant.params["network"]
    reservoir = make_reservoir(
        int(net["n_units"]), float(net["connection_prob"]), float(net["gain"]),
        seeding.generator(seed, NETWORK_STREAM, network), float(net["readout_gain_log10_sd"]),
    )
    protocol = variant.protocol()
    initial = initial_readouts(
        reservoir.n_units, protocol.readout_init_std,
        [seeding.generator(seed, NETWORK_STREAM, network, READOUT_CHILD + j)
         for j in range(targets.shape[0])])
    result = simulate_readout_learning(
        reservoir, targets, variant.rule_settings(), protocol,
        seeding.generator(seed, TRAIN_STREAM, network),
        seeding.generator(seed, TEST_STREAM, network),
        trace_targets=(0,) if network == 0 else (),
        initial_readout=initial,
    )
    final = result.curves[result.curves["trial"] == result.curves["trial"].max()]
    logging.info("network %d: %d of %d runs diverged", network, final["diverged"].sum(), len(final))
    ident = {**variant.columns(), "network": network, "seed": seed, "code": code}
    tables = {}
    for name in ("curves", "traces", "rates"):
        table = getattr(result, name)
        if not table.empty:
            table = pd.concat([pd.DataFrame(ident, index=table.index), table], axis=1)
        tables[name] = table
    return tables


def compile_kernels() -> None:
    """Run every kernel once on a tiny problem so Numba compiles and caches them.

    Parallel jobs then load the cached machine code instead of each compiling it.
    """
    from .protocol import Protocol, RuleSetting

    reservoir = make_reservoir(8, 0.5, 1.5, np.random.default_rng(0))
    targets = np.zeros((1, 4))
    settings = [RuleSetting("delta", 1e-3), RuleSetting("bayes", 1e-3), RuleSetting("rls", 1.0)]
    for kind in ("trials", "continuous"):
        simulate_readout_learning(
            reservoir, targets, settings,
            Protocol(kind=kind, noise_std=0.1, pulse_ms=2.0, checkpoints=(0, 1), n_test_trials=1,
                     test_periods=1),
            np.random.default_rng(1), np.random.default_rng(2), trace_targets=(0,),
        )
