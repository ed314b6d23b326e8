"""Reservoir readout learning: the delta rule, the per-synapse Bayesian rule and FORCE.

Sussillo & Abbott (2009); Aitchison et al. (2021); Menendez & Latham (poster). A rate
network with output feedback learns a periodic target through its readout; the rules
are compared on the same networks, targets and trials.

Public entry points (imported on first use, so that declaring the family's figures
does not compile its kernels):

- ``make_reservoir``, ``Reservoir``: the network;
- ``sample_periodic_gp``, ``four_sines``: target signals;
- ``Protocol``, ``RuleSetting``, ``simulate_readout_learning``: one batched experiment;
- ``resolve_studies``: the config's studies as variants;
- ``make_targets``, ``run_network``, ``compile_kernels``: the workflow's steps;
- ``study_statistics``: the aggregate tables of one study;
- ``DeltaReadout``, ``BayesianReadout``, ``RLSReadout``: the three readout rules as a
  library, on the pipeline's kernels, for states you supply;
- ``BayesianReadoutNode``: the Bayesian readout as a reservoirpy node (needs the
  optional reservoirpy >= 0.4; imported only when asked for).
"""

from __future__ import annotations

import importlib

from ..core.registry import Figure

TITLE = "Reservoir readout learning"

_EXPORTS = {
    "Reservoir": "network",
    "make_reservoir": "network",
    "sample_periodic_gp": "targets",
    "four_sines": "targets",
    "Protocol": "protocol",
    "RuleSetting": "protocol",
    "simulate_readout_learning": "protocol",
    "resolve_studies": "studies",
    "check_config": "studies",
    "make_targets": "pipeline",
    "run_network": "pipeline",
    "compile_kernels": "pipeline",
    "study_statistics": "stats",
    "DeltaReadout": "readouts",
    "BayesianReadout": "readouts",
    "RLSReadout": "readouts",
    "BayesianReadoutNode": "reservoirpy_nodes",
}
__all__ = ["TITLE", "figures", *_EXPORTS]

# figure -> the tables it reads, by study. A figure is built when its first study is
# configured (a user may drop a study to save time); the other studies are optional.
_FIGURE_TABLES = {
    "example": {"main": ["traces", "best"], "sines": ["traces", "best"]},
    "learning_curves": {"main": ["summary", "best"], "force": ["summary", "best"]},
    "mse_vs_rate": {"main": ["summary"]},
    "mse_vs_gain": {"gain": ["summary", "best"]},
    "alpha_distribution": {"main": ["rates"]},
    "target_length": {"length": ["summary", "best"]},
    "ablation": {"ablation": ["comparison"]},
    "protocols": {"protocols": ["summary", "best"]},
    "forgetting": {"forgetting": ["summary"]},
    "paper": {"paper": ["summary", "best", "distribution"], "main": ["best", "distribution"]},
}


def figures(section: dict) -> list[Figure]:
    """The family's figures for its config section (``reservoir``).

    Parameters
    ----------
    section : dict
        The ``reservoir`` section of the config, with its ``studies``.

    Returns
    -------
    list of Figure
        One per figure whose required study is configured, and two per study (the
        empirical CDF of the per-run test MSE and the success fraction against
        trials); the tables are ``reservoir/<study>/<table>.csv``.
    """
    studies = section.get("studies") or {}
    declared = []
    for name, by_study in _FIGURE_TABLES.items():
        required = next(iter(by_study))
        if required not in studies:
            continue
        tables = {
            f"{study}_{table}": f"reservoir/{study}/{table}.csv"
            for study, names in by_study.items()
            if study in studies
            for table in names
        }
        declared.append(Figure(f"reservoir_{name}", name, tables))
    # every study's per-run error distribution: one template per kind, the study named
    for study in studies:
        declared.append(Figure(
            f"reservoir_{study}_error_cdf", "error_cdf",
            {f"{study}_{table}": f"reservoir/{study}/{table}.csv"
             for table in ("curves", "best", "distribution")},
            caption="reservoir_error_cdf"))
        declared.append(Figure(
            f"reservoir_{study}_success", "success_fraction",
            {f"{study}_{table}": f"reservoir/{study}/{table}.csv"
             for table in ("distribution", "best")},
            caption="reservoir_success_fraction"))
    return declared


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
