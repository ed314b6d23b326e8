"""The config schema and the resolution of studies: bad input names the problem."""

import re
from pathlib import Path

import pytest
import yaml

from synlearn import FAMILIES
from synlearn.core.config import key_path, validate_config
from synlearn.core.errors import ConfigError
from synlearn.reservoir.studies import deep_merge, resolve_studies

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "workflow/schemas"


def load(name="quick.yaml"):
    return yaml.safe_load((ROOT / "config" / name).read_text())


def validation_error(config):
    """The message and the key path of the rejection, as ``validate_config`` words them."""
    with pytest.raises(ConfigError) as caught:
        validate_config(config, SCHEMAS, FAMILIES, source="quick.yaml")
    source, path, message = str(caught.value).split(": ", 2)
    assert source == "quick.yaml"
    return message, path


def written(path):
    """``reservoir/rules/delta/1`` as the key path a user reads: ``reservoir.rules.delta[1]``."""
    return key_path(int(part) if part.isdigit() else part for part in path.split("/") if part)


@pytest.mark.parametrize("name", ["config.yaml", "quick.yaml"])
def test_shipped_configs_are_valid(name):
    validate_config(load(name), SCHEMAS, FAMILIES)
    studies = resolve_studies(load(name)["reservoir"])
    assert set(studies) >= {"main", "force", "gain", "protocols", "ablation", "forgetting", "length"}


@pytest.mark.parametrize(
    "edit, message, path",
    [
        (lambda c: c["reservoir"]["defaults"].update(epochs=3),
         "unknown key 'epochs'; allowed here: candidates, forgetting_tau_ms, network", "reservoir/defaults"),
        (lambda c: c.update(sed=1), "unknown key 'sed'; allowed here: hsic, reservoir, seed, spiking, synapse", ""),
        (lambda c: c["reservoir"]["defaults"]["network"].update(n_units="500"),
         "'500' is not of type 'integer'", "reservoir/defaults/network/n_units"),
        (lambda c: c["reservoir"]["defaults"]["rules"].update(delta=[1e-3, 0.0]),
         "less than or equal to the minimum of 0", "reservoir/defaults/rules/delta/1"),
        (lambda c: c["reservoir"]["defaults"]["rules"].update(bayes=[-1e-3]),
         "less than or equal to the minimum of 0", "reservoir/defaults/rules/bayes/0"),
        (lambda c: c["reservoir"]["defaults"]["network"].update(n_units=1),
         "1 is less than the minimum of 2", "reservoir/defaults/network/n_units"),
        (lambda c: c["reservoir"]["defaults"]["network"].update(gain=0),
         "0 is less than or equal to the minimum of 0", "reservoir/defaults/network/gain"),
        (lambda c: c["reservoir"]["studies"]["gain"].update(network={"gain": -1.5}),
         "less than or equal to the minimum of 0", "reservoir/studies/gain/network/gain"),
        (lambda c: c["reservoir"]["defaults"]["rules"].update(hebb=[1e-3]),
         "'hebb' is not one of ['delta', 'bayes', 'rls']", "reservoir/defaults/rules"),
        (lambda c: c["reservoir"]["studies"].update(extra={"rules": {"oja": [1.0]}}),
         "'oja' is not one of ['delta', 'bayes', 'rls']", "reservoir/studies/extra/rules"),
        (lambda c: c["reservoir"]["defaults"]["protocol"].update(kind="online"),
         "'online' is not one of ['trials', 'continuous']", "reservoir/defaults/protocol/kind"),
        (lambda c: c["reservoir"]["defaults"]["protocol"].update(dt_ms=0),
         "less than or equal to the minimum of 0", "reservoir/defaults/protocol/dt_ms"),
        (lambda c: c["synapse"].update(feedbacks=["linear", "purkinje"]),
         "'purkinje' is not one of ['linear', 'cerebellar', 'rl']", "synapse/feedbacks/1"),
        (lambda c: c["synapse"].update(duration_tau=-5),
         "less than or equal to the minimum of 0", "synapse/duration_tau"),
        (lambda c: c["synapse"]["classical_etas"].update(low=0),
         "less than or equal to the minimum of 0", "synapse/classical_etas/low"),
        (lambda c: c["synapse"].update(noise_variance="average"),
         "'average' is not one of ['paper', 'constant', 'exact']", "synapse/noise_variance"),
    ],
)
def test_bad_config_is_rejected_with_the_key_named(edit, message, path):
    config = load()
    edit(config)
    got_message, got_path = validation_error(config)
    assert message in got_message
    assert got_path == written(path)


def test_missing_required_default_is_named():
    config = load()
    del config["reservoir"]["defaults"]["protocol"]["tau_ms"]
    message, _ = validation_error(config)
    assert "'tau_ms' is a required property" in message


def test_sweep_of_an_unknown_key_names_the_allowed_keys():
    config = load()
    config["reservoir"]["studies"]["gain"]["sweep"] = {"network.tau": [1.0]}
    with pytest.raises(ConfigError, match=re.escape(
            'reservoir.studies.gain.sweep["network.tau"]: \'network.tau\' cannot be swept; '
            "sweepable keys: network.n_units")):
        resolve_studies(config["reservoir"])


def test_a_swept_value_is_validated_as_the_key_it_sweeps():
    config = load()
    config["reservoir"]["studies"]["gain"]["sweep"] = {"protocol.learn_every": [2, 0]}
    schema = yaml.safe_load((SCHEMAS / "reservoir.schema.yaml").read_text())
    with pytest.raises(ConfigError, match=re.escape(
            'reservoir.studies.gain.sweep["protocol.learn_every"][1]: 0 is less than the minimum of 1')):
        resolve_studies(config["reservoir"], schema)
    # without the schema the variant's own check still stops it, naming the study
    with pytest.raises(ConfigError, match=re.escape(
            "reservoir.studies.gain: learn_every must be an integer >= 1, got 0")):
        resolve_studies(config["reservoir"])


def test_study_with_no_rule_settings_is_an_error():
    config = load()
    config["reservoir"]["studies"]["main"] = {"rules": {"delta": [], "bayes": []}}
    with pytest.raises(ConfigError, match=re.escape("reservoir.studies.main.rules: no rule settings")):
        resolve_studies(config["reservoir"])


def test_sweeps_expand_to_the_cartesian_product():
    studies = resolve_studies(load()["reservoir"])
    ablation = studies["ablation"]
    assert len(ablation) == 4
    assert {(v.swept["protocol.noise_std"], v.swept["network.readout_gain_log10_sd"]) for v in ablation} == {
        (0.0, 0.0), (0.0, 0.5), (0.05, 0.0), (0.05, 0.5)}
    assert ablation[0].columns()["protocol_noise_std"] == 0.0
    forgetting = studies["forgetting"][0].rule_settings()
    assert sum(s.forgetting_tau is not None for s in forgetting) == 3  # one tau x 3 eta0


def test_candidates_are_one_variant_each_with_every_changed_key_as_a_column():
    section = load()["reservoir"]
    section["studies"] = {"pick": {
        "protocol": {"kind": "continuous", "readout_init_std": 1.0},
        "candidates": [{}, {"protocol.learn_every": 1},
                       {"protocol.readout_init_std": 0.0, "protocol.kind": "trials"}]}}
    (variants,) = resolve_studies(section).values()
    assert [v.name for v in variants] == ["v0", "v1", "v2"]
    columns = [v.columns() for v in variants]
    # a key left alone by a candidate carries the study's value
    assert [(c["protocol_learn_every"], c["protocol_readout_init_std"], c["protocol_kind"])
            for c in columns] == [(2, 1.0, "continuous"), (1, 1.0, "continuous"), (2, 0.0, "trials")]
    assert [v.protocol().learn_every for v in variants] == [2, 1, 2]
    assert variants[2].protocol().readout_init_std == 0.0 and variants[2].protocol().kind == "trials"


def test_deep_merge_merges_mappings_and_replaces_lists():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 2}
    merged = deep_merge(base, {"a": {"y": [3]}})
    assert merged == {"a": {"x": 1, "y": [3]}, "b": 2}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 2}
    assert deep_merge(base, None) == base and deep_merge(base, {}) is not base
