"""Every wrong config is rejected with the key named, and stops `snakemake -n` before any job.

Each case edits the quick config in one place (a default, a study's override, one
point of a sweep, the synapse section, the top level) and states the key path the
message must name, as the user wrote it. Every case goes through ``check_config``, the
function the Snakefile calls at parse time; one case per place also goes through a
real ``snakemake -n`` (a separate process each, so not all fifty of them).
"""

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from synlearn import check_config
from synlearn.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
QUICK = yaml.safe_load((ROOT / "config/quick.yaml").read_text())
SCHEMAS = ROOT / "workflow/schemas"
NAN, INF = float("nan"), float("inf")

pytestmark = pytest.mark.workflow


def at(*path):
    """A setter of the quick config's value at ``path`` (dicts created as needed)."""
    def edit(value):
        def apply(config):
            node = config
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = value
        return apply
    return edit


def sweep(study, key, values):
    def apply(config):
        config["reservoir"]["studies"][study]["sweep"] = {key: values}
    return apply


def candidates(study, entries, sweep=None):
    def apply(config):
        config["reservoir"]["studies"][study]["candidates"] = entries
        if sweep is not None:
            config["reservoir"]["studies"][study]["sweep"] = sweep
    return apply


defaults = lambda *path: at("reservoir", "defaults", *path)  # noqa: E731
study = lambda name, *path: at("reservoir", "studies", name, *path)  # noqa: E731
synapse = lambda *path: at("synapse", *path)  # noqa: E731
hsic = lambda *path: at("hsic", *path)  # noqa: E731
spiking = lambda *path: at("spiking", *path)  # noqa: E731

# (case id, edit, the key path the message names, a phrase of what is allowed)
CASES = [
    ("defaults-gain-negative", defaults("network", "gain")(-1.0),
     "reservoir.defaults.network.gain", "minimum of 0"),
    ("defaults-gain-inf", defaults("network", "gain")(INF),
     "reservoir.defaults.network.gain", "not a finite number"),
    ("defaults-gain-string", defaults("network", "gain")("high"),
     "reservoir.defaults.network.gain", "is not of type 'number'"),
    ("defaults-n-units-1", defaults("network", "n_units")(1),
     "reservoir.defaults.network.n_units", "minimum of 2"),
    ("defaults-connection-prob", defaults("network", "connection_prob")(1.5),
     "reservoir.defaults.network.connection_prob", "maximum of 1"),
    ("defaults-target-kind", defaults("target", "kind")("sine"),
     "reservoir.defaults.target.kind", "'gp', 'four_sines'"),
    ("defaults-length-scale", defaults("target", "length_scale")(0.05),
     "reservoir.defaults.target.length_scale", "minimum of 0.1"),
    ("defaults-period-nan", defaults("target", "period_ms")(NAN),
     "reservoir.defaults.target.period_ms", "not a finite number"),
    ("defaults-period-one-step", defaults("target", "period_ms")(1.0),
     "reservoir.defaults.target.period_ms", "at least 2"),
    ("defaults-dt-above-tau", defaults("protocol", "dt_ms")(20.0),
     "reservoir.defaults.protocol.dt_ms", "must not exceed tau_ms"),
    ("defaults-checkpoints-order", defaults("protocol", "checkpoints")([10, 5]),
     "reservoir.defaults.protocol.checkpoints", "distinct and increasing"),
    ("defaults-protocol-kind", defaults("protocol", "kind")("online"),
     "reservoir.defaults.protocol.kind", "'trials', 'continuous'"),
    ("defaults-learn-every", defaults("protocol", "learn_every")(0),
     "reservoir.defaults.protocol.learn_every", "minimum of 1"),
    ("defaults-noise-negative", defaults("protocol", "noise_std")(-0.1),
     "reservoir.defaults.protocol.noise_std", "minimum of 0"),
    ("defaults-unknown-rule", defaults("rules", "hebb")([1e-3]),
     "reservoir.defaults.rules", "'delta', 'bayes', 'rls'"),
    ("defaults-zero-rate", defaults("rules", "delta")([0.0]),
     "reservoir.defaults.rules.delta[0]", "minimum of 0"),
    ("defaults-unknown-key", defaults("epochs")(3),
     "reservoir.defaults", "unknown key 'epochs'; allowed here: candidates, forgetting_tau_ms"),
    ("defaults-sweep", defaults("sweep")({"network.gain": [1.0]}),
     "reservoir.defaults.sweep", "belongs to a study"),
    ("defaults-sweep-bad-key", defaults("sweep")({"network.tau": [1.0]}),
     "reservoir.defaults.sweep", "belongs to a study"),
    ("study-gain-negative", study("gain", "network", "gain")(-1.0),
     "reservoir.studies.gain.network.gain", "minimum of 0"),
    ("study-gain-inf", study("main", "network", "gain")(INF),
     "reservoir.studies.main.network.gain", "not a finite number"),
    ("study-n-units-1", study("main", "network", "n_units")(1),
     "reservoir.studies.main.network.n_units", "minimum of 2"),
    ("study-length-scale", study("length", "target", "length_scale")(0.05),
     "reservoir.studies.length.target.length_scale", "minimum of 0.1"),
    ("study-period-one-step", study("main", "target", "period_ms")(1.0),
     "reservoir.studies.main.target.period_ms", "at least 2"),
    ("study-four-sines-targets", study("sines", "targets")(2),
     "reservoir.studies.sines.targets", "four_sines target is unique"),
    ("study-four-sines-from-defaults", study("main", "target", "kind")("four_sines"),
     "reservoir.defaults.targets (in study 'main')", "four_sines target is unique"),
    ("study-unknown-key", study("main", "epochs")(3),
     "reservoir.studies.main", "unknown key 'epochs'"),
    ("study-no-rules", study("main", "rules")({"delta": [], "bayes": []}),
     "reservoir.studies.main.rules", "no rule settings"),
    ("study-dt-above-tau", study("force", "protocol")({"dt_ms": 20.0}),
     "reservoir.studies.force.protocol.dt_ms", "must not exceed tau_ms"),
    ("sweep-gain-negative", sweep("gain", "network.gain", [1.0, -1.0]),
     'reservoir.studies.gain.sweep["network.gain"][1]', "minimum of 0"),
    ("sweep-gain-inf", sweep("gain", "network.gain", [1.0, INF]),
     'reservoir.studies.gain.sweep["network.gain"][1]', "not a finite number"),
    ("sweep-gain-string", sweep("gain", "network.gain", [1.0, "high"]),
     'reservoir.studies.gain.sweep["network.gain"][1]', "is not of type 'number'"),
    ("sweep-n-units-1", sweep("gain", "network.n_units", [100, 1]),
     'reservoir.studies.gain.sweep["network.n_units"][1]', "minimum of 2"),
    ("sweep-length-scale", sweep("length", "target.length_scale", [0.5, 0.05]),
     'reservoir.studies.length.sweep["target.length_scale"][1]', "minimum of 0.1"),
    ("sweep-target-kind", sweep("length", "target.kind", ["gp", "sine"]),
     'reservoir.studies.length.sweep["target.kind"][1]', "'gp', 'four_sines'"),
    ("sweep-period-nan", sweep("length", "target.period_ms", [100.0, NAN]),
     'reservoir.studies.length.sweep["target.period_ms"][1]', "not a finite number"),
    ("sweep-period-one-step", sweep("length", "target.period_ms", [100.0, 1.0]),
     'reservoir.studies.length.sweep["target.period_ms"][1]', "at least 2"),
    ("sweep-unknown-key", sweep("gain", "network.tau", [1.0]),
     'reservoir.studies.gain.sweep["network.tau"]', "sweepable keys: network.n_units"),
    ("sweep-empty", sweep("gain", "network.gain", []),
     'reservoir.studies.gain.sweep["network.gain"]', "should be non-empty"),
    ("sweep-learn-every", sweep("gain", "protocol.learn_every", [2, 0]),
     'reservoir.studies.gain.sweep["protocol.learn_every"][1]', "minimum of 1"),
    ("sweep-protocol-kind", sweep("protocols", "protocol.kind", ["trials", "online"]),
     'reservoir.studies.protocols.sweep["protocol.kind"][1]', "'trials', 'continuous'"),
    ("sweep-candidate-learn-every", candidates("main", [{}, {"protocol.learn_every": 0}]),
     'reservoir.studies.main.candidates[1]["protocol.learn_every"]', "minimum of 1"),
    ("sweep-candidate-readout-nan", candidates("main", [{"protocol.readout_init_std": NAN}]),
     'reservoir.studies.main.candidates[0]["protocol.readout_init_std"]', "not a finite number"),
    ("sweep-candidate-unknown-key", candidates("main", [{"network.tau": 1.0}]),
     "reservoir.studies.main.candidates[0]", "sweepable keys: network.n_units"),
    ("sweep-candidate-not-a-mapping", candidates("main", [{}, 2]),
     "reservoir.studies.main.candidates[1]", "is not of type 'object'"),
    ("sweep-candidate-twice", candidates("main", [{"protocol.learn_every": 2}, {}]),
     "reservoir.studies.main.candidates[1]", "the same parameters as an earlier candidate"),
    ("sweep-candidate-and-sweep", candidates("main", [{}], sweep={"network.gain": [1.0]}),
     "reservoir.studies.main", "either a sweep (every combination) or candidates"),
    ("sweep-candidate-period", candidates("main", [{}, {"target.period_ms": 1.0}]),
     "reservoir.studies.main.candidates[1]", "at least 2"),
    ("defaults-candidates", defaults("candidates")([{}]),
     "reservoir.defaults.candidates", "belongs to a study"),
    ("synapse-etas-order", synapse("classical_etas")({"low": 0.1, "high": 1e-4, "count": 7}),
     "synapse.classical_etas", "must be below high"),
    ("synapse-etas-nan", synapse("classical_etas", "low")(NAN),
     "synapse.classical_etas.low", "not a finite number"),
    ("synapse-burn-in", synapse("burn_in_tau")(10.0),
     "synapse.burn_in_tau", "shorter than duration_tau"),
    ("synapse-rates-tau", synapse("rates_tau")(1.0),
     "synapse.rates_tau", "must be longer"),
    ("synapse-feedback", synapse("feedbacks")(["linear", "purkinje"]),
     "synapse.feedbacks[1]", "'linear', 'cerebellar', 'rl'"),
    ("synapse-duration", synapse("duration_tau")(-5.0),
     "synapse.duration_tau", "minimum of 0"),
    ("synapse-noise-variance", synapse("noise_variance")("average"),
     "synapse.noise_variance", "'paper', 'constant', 'exact'"),
    ("synapse-unknown-key", synapse("epochs")(3),
     "synapse", "unknown key 'epochs'; allowed here: burn_in_tau"),
    ("hsic-window-1", hsic("tasks", "linear", "window")(1),
     "hsic.tasks.linear.window", "minimum of 2"),
    ("hsic-variant", hsic("tasks", "digits", "variant")("approximate"),
     "hsic.tasks.digits.variant", "'release', 'revised', 'exact'"),
    ("hsic-network-for-images", hsic("tasks", "digits", "network")("spiking"),
     "hsic.studies.main (task 'digits').network", "for the small tasks"),
    ("hsic-sweep-point", hsic("studies", "window", "sweep")({"window": [2, 0]}),
     'hsic.studies.window.sweep["window"][1]', "minimum of 2"),
    ("hsic-study-set", hsic("studies", "main", "set")({"sigma_z": 0.0}),
     "hsic.studies.main.set.sigma_z", "less than or equal to the minimum of 0"),
    ("hsic-unknown-task", hsic("studies", "main", "tasks")(["linear", "cifar10"]),
     "hsic.studies.main.tasks", "unknown task 'cifar10'"),
    ("hsic-lr-nan", hsic("tasks", "xor", "lr")(NAN),
     "hsic.tasks.xor.lr", "not a finite number"),
    ("hsic-mnist-missing", hsic("tasks", "digits", "dataset")("mnist"),
     "hsic.studies.main (task 'digits').dataset", "needs the hsic.mnist section"),
    ("spiking-rate-negative", spiking("maze", "high_hz")(-9.0),
     "spiking.maze.high_hz", "less than or equal to the minimum of 0"),
    ("spiking-rates-order", spiking("maze", "low_hz")(50.0),
     "spiking.maze.low_hz", "must be below high_hz"),
    ("spiking-visible-size", spiking("maze", "n_visible")(784),
     "spiking.maze.n_visible", "the digits images have 64 pixels"),
    ("spiking-stairs-visible", spiking("stairs", "n_visible")(31),
     "spiking.stairs.n_visible", "n_blocks x block_size = 30"),
    ("spiking-batch-bins", spiking("batch_ms")(200.5),
     "spiking.batch_ms", "not a whole number of bins"),
    ("spiking-replaced-room", spiking("maze", "replaced_rooms")([5, 16]),
     "spiking.maze.replaced_rooms[1]", "room 16 does not exist"),
    ("spiking-switch-batches", spiking("maze", "switch_every_s")(20.1),
     "spiking.maze.switch_every_s", "not a whole number of batches"),
    ("spiking-mnist-folder", spiking("maze", "images")("mnist"),
     "spiking.maze.n_visible", "the mnist images have 784 pixels"),
    ("top-unknown-key", at("sed")(1),
     "(top level)", "unknown key 'sed'; allowed here: hsic, reservoir, seed, spiking, synapse"),
    ("top-seed-negative", at("seed")(-1), "seed", "minimum of 0"),
    ("top-seed-string", at("seed")("abc"), "seed", "is not of type 'integer'"),
]


def bad_config(case) -> dict:
    _, edit, _, _ = case
    config = copy.deepcopy(QUICK)
    edit(config)
    return config


def dry_run(case, workdir):
    path = workdir / "bad.yaml"
    workdir.mkdir(parents=True)
    path.write_text(yaml.safe_dump(bad_config(case)))
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(path),
         "--directory", str(workdir)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    return result


def named(key: str) -> str:
    return re.escape(f"bad.yaml: {key}") + r"( \(in study '\w+'\))?: "


FIRST_OF_EACH_PLACE = list({case[0].split("-")[0]: case for case in reversed(CASES)}.values())


def test_the_table_covers_every_category_in_every_place():
    assert len(CASES) >= 40
    places = {case[0].split("-")[0] for case in CASES}
    assert places == {"defaults", "study", "sweep", "synapse", "hsic", "spiking", "top"}
    assert len(FIRST_OF_EACH_PLACE) == len(places)


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_a_wrong_config_is_rejected_with_the_key_named(case):
    name, _, key, allowed = case
    with pytest.raises(ConfigError) as raised:
        check_config(bad_config(case), SCHEMAS, source="bad.yaml")
    message = str(raised.value)
    assert re.search(named(key), message), message
    assert allowed in message, message
    assert len(message.strip().splitlines()) < 15, message  # a few lines, not the schema


@pytest.mark.parametrize("case", FIRST_OF_EACH_PLACE, ids=[case[0] for case in FIRST_OF_EACH_PLACE])
def test_a_wrong_config_stops_the_dry_run_before_any_job(tmp_path, case):
    _, _, key, allowed = case
    result = dry_run(case, tmp_path / "run")
    message = result.stdout + result.stderr
    assert result.returncode != 0, message[-2000:]
    assert re.search(named(key), message), message[-2000:]
    assert allowed in message, message[-2000:]
    assert "Job stats" not in message  # rejected at parse time: no job was planned
    assert not (tmp_path / "run" / "results").exists()
    assert len(message.strip().splitlines()) < 15, message


@pytest.mark.parametrize("dropped, kept", [("synapse", "reservoir"), ("reservoir", "synapse")])
def test_a_family_section_may_be_left_out(tmp_path, dropped, kept):
    config = copy.deepcopy(QUICK)
    del config[dropped]
    path = tmp_path / "partial.yaml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(path),
         "--directory", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    planned = result.stdout.split("Job stats:", 1)[1].split("total", 1)[0]
    assert f"figure_{kept}_" in planned and f"{kept}_" in planned
    assert dropped not in planned


def test_a_yaml_syntax_error_is_reported_with_file_and_line(tmp_path):
    """Snakemake drops the line of a YAML error; ``python -m synlearn check`` gives it."""
    path = tmp_path / "broken.yaml"
    path.write_text("seed: 1\nreservoir:\n  defaults: {networks: [1, 2}\n")
    result = subprocess.run([sys.executable, "-m", "synlearn", "check", str(path)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    assert f"{path}:3:" in result.stderr and "YAML syntax error" in result.stderr
    good = subprocess.run([sys.executable, "-m", "synlearn", "check", "config/quick.yaml",
                           "config/config.yaml"], cwd=ROOT, capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    bad = tmp_path / "bad.yaml"
    config = copy.deepcopy(QUICK)
    sweep("gain", "network.gain", [1.0, -1.0])(config)
    bad.write_text(yaml.safe_dump(config))
    result = subprocess.run([sys.executable, "-m", "synlearn", "check", str(bad)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    assert f'{bad}: reservoir.studies.gain.sweep["network.gain"][1]: ' in result.stderr
