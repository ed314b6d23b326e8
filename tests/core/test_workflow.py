"""The Snakemake workflow end to end: dry run, lint, quick run, resume, determinism."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from synlearn.core.io import read_table
from synlearn.reservoir.studies import resolve_studies

from .conftest import SNAKEMAKE, snakemake

ROOT = Path(__file__).resolve().parents[2]
RESERVOIR_STUDIES = ("main", "force", "gain", "protocols", "ablation", "forgetting", "length",
                     "sines", "paper", "paper_candidates")
FIGURES = [f"reservoir_{name}" for name in (
    "example", "learning_curves", "mse_vs_rate", "mse_vs_gain", "alpha_distribution",
    "target_length", "ablation", "protocols", "forgetting", "paper")] + [
    f"reservoir_{study}_{kind}" for study in RESERVOIR_STUDIES for kind in ("error_cdf", "success")] + [
    f"spiking_{name}" for name in ("learning_curves", "rasters", "sensitivity", "maze_free_energy",
                                   "maze_novelty", "novelty_statistics")] + [
    f"synapse_{name}" for name in ("timeseries", "mse_vs_eta", "rate_dependence")] + [
    f"hsic_{name}" for name in ("small_tasks", "image_task", "networks", "window", "variants",
                                "as_published", "alignment", "memory", "closed_loop")]

pytestmark = pytest.mark.workflow


def test_dry_run_of_the_default_config_lists_every_figure():
    result = snakemake("-n", "--cores", "1")
    out = result.stdout + result.stderr
    for name in FIGURES:
        assert f"figure_{name} " in out, name
    assert "reservoir_train" in out


def test_one_synapse_figure_schedules_only_its_own_jobs():
    result = snakemake("-n", "--cores", "1", "results/figures/synapse_timeseries.png")
    planned = result.stdout.split("Job stats:", 1)[1].split("total", 1)[0]
    assert "synapse_timeseries" in planned
    assert "synapse_summary" not in planned and "synapse_rates" not in planned


def planned_submissions(dry_run_output):
    """Submissions a cluster dry run plans: one per group job and per ungrouped job."""
    lines = [line.split("] ", 1)[-1] for line in dry_run_output.splitlines()]
    groups = sum(line.startswith("Group job ") for line in lines)
    alone = sum(line.startswith("rule ") and not line.startswith("rule all:")
                for line in lines if not line.startswith("    "))
    return groups, alone


def test_slurm_dry_run_of_the_default_config_plans_at_most_50_submissions():
    result = snakemake("-n", "--profile", "profiles/slurm")
    out = result.stdout + result.stderr
    stats = out.split("Job stats:", 1)[1].split("Reasons", 1)[0]
    counts = {name: int(count) for name, count in re.findall(r"^(\w+)\s+(\d+)$", stats, re.M)}
    # every job planned: one training job per network of every variant, and the total
    studies = resolve_studies(yaml.safe_load((ROOT / "config/config.yaml").read_text())["reservoir"])
    assert counts["reservoir_train"] == sum(v.networks for vs in studies.values() for v in vs)
    assert counts.pop("total") == sum(counts.values())
    groups, alone = planned_submissions(result.stdout)
    assert alone == 0  # every rule is in a group
    assert 10 <= groups <= 50


def test_the_default_config_is_found_from_any_working_directory(tmp_path):
    result = snakemake("-n", "--cores", "1", "-s", str(ROOT / "Snakefile"), "--directory",
                       str(tmp_path), cwd=tmp_path)
    assert "reservoir_train" in result.stdout and "figure_synapse_mse_vs_eta" in result.stdout


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
    log = (work / "results/logs/reservoir/main/v0/network0.log").read_text()
    progress = [line for line in log.splitlines() if "checkpoint" in line]
    assert len(progress) == 5 and all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", line)
                                      for line in progress)  # one timestamped line each
    for table in (work / "results").rglob("*.csv"):  # every table says what computed it
        sidecar = table.with_suffix(".provenance.json")
        assert {"python", "numpy", "numba", "synlearn", "code"} <= set(json.loads(sidecar.read_text()))
    comparison = pd.read_csv(work / "results/synapse/comparison.csv").set_index("feedback")
    assert set(comparison.index) == {"linear", "cerebellar", "rl"}
    assert (comparison["n_seeds"] == 2).all()
    assert comparison["bayes_mse"].notna().all() and comparison["best_classical_mse"].notna().all()


def test_every_column_of_every_table_is_in_the_column_dictionary(quick_run):
    work, _ = quick_run
    dictionary = (ROOT / "results/README.md").read_text()
    missing = set()
    for table in (work / "results").rglob("*.csv"):
        for column in read_table(table).columns:  # per-job traces may be empty
            swept = column.split("_", 1)[0] in ("network", "target", "protocol") and "_" in column
            if f"`{column}`" not in dictionary and not swept:
                missing.add(f"{table.name}: {column}")
    assert not missing, sorted(missing)


def test_rebuilding_one_figure_reruns_only_that_figure(quick_run):
    work, _ = quick_run
    figure = work / "results/figures/reservoir_mse_vs_rate.png"
    original = figure.read_bytes()
    figure.unlink()
    result = snakemake("--configfile", "config/quick.yaml", "--cores", "1",
                       "results/figures/reservoir_mse_vs_rate.png", cwd=work)
    out = result.stdout + result.stderr
    assert "figure_reservoir_mse_vs_rate" in out
    assert "reservoir_train" not in out
    assert figure.read_bytes() == original  # a figure is byte-identical when redrawn


def grouped_profile(work):
    """The SLURM profile's groups and resources, run by the generic cluster executor:
    each group job is submitted to this machine as a background shell."""
    slurm = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    profile = {key: slurm[key] for key in ("groups", "group-components", "default-resources",
                                            "set-resources", "retries")}
    profile.update({"executor": "cluster-generic", "jobs": 2, "latency-wait": 5,
                    "cluster-generic-submit-cmd": "sh -c 'bash \"$0\" > /dev/null 2>&1 & echo $!'"})
    folder = work / "grouped-profile"
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump(profile))
    return folder


# One study or feedback type per family, with every kind of job (targets, training,
# per-feedback and per-seed summaries, statistics, comparisons): every kind of group of
# the profile, at a fraction of the whole pipeline's cost.
GROUPED_TABLES = ("results/reservoir/main/", "results/synapse/linear/", "results/hsic/networks/")


def test_the_cluster_groups_build_every_table_with_the_same_bytes(quick_run, tmp_path):
    """The tables of a study or feedback type per family again (their training,
    statistics and comparison jobs; not the figures, which are redrawn from identical
    tables), through the SLURM profile's groups, one submission per group: each CSV
    equals that of the local ``--cores 2`` run. The killed-run test below adds
    ``--cores 1``, the figure-rebuild test a figure's bytes."""
    work, _ = quick_run
    grouped = tmp_path / "grouped"
    grouped.mkdir()
    for item in ("Snakefile", "workflow", "config", "src"):  # the very code of the first run
        shutil.copytree(work / item, grouped / item, ignore=shutil.ignore_patterns("__pycache__")) \
            if (work / item).is_dir() else shutil.copy(work / item, grouped / item)
    tables = sorted(str(path.relative_to(work)) for path in (work / "results").rglob("*.csv")
                    if "benchmarks" not in path.parts and str(path.relative_to(work)).startswith(GROUPED_TABLES))
    assert len(tables) > 15
    # the targets before --configfile, which takes every value that follows it
    result = snakemake("--profile", str(grouped_profile(grouped)), *tables, "--configfile",
                       "config/quick.yaml", cwd=grouped)
    assert "Submitted group job" in result.stdout + result.stderr
    outputs = sorted(str(path.relative_to(grouped)) for path in (grouped / "results").rglob("*.csv")
                     if "benchmarks" not in path.parts)
    assert set(tables) <= set(outputs)  # and the tables they are computed from
    differing = [str(path) for path in outputs
                 if (grouped / path).read_bytes() != (work / path).read_bytes()]
    assert differing == []


@pytest.mark.parametrize("table, damage", [
    ("reservoir/main/v0/network0/curves.csv", "truncated"),
    ("synapse/rl/seed1/summary.csv", "empty"),
])
def test_statistics_stop_on_a_missing_empty_or_truncated_run(quick_run, tmp_path, table, damage):
    """A zero-byte or cut per-job table once gave medians over half the runs."""
    work, _ = quick_run
    copy = tmp_path / "copy"
    shutil.copytree(work, copy, symlinks=True, ignore=shutil.ignore_patterns("locks"))
    path = copy / "results" / table
    text = path.read_text()
    path.write_text("" if damage == "empty" else text[: len(text) // 2])
    family = table.split("/")[0]
    target = "results/reservoir/main/summary.csv" if family == "reservoir" else "results/synapse/summary.csv"
    result = snakemake("--configfile", "config/quick.yaml", "--cores", "1", target, cwd=copy,
                       check=False)
    assert result.returncode != 0
    log = copy / "results/logs" / ("reservoir/main" if family == "reservoir" else "synapse")
    message = (log / "statistics.log").read_text()
    assert f"results/{table}: {damage}" in message, message[-3000:]
    assert "statistics.log" in result.stdout + result.stderr  # Snakemake points to the log


def planned_rules(work):
    """Rule name -> job count of what a dry run of the quick config would run now."""
    out = snakemake("-n", "--configfile", "config/quick.yaml", "--cores", "1", cwd=work).stdout
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:", 1)[1].split("total", 1)[0]
    rows = [line.split() for line in table.splitlines()[3:] if line.strip()]
    return {name: int(count) for name, count in rows}


# a family's own module reruns that family only; a core module every family (each case
# is a dry run of the whole quick workflow, so one of each kind)
@pytest.mark.parametrize("edited, families", [
    ("reservoir/kernels.py", {"reservoir"}),
    ("core/io.py", {"reservoir", "synapse", "hsic", "spiking"}),
])
def test_a_code_edit_reruns_exactly_the_jobs_that_depend_on_it(quick_run, edited, families):
    work, _ = quick_run
    first = edited == "reservoir/kernels.py"
    if first:  # once is enough: each dry run costs seconds of the suite's budget
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
    assert planned.pop("report_costs") == len(families)  # the cost table follows the figures
    touched = {name.removeprefix("figure_").split("_")[0] for name in planned}
    assert touched == families
    for family in families:
        assert any(name.startswith(f"{family}_") for name in planned)
        assert any(name.startswith(f"figure_{family}_") for name in planned)
    if first:  # the edit undone: the code hash is back, nothing to rerun
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
                       "figure_synapse_rate_dependence": 1, "report_costs": 1}


def test_a_killed_run_unlocks_resumes_and_gives_the_same_numbers_at_other_cores(quick_run):
    """SIGKILL mid-job, then the README's recovery: --unlock, then --rerun-incomplete."""
    work, _ = quick_run
    job = work / "results/reservoir/main/v0/network1/curves.csv"
    original = job.read_bytes()
    for name in ("curves", "traces", "rates"):
        (job.parent / f"{name}.csv").unlink()
    log = work / "results/logs/reservoir/main/v0/network1.log"
    log.unlink()
    process = subprocess.Popen(
        [*SNAKEMAKE, "--configfile", "config/quick.yaml", "--cores", "1", str(job.relative_to(work))],
        cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.time() + 120
    while not log.exists() and time.time() < deadline:  # the job has started
        time.sleep(0.05)
    assert log.exists()
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not job.exists()  # nothing that looks complete
    assert not list(job.parent.glob(".curves.csv*"))  # nor a temporary file left behind
    locked = snakemake("--configfile", "config/quick.yaml", "--cores", "1", "--rerun-incomplete",
                       str(job.relative_to(work)), cwd=work, check=False)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    snakemake("--configfile", "config/quick.yaml", "--unlock", cwd=work)
    snakemake("--configfile", "config/quick.yaml", "--cores", "1", "--rerun-incomplete",
              str(job.relative_to(work)), cwd=work)
    assert job.read_bytes() == original  # --cores 2 in the first run, 1 here
