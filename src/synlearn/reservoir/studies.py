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
    "target": ("kind", "period_ms", "length_scale", "repeats"),
    "protocol": ("kind", "noise_std", "pulse_ms", "pulse_amplitude", "learn_every", "init_std"),
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
        )

    def columns(self) -> dict[str, Any]:
        """Columns that identify the variant in tidy tables."""
        return {"study": self.study, "variant": self.name,
                **{key.replace(".", "_"): value for key, value in self.swept.items()}}


def resolve_studies(reservoir_config: dict) -> dict[str, list[Variant]]:
    """Expand the ``reservoir`` section of the config into variants per study.

    Raises
    ------
    ConfigError
        For a sweep key that is not sweepable, an empty sweep, or a variant whose
        parameters are invalid (the message names the study and the parameter).
    """
    defaults = reservoir_config["defaults"]
    studies = {}
    for study, override in reservoir_config["studies"].items():
        override = dict(override or {})
        sweep = override.pop("sweep", {}) or {}
        params = deep_merge(defaults, override)
        for key, values in sweep.items():
            section, _, leaf = key.partition(".")
            if leaf not in SWEEPABLE.get(section, ()):
                allowed = ", ".join(f"{s}.{k}" for s, keys in SWEEPABLE.items() for k in keys)
                raise ConfigError(f"study {study!r}: cannot sweep {key!r}; sweepable keys: {allowed}")
            if not values:
                raise ConfigError(f"study {study!r}: sweep of {key!r} has no values")
        keys = list(sweep)
        variants = []
        for index, point in enumerate(itertools.product(*(sweep[k] for k in keys))):
            resolved = copy.deepcopy(params)
            for key, value in zip(keys, point):
                section, _, leaf = key.partition(".")
                resolved[section][leaf] = value
            variant = Variant(study, f"v{index}", resolved, dict(zip(keys, point)))
            try:
                variant.rule_settings()
                variant.protocol()
            except ConfigError as error:
                raise ConfigError(f"study {study!r}, variant {dict(zip(keys, point))}: {error}") from None
            variants.append(variant)
        studies[study] = variants
    return studies


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


def swept_columns(studies: dict[str, list[Variant]], study: str) -> list[str]:
    """The table columns of the parameters a study sweeps (``network.gain`` -> ``network_gain``)."""
    return sorted({key.replace(".", "_") for v in studies[study] for key in v.swept})
