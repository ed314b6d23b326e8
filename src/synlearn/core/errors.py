"""Errors raised on bad input, so callers can tell them from bugs."""


class ConfigError(ValueError):
    """A parameter or config entry is invalid; the message names it and what is allowed."""


def require_positive(name: str, value: float) -> float:
    """Return ``value`` as float, or raise ConfigError naming ``name`` if not > 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a positive number, got {value!r}") from None
    if not number > 0 or number != number or number == float("inf"):
        raise ConfigError(f"{name} must be a positive finite number, got {value!r}")
    return number


class DatasetError(ConfigError):
    """A data set's file is missing, truncated or malformed, or a download failed its check.

    The message names the file (or URL) and what was expected of it.
    """


class IncompleteResultError(RuntimeError):
    """An input table of a statistics step is missing, empty or truncated."""
