"""The steps of the single-synapse workflow (Aitchison et al. 2021), config to tables.

Each function is what one Snakemake rule does. Seeds come from the config's base seed
and the run's identity (feedback type, seed index), so a run's numbers do not depend on
how jobs are scheduled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core import seeding
from ..core.errors import ConfigError
from . import simulation as synapse

FEEDBACKS = ("linear", "cerebellar", "rl")
# Purpose of the family's random streams (see synlearn.core.seeding).
SYNAPSE_STREAM = 4


def classical_etas(config: dict) -> np.ndarray:
    """The fixed learning rates of the classical synapses: log-spaced, inclusive."""
    spec = config["classical_etas"]
    if not 0 < spec["low"] < spec["high"]:
        raise ConfigError(f"synapse.classical_etas needs 0 < low < high, got {spec}")
    return np.logspace(np.log10(spec["low"]), np.log10(spec["high"]), int(spec["count"]))


def run_seed(base_seed: int, feedback: str, seed_index: int) -> int:
    """The integer seed of one (feedback, seed index) run, derived from the base seed."""
    if feedback not in FEEDBACKS:
        raise ConfigError(f"unknown feedback {feedback!r}; allowed: {', '.join(FEEDBACKS)}")
    rng = seeding.generator(base_seed, SYNAPSE_STREAM, FEEDBACKS.index(feedback), seed_index)
    return int(rng.integers(2**31 - 1))


def _model_options(config: dict) -> dict:
    # "paper": the model's per-feedback default (the authors' choice for each likelihood).
    choice = config["noise_variance"]
    options = {"noise_variance": None if choice == "paper" else choice}
    if config.get("n_synapses"):
        options["n_synapses"] = int(config["n_synapses"])
    return options


def summary_table(config: dict, feedback: str, seed_index: int, base_seed: int) -> pd.DataFrame:
    """MSE and coverage of the Bayesian synapse and every classical rate, one seed."""
    table = synapse.run_summary(
        feedback, seed=run_seed(base_seed, feedback, seed_index),
        duration_tau=float(config["duration_tau"]), burn_in_tau=float(config["burn_in_tau"]),
        classical_etas=classical_etas(config), **_model_options(config),
    )
    table.insert(0, "seed_index", seed_index)
    return table


def timeseries_table(config: dict, feedback: str, base_seed: int) -> pd.DataFrame:
    """True weight and posterior of a few synapses over ``timeseries_tau``."""
    options = _model_options(config)
    options.pop("noise_variance")
    return synapse.run_timeseries(feedback, seed=run_seed(base_seed, feedback, 0),
                                  duration_tau=float(config["timeseries_tau"]), **options)


def rate_table(config: dict, feedback: str, base_seed: int) -> pd.DataFrame:
    """Per synapse: input rate, normalised variability, normalised learning rate."""
    options = _model_options(config)
    options.pop("noise_variance")
    return synapse.run_rate_table(feedback, seed=run_seed(base_seed, feedback, 0),
                                  duration_tau=float(config["rates_tau"]), **options)


def compile_kernels() -> None:
    """Run every synapse kernel once on a tiny problem so Numba compiles and caches them."""
    for feedback in FEEDBACKS:
        for method in ("event", "dense"):
            model = synapse.SynapseModel(feedback, n_synapses=4)
            recorded = (0,) if method == "event" else ()  # the dense twin records nothing
            synapse.simulate(model, duration_tau=0.001, burn_in_tau=0.0,
                             classical_etas=(1e-3,), seed=0, method=method,
                             record_synapses=recorded, measure_every_tau=0.0005,
                             record_every_tau=0.0005)


def summary_paths(config: dict) -> list[str]:
    """Paths (below the results folder) of every per-seed summary of the config."""
    return [f"synapse/{feedback}/seed{seed}/summary.csv"
            for feedback in config["feedbacks"] for seed in range(int(config["seeds"]))]


def expected_summary_rows(config: dict) -> list[int]:
    """Rows of each per-seed summary, in ``summary_paths`` order: the Bayesian synapse and
    every classical rate."""
    return [1 + int(config["classical_etas"]["count"])
            for _ in config["feedbacks"] for _ in range(int(config["seeds"]))]


def feedback_paths(config: dict, table: str) -> list[str]:
    """Paths of one per-feedback table (``timeseries`` or ``rates``) of every feedback."""
    return [f"synapse/{feedback}/{table}.csv" for feedback in config["feedbacks"]]
