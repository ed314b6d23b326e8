"""Validation of the workflow config against its schemas, with messages that name the key.

The top-level schema (``workflow/schemas/config.schema.yaml``) describes the keys every
config has (``seed``); each family section is described by its own
``<family>.schema.yaml`` beside it, referenced here for every family the package knows,
so adding a family adds no line to a shared schema.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from .errors import ConfigError


def key_path(parts: Iterable) -> str:
    """``reservoir.studies.gain.sweep["network.gain"][1]``: a config key as written."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif "." in str(part):
            text += f'["{part}"]'
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def family_schema(schema_dir: str | Path, families: Iterable[str]) -> dict:
    """The top-level schema with one ``$ref`` to ``<family>.schema.yaml`` per family."""
    schema_dir = Path(schema_dir).resolve()
    schema = yaml.safe_load((schema_dir / "config.schema.yaml").read_text())
    schema["$id"] = (schema_dir / "config.schema.yaml").as_uri()
    schema.setdefault("properties", {})
    for family in families:
        schema["properties"][family] = {"$ref": f"{family}.schema.yaml"}
    schema["additionalProperties"] = False
    return schema


def validate_config(config: dict, schema_dir: str | Path, families: Iterable[str],
                    source: str = "config") -> None:
    """Check ``config`` against the schemas; raise ConfigError naming the worst problem.

    Parameters
    ----------
    config : dict
        The parsed config.
    schema_dir : path
        Folder of ``config.schema.yaml`` and the family sub-schemas.
    families : iterable of str
        Every family the package declares (a config may leave any of them out).
    source : str
        What to call the config in messages (its file name).

    Raises
    ------
    ConfigError
        With the file, the key path as the user wrote it and what is allowed.
    """
    import jsonschema
    from referencing import Registry, Resource

    schema_dir = Path(schema_dir).resolve()
    families = list(families)
    schema = family_schema(schema_dir, families)

    def retrieve(uri: str) -> Resource:
        path = Path(uri.removeprefix("file://"))
        return Resource.from_contents(yaml.safe_load(path.read_text()))

    registry = Registry(retrieve=retrieve)
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    errors = list(validator.iter_errors(config))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    where = key_path(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        message = (f"unknown key{'s' if len(unknown) > 1 else ''} "
                   f"{', '.join(map(repr, unknown))}; allowed here: {', '.join(allowed)}")
    else:
        message = error.message
    raise ConfigError(f"{source}: {where}: {message}")
