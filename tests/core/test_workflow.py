"""The Snakemake workflow end to end: dry run, lint, quick run, resume, determinism."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
FIGURES = [f"reservoir_{name}" for name in (
    "example", "learning_curves", "mse_vs_rate", "mse_vs_gain", "alpha_distribution",
    "target_length", "ablation", "protocols", "forgetting")] + [
    f"synapse_{name}" for name in ("timeseries", "mse_vs_eta", "rate_dependence")]

pytestmark = pytest.mark.workflow


def snakemake(*args, cwd=ROOT, check=True, timeout=900):
    result = subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def test_dry_run_of_the_default_config_lists_every_figure():
    result = snakemake("-n", "--cores", "1")
    out = result.stdout + result.stderr
    for name in FIGURES:
        assert f"figure_{name} " in out, name
    assert "reservoir_train" in out


def test_lint_is_clean():
    result = snakemake("--lint")
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_snakefmt_is_clean():
    snakefmt = shutil.which("snakefmt") or str(Path(sys.executable).parent / "snakefmt")
    result = subprocess.run([snakefmt, "--check", "Snakefile", "workflow"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_bad_config_stops_the_run_with_the_key_named(tmp_path):
    config = (ROOT / "config/quick.yaml").read_text().replace("gain: 1.5", "gain: -1.5", 1)
    (tmp_path / "bad.yaml").write_text(config)
    result = snakemake("-n", "--configfile", str(tmp_path / "bad.yaml"), check=False)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "bad.yaml: reservoir.defaults.network.gain: -1.5 is less than or equal to the minimum of 0" in message


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The whole quick pipeline in a fresh copy of the workflow (as a user would run it)."""
    work = tmp_path_factory.mktemp("workflow")
    for item in ("Snakefile", "workflow", "config", "profiles", "src"):
        source = ROOT / item
        (shutil.copytree if source.is_dir() else shutil.copy)(
            source, work / item, **({"ignore": shutil.ignore_patterns("__pycache__")} if source.is_dir() else {}))
    started = time.perf_counter()
    snakemake("--configfile", "config/quick.yaml", "--cores", "2", cwd=work)
    return work, time.perf_counter() - started


def test_quick_config_builds_every_figure(quick_run):
    work, seconds = quick_run
    for name in FIGURES:
        for ext in ("png", "pdf"):
            figure = work / "results" / "figures" / f"{name}.{ext}"
            assert figure.stat().st_size > 5000, figure
    assert seconds < 600
    curves = pd.read_csv(work / "results/reservoir/main/curves.csv")
    assert {"network", "target", "rule", "rate", "trial", "test_mse", "train_mse", "diverged",
            "seed", "code"} <= set(curves.columns)
    assert len(curves) == 2 * 2 * 6 * 5  # networks x targets x settings x checkpoints
    benchmark = work / "results/benchmarks/reservoir/main/v0/network0.tsv"
    assert "cpu_time" in benchmark.read_text()
    # every kind of job records its CPU time, so budget totals leave nothing out
    recorded = {path.relative_to(work / "results/benchmarks").as_posix()
                for path in (work / "results/benchmarks").rglob("*.tsv")}
    assert {"reservoir/compile.tsv", "reservoir/main/v0/targets.tsv",
            "reservoir/main/statistics.tsv", "synapse/compile.tsv", "synapse/linear/seed0.tsv",
            "synapse/linear/timeseries.tsv", "synapse/linear/rates.tsv",
            "synapse/statistics.tsv"} <= recorded
    assert {f"{name.split('_')[0]}/figures/{name}.tsv" for name in FIGURES} <= recorded
    comparison = pd.read_csv(work / "results/synapse/comparison.csv").set_index("feedback")
    assert set(comparison.index) == {"linear", "cerebellar", "rl"}
    assert (comparison["n_seeds"] == 2).all()
    assert comparison["bayes_mse"].notna().all() and comparison["best_classical_mse"].notna().all()


def test_rebuilding_one_figure_reruns_only_that_figure(quick_run):
    work, _ = quick_run
    (work / "results/figures/reservoir_mse_vs_rate.png").unlink()
    result = snakemake("--configfile", "config/quick.yaml", "--cores", "1",
                       "results/figures/reservoir_mse_vs_rate.png", cwd=work)
    out = result.stdout + result.stderr
    assert "figure_reservoir_mse_vs_rate" in out
    assert "reservoir_train" not in out
    assert (work / "results/figures/reservoir_mse_vs_rate.png").exists()


def planned_rules(work):
    """Rule name -> job count of what a dry run of the quick config would run now."""
    out = snakemake("-n", "--configfile", "config/quick.yaml", "--cores", "1", cwd=work).stdout
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:", 1)[1].split("total", 1)[0]
    rows = [line.split() for line in table.splitlines()[3:] if line.strip()]
    return {name: int(count) for name, count in rows}


@pytest.mark.parametrize("edited, families", [
    ("reservoir/kernels.py", {"reservoir"}),
    ("reservoir/studies.py", {"reservoir"}),
    ("synapse/kernels.py", {"synapse"}),
    ("core/io.py", {"reservoir", "synapse"}),
])
def test_a_code_edit_reruns_exactly_the_jobs_that_depend_on_it(quick_run, edited, families):
    work, _ = quick_run
    assert planned_rules(work) == {}
    source = work / "src/synlearn" / edited
    original = source.read_bytes()
    try:
        source.write_bytes(original + b"\n# an edit\n")
        planned = planned_rules(work)
    finally:
        source.write_bytes(original)
    # the compile marker and every training, statistics and figure job of each family
    assert planned.pop("compile_kernels") == len(families)
    assert planned.pop("all") == 1
    touched = {name.removeprefix("figure_").split("_")[0] for name in planned}
    assert touched == families
    for family in families:
        assert any(name.startswith(f"{family}_") for name in planned)
        assert any(name.startswith(f"figure_{family}_") for name in planned)
    assert planned_rules(work) == {}


def test_a_figure_edit_reruns_only_the_figures(quick_run):
    work, _ = quick_run
    source = work / "src/synlearn/synapse/plots.py"
    original = source.read_bytes()
    try:
        source.write_bytes(original + b"\n# an edit\n")
        planned = planned_rules(work)
    finally:
        source.write_bytes(original)
    planned.pop("all")
    assert planned == {"figure_synapse_timeseries": 1, "figure_synapse_mse_vs_eta": 1,
                       "figure_synapse_rate_dependence": 1}


def test_a_killed_job_resumes_and_gives_the_same_numbers_at_other_cores(quick_run):
    work, _ = quick_run
    job = work / "results/reservoir/main/v0/network1/curves.csv"
    original = job.read_bytes()
    for name in ("curves", "traces", "rates"):
        (job.parent / f"{name}.csv").unlink()
    process = subprocess.Popen(
        [*SNAKEMAKE, "--configfile", "config/quick.yaml", "--cores", "1", str(job.relative_to(work))],
        cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    log = work / "results/logs/reservoir/main/v0/network1.log"
    deadline = time.time() + 60
    while not log.exists() and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not job.exists()  # nothing that looks complete
    snakemake("--configfile", "config/quick.yaml", "--cores", "1", "--rerun-incomplete",
              str(job.relative_to(work)), cwd=work)
    assert job.read_bytes() == original  # --cores 2 in the first run, 1 here
