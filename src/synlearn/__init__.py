"""synlearn: normative local learning rules in recurrent and spiking networks.

One subpackage per family of experiments (``FAMILIES``); ``synlearn.core`` holds what
two or more families use. Adding a family means adding its name to ``FAMILIES``.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

FAMILIES = ("reservoir", "synapse")


def configured_families(config: dict):
    """The families whose section is present in ``config``, with their figures.

    Parameters
    ----------
    config : dict
        The workflow config; a family without a section is not built.

    Returns
    -------
    list of synlearn.core.registry.Family
    """
    from .core.registry import Family

    families = []
    for name in FAMILIES:
        if config.get(name) is None:
            continue
        module = importlib.import_module(f"{__name__}.{name}")
        families.append(Family(name, module.TITLE, tuple(module.figures(config[name]))))
    return families
