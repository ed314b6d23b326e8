"""Resolution of the workflow config into studies, variants and jobs.

A study is a named set of runs: the config's ``defaults`` with the study's overrides
merged in (mappings merge, lists and scalars replace), optionally swept over a grid of
parameters given by dotted keys (``network.gain: [1.0, 1.5]``). Each point of the sweep
is a variant; each variant is simulated as one job per network, every target and rule
setting of that network batched into one kernel call.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any

from ..core.errors import ConfigError
from .protocol import Protocol, RuleSetting

SWEEPABLE = {
    "network": ("n_units", "connection_prob", "gain", "readout_gain_log10_sd"),
    "target": ("kind", "period_ms", "length_scale", "repeats", "standardise"),
    "protocol": ("kind", "noise_std", "pulse_ms", "pulse_amplitude", "learn_every", "init_std",
                 "test_periods", "n_test_trials", "readout_init_std"),
}


def deep_merge(base: dict, override: dict) -> dict:
    """Return ``base`` updated by ``override``; nested mappings merge, anything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@dataclass(frozen=True)
class Variant:
    """One point of a study's sweep: fully resolved parameters."""

    study: str
    name: str
    params: dict
    swept: dict

    @property
    def networks(self) -> int:
        return int(self.params["networks"])

    @property
    def targets(self) -> int:
        return int(self.params["targets"])

    def rule_settings(self) -> list[RuleSetting]:
        """Every rule setting of the variant; forgetting adds Bayesian settings."""
        rules = self.params["rules"]
        settings = [RuleSetting(rule, float(rate)) for rule in ("delta", "bayes", "rls")
                    for rate in rules.get(rule, [])]
        settings += [RuleSetting("bayes", float(rate), float(tau))
                     for tau in self.params.get("forgetting_tau_ms", [])
                     for rate in rules.get("bayes", [])]
        if not settings:
            raise ConfigError(f"study {self.study!r}: no rule settings (all rule lists empty)")
        return settings

    def protocol(self) -> Protocol:
        p = self.params["protocol"]
        return Protocol(
            kind=p["kind"], dt=float(p["dt_ms"]), tau=float(p["tau_ms"]),
            learn_every=int(p["learn_every"]), noise_std=float(p["noise_std"]),
            init_std=float(p["init_std"]), pulse_ms=float(p["pulse_ms"]),
            pulse_amplitude=float(p["pulse_amplitude"]), n_test_trials=int(p["n_test_trials"]),
            test_periods=int(p["test_periods"]), checkpoints=tuple(int(c) for c in p["checkpoints"]),
            divergence_bound=float(p["divergence_bound"]),
            readout_init_std=float(p.get("readout_init_std", 0.0)),
        )

    def columns(self) -> dict[str, Any]:
        """Columns that identify the variant in tidy tables."""
        return {"study": self.study, "variant": self.name,
                **{key.replace(".", "_"): value for key, value in self.swept.items()}}


def resolve_studies(reservoir_config: dict, schema: dict | None = None) -> dict[str, list[Variant]]:
    """Expand the ``reservoir`` section of the config into variants per study.

    Every value is checked the same way wherever it is written: in ``defaults``, in a
    study's overrides, or as one point of a ``sweep`` list (a swept value is validated
    as the key it sweeps). Cross-field rules (a unique ``four_sines`` target, a period
    of at least two steps, ``dt <= tau``, increasing checkpoints, at least one rule
    setting) are checked on every variant.

    Parameters
    ----------
    reservoir_config : dict
        The ``reservoir`` section: ``defaults`` and ``studies``.
    schema : dict, optional
        The family's schema (``workflow/schemas/reservoir.schema.yaml``); with it, each
        swept value is validated against the schema of the key it sweeps.

    Raises
    ------
    ConfigError
        Naming the key as the user wrote it, for example
        ``reservoir.studies.gain.sweep["network.gain"][1]: -1 is less than or equal to
        the minimum of 0`` or ``reservoir.defaults.sweep: ...``.
    """
    defaults = reservoir_config["defaults"]
    for key in ("sweep", "candidates"):
        if key in defaults:
            what = "a sweep" if key == "sweep" else "a list of candidates"
            raise ConfigError(f"reservoir.defaults.{key}: {what} belongs to a study "
                              f"(reservoir.studies.<name>.{key}), not to the defaults")
    studies = {}
    for study, override in reservoir_config["studies"].items():
        override = dict(override or {})
        sweep = override.pop("sweep", {}) or {}
        candidates = override.pop("candidates", None)
        if candidates is not None and sweep:
            raise ConfigError(f"reservoir.studies.{study}: give either a sweep (every "
                              f"combination) or candidates (one variant each), not both")
        params = deep_merge(defaults, override)
        for key, values in sweep.items():
            where = f'reservoir.studies.{study}.sweep["{key}"]'
            if not isinstance(values, list) or not values:
                _check_sweepable(key, where)
                raise ConfigError(f"{where}: a sweep is a non-empty list of values, got {values!r}")
            for index, value in enumerate(values):
                _check_swept_value(key, value, schema, where, f"{where}[{index}]")
        if candidates is not None:
            studies[study] = _candidate_variants(study, params, override, candidates, schema)
            continue
        keys = list(sweep)
        variants = []
        for index, point in enumerate(itertools.product(*(sweep[k] for k in keys))):
            resolved = copy.deepcopy(params)
            for key, value in zip(keys, point):
                section, _, leaf = key.partition(".")
                resolved[section][leaf] = value
            swept = dict(zip(keys, point))
            _check_parameters(resolved, override, {k: sweep[k].index(v) for k, v in swept.items()},
                              study)
            variants.append(Variant(study, f"v{index}", resolved, swept))
        studies[study] = variants
    return studies


def _check_sweepable(key: str, where: str) -> None:
    section, _, leaf = key.partition(".")
    if leaf not in SWEEPABLE.get(section, ()):
        allowed = ", ".join(f"{s}.{k}" for s, keys in SWEEPABLE.items() for k in keys)
        raise ConfigError(f"{where}: {key!r} cannot be swept; sweepable keys: {allowed}")


def _check_swept_value(key: str, value: Any, schema: dict | None, where: str, at: str) -> None:
    """A swept or candidate value is validated as the key it sets."""
    _check_sweepable(key, where)
    if schema is not None:
        from ..core.config import check_value

        section, _, leaf = key.partition(".")
        leaf_schema = schema["$defs"]["parameters"]["properties"][section]["properties"][leaf]
        check_value(value, leaf_schema, schema, at)


def _candidate_variants(study: str, params: dict, override: dict, candidates: Any,
                        schema: dict | None) -> list[Variant]:
    """One variant per candidate: the study's parameters with a few dotted keys changed.

    Every variant carries every key that any candidate changes (the others at the
    study's value), so the tables have one column per such key, as for a sweep.
    """
    where = f"reservoir.studies.{study}.candidates"
    if not isinstance(candidates, list) or not candidates:
        raise ConfigError(f"{where}: candidates are a non-empty list of mappings "
                          f"(dotted key: value), got {candidates!r}")
    keys: list[str] = []
    for index, candidate in enumerate(candidates):
        if not isinstance(candidate, dict):
            raise ConfigError(f"{where}[{index}]: a candidate is a mapping of dotted keys to "
                              f"values ({{}} for the study's own parameters), got {candidate!r}")
        for key, value in candidate.items():
            _check_swept_value(key, value, schema, f"{where}[{index}]", f'{where}[{index}]["{key}"]')
            if key not in keys:
                keys.append(key)
    variants = []
    for index, candidate in enumerate(candidates):
        resolved = copy.deepcopy(params)
        for key, value in candidate.items():
            section, _, leaf = key.partition(".")
            resolved[section][leaf] = value
        swept = {}
        for key in keys:
            section, _, leaf = key.partition(".")
            swept[key] = resolved[section].get(leaf)
        if any(value is None for value in swept.values()):
            missing = [key for key, value in swept.items() if value is None]
            raise ConfigError(f"{where}[{index}]: no value for {', '.join(missing)} in the "
                              f"defaults or the study; set it in every candidate")
        if swept in [v.swept for v in variants]:
            raise ConfigError(f"{where}[{index}]: the same parameters as an earlier candidate")
        try:
            _check_parameters(resolved, override, {}, study)
        except ConfigError as error:
            raise ConfigError(f"{where}[{index}]: {error}") from None
        variants.append(Variant(study, f"v{index}", resolved, swept))
    return variants


def _blame(key: str, study: str, override: dict, sweep_index: dict[str, int]) -> str:
    """Where the user wrote ``key`` (dotted) for a variant of ``study``."""
    if key in sweep_index:
        return f'reservoir.studies.{study}.sweep["{key}"][{sweep_index[key]}]'
    node = override
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return f"reservoir.defaults.{key} (in study {study!r})"
        node = node[part]
    return f"reservoir.studies.{study}.{key}"


def _check_parameters(params: dict, override: dict, sweep_index: dict[str, int], study: str) -> None:
    """Cross-field rules of one variant's parameters; errors name the key's origin."""

    def fail(key: str, message: str):
        raise ConfigError(f"{_blame(key, study, override, sweep_index)}: {message}")

    target, protocol = params.get("target", {}), params.get("protocol", {})
    if target.get("kind") == "four_sines" and params.get("targets", 1) != 1:
        fail("targets", f"the four_sines target is unique, so targets must be 1 "
                        f"(got {params.get('targets')})")
    dt = protocol.get("dt_ms")
    if target.get("kind") == "gp" and dt and target.get("period_ms"):
        steps = round(float(target["period_ms"]) * int(target.get("repeats", 1)) / float(dt))
        if steps < 2:
            fail("target.period_ms", f"a period of {target['period_ms']} ms is {steps} step(s) "
                                     f"of dt_ms = {dt}; it needs at least 2")
    if dt and protocol.get("tau_ms") and float(dt) > float(protocol["tau_ms"]):
        fail("protocol.dt_ms", f"dt_ms ({dt}) must not exceed tau_ms ({protocol['tau_ms']})")
    points = list(protocol.get("checkpoints") or [])
    if points and points != sorted(set(points)):
        fail("protocol.checkpoints", f"checkpoints must be distinct and increasing, got {points}")
    rules = params.get("rules")
    if rules is not None and not any(rules.get(rule) for rule in ("delta", "bayes", "rls")):
        fail("rules", "no rule settings: every rule list is empty")
    variant = Variant(study, "check", params, {})
    try:
        variant.rule_settings()
        variant.protocol()
    except ConfigError as error:
        raise ConfigError(f"reservoir.studies.{study}: {error}") from None


def check_config(section: dict, schema: dict) -> None:
    """Check the ``reservoir`` section whole, before any job (see ``resolve_studies``)."""
    resolve_studies(section, schema)


def find_variant(studies: dict[str, list[Variant]], study: str, name: str) -> Variant:
    for variant in studies[study]:
        if variant.name == name:
            return variant
    raise KeyError(f"no variant {name!r} in study {study!r}")


def network_tables(studies: dict[str, list[Variant]], study: str, table: str) -> list[str]:
    """Paths (below the results folder) of one per-network table of every job of a study.

    Parameters
    ----------
    studies : dict
        ``resolve_studies`` output.
    study : str
    table : {"curves", "traces", "rates"}
    """
    return [
        f"reservoir/{study}/{variant.name}/network{n}/{table}.csv"
        for variant in studies[study]
        for n in range(variant.networks)
    ]


def expected_curve_rows(studies: dict[str, list[Variant]], study: str) -> list[int]:
    """Rows of each per-network ``curves.csv`` of a study, in ``network_tables`` order:
    targets x rule settings x checkpoints of the job's variant."""
    return [
        variant.targets * len(variant.rule_settings()) * len(variant.params["protocol"]["checkpoints"])
        for variant in studies[study]
        for _ in range(variant.networks)
    ]


def swept_columns(studies: dict[str, list[Variant]], study: str) -> list[str]:
    """The table columns of the parameters a study sweeps (``network.gain`` -> ``network_gain``)."""
    return sorted({key.replace(".", "_") for v in studies[study] for key in v.swept})
