"""Stochastic variational learning in recurrent spiking networks.

Jimenez Rezende, D. & Gerstner, W. (2014). Stochastic variational learning in recurrent
spiking networks. Front. Comput. Neurosci. 8, 38. A recurrent network of stochastic
(escape-noise) spiking neurons, visible and hidden, defines a generative model
``p(X_V, X_H)`` over spike trains (weights M); a second set of weights Q onto the hidden
neurons defines an inference model ``q(X_H | X_V)``. Wake learning samples the hidden
neurons from q with the visible ones clamped to data and changes every synapse by a
local rule, post-synaptic factor times presynaptic trace; the inference synapses also
take a global factor, the free energy's novelty ``F - F_bar``.

Modules: ``model`` (the neuron model, the argument groups and their factories, the
Bernoulli likelihood), ``kernels`` (Numba), ``learning`` (``train``, ``sleep``,
``free_energy``, ``evaluate``, ``log_likelihood_is``), ``online`` (training batch by
batch with the baseline carried over and the weight changes recorded), ``stairs`` and
``maze`` (the data sets), ``studies`` (config to jobs and its checks), ``pipeline``
(jobs to tables), ``stats``, ``plots``.
"""

from __future__ import annotations

import importlib

from ..core.registry import Figure

TITLE = "Variational learning in spiking networks"

_EXPORTS = {
    "Params": "model",
    "Weights": "model",
    "Rule": "model",
    "make_params": "model",
    "make_weights": "model",
    "make_rule": "model",
    "init_weights": "model",
    "bernoulli_log_likelihood": "model",
    "continuous_log_likelihood": "model",
    "train": "learning",
    "sleep": "learning",
    "free_energy": "learning",
    "evaluate": "learning",
    "log_likelihood_is": "learning",
    "importance_statistics": "learning",
    "train_online": "online",
    "make_stairs": "stairs",
    "make_layout": "maze",
    "check_config": "studies",
    "compile_kernels": "pipeline",
}
__all__ = ["TITLE", "figures", *_EXPORTS]


def figures(section: dict) -> list[Figure]:
    """The family's figures for its config section (``spiking``).

    Returns
    -------
    list of Figure
        Stairs: learning curves, rasters, sensitivity; maze: F_bar per maze, the novelty
        along a trajectory on the map, the novelty statistics.
    """
    return [
        Figure("spiking_learning_curves", "learning_curves",
               {"summary": "spiking/stairs/summary.csv"}),
        Figure("spiking_rasters", "rasters", {"rasters": "spiking/stairs/rasters.csv"}),
        Figure("spiking_sensitivity", "sensitivity",
               {"sensitivity": "spiking/stairs/sensitivity.csv"}),
        Figure("spiking_maze_free_energy", "maze_free_energy",
               {"probe": "spiking/maze/probe.csv", "batches": "spiking/maze/batches.csv"}),
        Figure("spiking_maze_novelty", "maze_novelty",
               {"trajectory": "spiking/maze/trajectory.csv", "rooms": "spiking/maze/rooms.csv"}),
        Figure("spiking_novelty_statistics", "novelty_statistics",
               {"novelty": "spiking/maze/novelty.csv",
                "summary": "spiking/maze/novelty_summary.csv"}),
    ]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
