"""Validation of the workflow config against its schemas, with messages that name the key.

The top-level schema (``workflow/schemas/config.schema.yaml``) describes the keys every
config has (``seed``); each family section is described by its own
``<family>.schema.yaml`` beside it, referenced here for every family the package knows,
so adding a family adds no line to a shared schema.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import yaml

from .errors import ConfigError


def load_config(path: Path) -> dict:
    """Parse a YAML config; a syntax error becomes a ConfigError naming file and line."""
    try:
        config = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}: YAML syntax error: {problem}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a config is a mapping of keys at the top level")
    return config


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


def load_schema(path: str | Path) -> dict:
    """A schema file (YAML or JSON) as a dict."""
    return yaml.safe_load(Path(path).read_text())


def check_finite(value, path: tuple = ()) -> None:
    """Raise ConfigError at the first NaN or infinite number anywhere in ``value``."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key_path(path)}: {value!r} is not a finite number")
    if isinstance(value, dict):
        for key, item in value.items():
            check_finite(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_finite(item, (*path, index))


def _message(error) -> str:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        return (f"unknown key{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(repr, unknown))}; allowed here: {', '.join(allowed)}")
    return error.message


def check_value(value, schema: dict, root: dict, where: str) -> None:
    """Validate one value against a fragment of a family schema (``$ref``s into ``root``).

    Raises
    ------
    ConfigError
        ``<where><path inside value>: <what is wrong>``.
    """
    import jsonschema

    check_finite(value, ())
    fragment = {**schema, "$defs": root.get("$defs", {})}
    errors = list(jsonschema.Draft202012Validator(fragment).iter_errors(value))
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        inner = key_path(error.absolute_path)
        suffix = "" if inner == "(top level)" else ("" if inner.startswith("[") else ".") + inner
        raise ConfigError(f"{where}{suffix}: {_message(error)}")


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
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        raise ConfigError(f"{source}: {key_path(error.absolute_path)}: {_message(error)}")
    try:
        check_finite(config)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
