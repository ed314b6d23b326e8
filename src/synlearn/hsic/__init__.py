"""Information-bottleneck (HSIC) three-factor Hebbian learning.

Daruwalla, K. & Lipasti, M. (2024). Information bottleneck-based Hebbian learning rule
naturally ties working memory and synaptic updates. Front. Comput. Neurosci. 18,
1240348. Each hidden layer of an MLP descends ``HSIC(X, Z_l) - gamma HSIC(Y, Z_l)`` over
a short window of recent samples through a per-neuron global signal pulled back through
that layer alone; the readout learns by the window's cross-entropy; a back-prop
baseline trains the same network end to end.

Modules: ``kernels`` (Numba), ``objective`` (kernels, HSIC, the global signal),
``layers`` (the layer protocol, ``Dense``, ``Readout``, ``MLP``), ``optim`` (AdamW,
SGD), ``tasks`` (the linear, XOR and image tasks), ``training`` (the window step and
the training loops), ``leaky`` (leaky-integrator and spiking networks), ``studies``
(config to jobs), ``pipeline`` (jobs to tables), ``stats``, ``plots``.
"""

from __future__ import annotations

import importlib

from ..core.registry import Figure

TITLE = "Information-bottleneck Hebbian learning"

# Figure -> (plot function, the study whose summary it reads); drawn when the study is
# configured.
STUDY_FIGURES = {
    "hsic_small_tasks": ("small_tasks", "main"),
    "hsic_image_task": ("image_task", "main"),
    "hsic_networks": ("networks", "networks"),
    "hsic_window": ("window", "window"),
    "hsic_variants": ("variants", "variants"),
    "hsic_as_published": ("as_published", "as_published"),
}

_EXPORTS = {
    "check_config": "studies",
    "resolve_settings": "studies",
    "training_table": "pipeline",
    "alignment_table": "pipeline",
    "compile_kernels": "pipeline",
    "accuracy_summary": "stats",
}
__all__ = ["TITLE", "figures", *_EXPORTS]


def figures(section: dict) -> list[Figure]:
    """The family's figures for its config section (``hsic``).

    Parameters
    ----------
    section : dict
        The ``hsic`` section of the config.

    Returns
    -------
    list of Figure
        Each study figure reads ``hsic/<study>/summary.csv``; the alignment, memory
        and closed-loop figures their own tables.
    """
    studies = section.get("studies") or {}
    shown = [Figure(name, function, {"summary": f"hsic/{study}/summary.csv"})
             for name, (function, study) in STUDY_FIGURES.items() if study in studies]
    return shown + [
        Figure("hsic_alignment", "alignment", {"alignment": "hsic/alignment.csv"}),
        Figure("hsic_memory", "memory", {"trace": "hsic/memory/trace.csv",
                                          "summary": "hsic/memory/summary.csv"}),
        Figure("hsic_closed_loop", "closed_loop", {"summary": "hsic/closed_loop/summary.csv"}),
    ]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
