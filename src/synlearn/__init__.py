"""synlearn: normative local learning rules in recurrent and spiking networks.

One subpackage per family of experiments (``FAMILIES``); ``synlearn.core`` holds what
two or more families use. Adding a family means adding its name to ``FAMILIES``.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

FAMILIES = ("reservoir", "synapse", "hsic", "spiking")


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


def check_config(config: dict, schema_dir, source: str = "config") -> None:
    """Check a workflow config whole, before any job is planned.

    The top level and every family section against their schemas, then each
    configured family's own cross-field rules (``<family>.check_config``, where the
    family defines it), with messages that name ``source`` and the key path.

    Raises
    ------
    synlearn.core.errors.ConfigError
    """
    from pathlib import Path

    from .core.config import load_schema, validate_config
    from .core.errors import ConfigError

    validate_config(config, schema_dir, FAMILIES, source)
    for name in FAMILIES:
        if config.get(name) is None:
            continue
        module = importlib.import_module(f"{__name__}.{name}")
        check = getattr(module, "check_config", None)
        if check is None:
            continue
        try:
            check(config[name], load_schema(Path(schema_dir) / f"{name}.schema.yaml"))
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}") from None
