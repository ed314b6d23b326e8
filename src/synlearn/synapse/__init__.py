"""Single-synapse Bayesian filtering (Aitchison et al. 2021, Figs. 2-4).

A synapse that tracks its own uncertainty (a Gaussian belief over its log-weight)
against classical synapses with a fixed learning rate, under linear, cerebellar and
reinforcement-learning feedback, simulated exactly and event-driven.

Public entry points (imported on first use):

- ``SynapseModel``, ``simulate``, ``simulate_on_inputs``, ``SynapseRun``: one run;
- ``run_summary``, ``run_timeseries``, ``run_rate_table``, ``run_paper_default``:
  the experiments as tidy tables;
- ``summary_table``, ``timeseries_table``, ``rate_table``, ``compile_kernels``: the
  workflow's steps;
- ``synapse_comparison``: the Bayesian synapse against the best fixed rate.
"""

from __future__ import annotations

import importlib

from ..core.registry import Figure

TITLE = "Single-synapse Bayesian filtering"

_EXPORTS = {
    "SynapseModel": "model",
    "SynapseRun": "simulation",
    "simulate": "simulation",
    "simulate_on_inputs": "simulation",
    "run_summary": "simulation",
    "run_timeseries": "simulation",
    "run_rate_table": "simulation",
    "run_paper_default": "simulation",
    "summary_table": "pipeline",
    "timeseries_table": "pipeline",
    "rate_table": "pipeline",
    "compile_kernels": "pipeline",
    "synapse_comparison": "stats",
    "check_config": "config",
}
__all__ = ["TITLE", "figures", *_EXPORTS]


def figures(section: dict) -> list[Figure]:
    """The family's figures for its config section (``synapse``).

    Parameters
    ----------
    section : dict
        The ``synapse`` section of the config.

    Returns
    -------
    list of Figure
        Each reads ``synapse/<table>.csv``.
    """
    return [
        Figure("synapse_timeseries", "timeseries", {"timeseries": "synapse/timeseries.csv"}),
        Figure("synapse_mse_vs_eta", "mse_vs_eta", {"summary": "synapse/summary.csv"}),
        Figure("synapse_rate_dependence", "rate_dependence", {"rates": "synapse/rates.csv"}),
    ]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
