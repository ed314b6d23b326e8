"""Each job's own CPU record (``log_to``) and their sum (``benchmarks/workflow_cpu.py``).

Snakemake's ``benchmark:`` samples a job's CPU time, every 30 s after the first 15 s, so
it misses up to 30 s of every job; the record is ``getrusage`` at exit. The records are
checked against the kernel's own count of a subprocess, seen from its parent.
"""

import ast
import importlib.util
import re
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from synlearn.core.io import CPU_RECORD_COLUMNS, cpu_record_path

from .conftest import snakemake

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_CPU = ROOT / "benchmarks/workflow_cpu.py"

BURN = """
import time

def burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
"""


@pytest.fixture(scope="module")
def workflow_cpu():
    spec = importlib.util.spec_from_file_location("workflow_cpu", WORKFLOW_CPU)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_job(log: Path, body: str) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run ``body`` as a workflow script logging to ``log``; its exit, CPU and wall seconds.

    The CPU seconds are the kernel's count of the process and of the children it
    waited for, as its parent (this test) sees it once it has ended.
    """
    script = f"import sys\nfrom synlearn.core.io import log_to\nlog_to({str(log)!r})\n{BURN}\n"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", script + textwrap.dedent(body)],
                            check=False, capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return result, cpu, wall


def read_record(log: Path) -> pd.Series:
    record = pd.read_csv(cpu_record_path(log), sep="\t", keep_default_na=False)
    assert list(record.columns) == CPU_RECORD_COLUMNS and len(record) == 1
    return record.iloc[0]


def test_the_record_counts_the_whole_process_and_its_children(tmp_path):
    log = tmp_path / "logs/fam/study/job.log"
    log.parent.mkdir(parents=True)
    result, cpu, wall = run_job(log, """
        import subprocess
        burn(1.0)
        child = "import time\\nend = time.process_time() + 0.5\\nwhile time.process_time() < end: pass"
        subprocess.run([sys.executable, "-c", child], check=True)
    """)
    assert result.returncode == 0, result.stderr
    record = read_record(log)
    assert record["status"] == "ok" and record["error"] == ""
    # Everything but the interpreter's shutdown after the record was written (tearing
    # down NumPy and pandas: about 0.1 s).
    assert cpu - 0.3 <= record["cpu_s"] <= cpu + 0.01
    assert record["cpu_s"] == pytest.approx(record["self_cpu_s"] + record["children_cpu_s"],
                                            abs=0.002)
    assert record["self_cpu_s"] >= 1.0
    assert 0.5 <= record["children_cpu_s"] < 1.0  # the child's burn and its start-up
    # From the start of the interpreter, not of log_to: imports count too.
    assert record["cpu_s"] <= record["wall_s"] + 0.1 and 1.5 <= record["wall_s"] <= wall + 0.02
    assert record["max_rss_mb"] > 10  # MiB, not KiB or bytes
    assert not any(path.name.startswith(".") for path in log.parent.iterdir())  # no temp left


def test_a_failed_process_records_its_failure(tmp_path):
    log = tmp_path / "job.log"
    result, _, _ = run_job(log, """
        burn(0.1)
        raise ValueError("the config is wrong")
    """)
    assert result.returncode != 0
    assert "ValueError: the config is wrong" in log.read_text()  # the traceback still logged
    record = read_record(log)
    assert record["status"] == "failed" and record["error"] == "ValueError"


def test_a_killed_process_leaves_no_record_not_even_an_old_one(tmp_path):
    log = tmp_path / "job.log"
    old = cpu_record_path(log)
    old.write_text("\t".join(CPU_RECORD_COLUMNS) + "\nok\t\t1.0\t1.0\t0.0\t1.0\t50.0\n")
    result, _, _ = run_job(log, """
        import os, signal
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert result.returncode == -9
    assert not old.exists()


def write_record(results: Path, job: str, cpu: float, wall: float, status: str = "ok",
                 error: str = "") -> None:
    path = cpu_record_path(results / "logs" / f"{job}.log")
    path.parent.mkdir(parents=True, exist_ok=True)
    values = [status, error, cpu, cpu, 0.0, wall, 100.0]
    path.write_text("\t".join(CPU_RECORD_COLUMNS) + "\n" + "\t".join(map(str, values)) + "\n")


def write_benchmark(results: Path, job: str, cpu: float, wall: float) -> None:
    path = results / "benchmarks" / f"{job}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\tcpu_time\n{wall}\t0:00:{wall:02.0f}\t100.0\t{cpu}\n")


def test_workflow_cpu_sums_the_records_beside_snakemakes_values(tmp_path, workflow_cpu):
    results = tmp_path / "results"
    write_record(results, "fam/compile", 5.0, 6.0)
    write_benchmark(results, "fam/compile", 5.0, 6.0)
    write_record(results, "fam/main/network0", 40.0, 41.0)
    write_benchmark(results, "fam/main/network0", 15.1, 41.0)  # sampled: too low
    write_record(results, "fam/main/network1", 20.0, 21.0)
    write_benchmark(results, "fam/main/network1", 15.1, 21.0)
    write_benchmark(results, "fam/main/statistics", 2.0, 3.0)  # from before the records
    write_record(results, "fam/main/network2", 7.0, 8.0, status="failed", error="ValueError")
    write_record(results, "other/figures/other_curves", 3.0, 4.0)  # no benchmark file
    # neither is a job's record: the report's cost table and an atomic write in progress
    (results / "benchmarks/fam_costs.tsv").write_text("rule\tjobs\tcpu_s_total\nx\t1\t9.0\n")
    (results / "logs/fam/main/.network0.cpu.tsv.k3j2h1.tsv").write_text("partial")

    jobs = workflow_cpu.collect(results).set_index("job")
    assert set(jobs.index) == {"fam/compile", "fam/main/network0", "fam/main/network1",
                               "fam/main/statistics", "fam/main/network2",
                               "other/figures/other_curves"}
    assert jobs.loc["fam/main/statistics", ["status", "cpu_s"]].tolist() == ["no record", 2.0]
    assert jobs.loc["fam/compile", ["family", "study"]].tolist() == ["fam", "-"]

    studies = workflow_cpu.per_study(workflow_cpu.collect(results))
    main = studies.loc[("fam", "main")]
    assert main["jobs"] == 3 and main["no_record"] == 1  # the failed job is not counted
    assert main["cpu_s"] == pytest.approx(62.0) and main["snakemake_cpu_s"] == pytest.approx(32.2)
    assert main["wall_s"] == pytest.approx(65.0)
    assert main["largest_cpu_s"] == 40.0 and main["largest_job"] == "main/network0"
    assert studies.loc[("fam", "-"), "cpu_s"] == 5.0
    assert studies.loc[("other", "figures"), "cpu_s"] == 3.0
    families = workflow_cpu.per_family(workflow_cpu.collect(results))
    assert families.loc["fam", "cpu_h"] == pytest.approx(67.0 / 3600)
    assert families.loc["fam", "snakemake_cpu_h"] == pytest.approx(37.2 / 3600)

    printed = subprocess.run([sys.executable, str(WORKFLOW_CPU), str(results)],
                             capture_output=True, text=True, check=True).stdout
    assert "total: 5 jobs, 70 CPU-s = 0.019 CPU-h (Snakemake's benchmark files: 37 CPU-s)" in printed
    assert "1 jobs without a CPU record" in printed
    assert "1 failed jobs not counted (7 CPU-s): fam/main/network2 (ValueError)" in printed
    # the argument it used to take, the benchmark folder, still works
    again = subprocess.run([sys.executable, str(WORKFLOW_CPU), str(results / "benchmarks")],
                           capture_output=True, text=True, check=True).stdout
    assert again == printed


def test_every_workflow_script_records_its_cpu_time():
    # A rule with shell: or run: would not call log_to, so it would have no record.
    for rules in (ROOT / "workflow/rules").glob("*.smk"):
        assert not re.search(r"^\s+(shell|run):", rules.read_text(), re.MULTILINE), rules
    for script in (ROOT / "workflow/scripts").glob("*.py"):
        calls = [node for node in ast.walk(ast.parse(script.read_text()))
                 if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "log_to"]
        assert [ast.unparse(call) for call in calls] == ["log_to(snakemake.log[0])"], script


@pytest.mark.workflow
def test_every_job_names_its_log_like_its_benchmark_file(tmp_path):
    # workflow_cpu.py pairs logs/<p>.cpu.tsv with benchmarks/<p>.tsv
    result = snakemake("-n", "--cores", "1", "-s", str(ROOT / "Snakefile"), "--configfile",
                       str(ROOT / "config/quick.yaml"), "--directory", str(tmp_path), cwd=tmp_path)
    # grouped jobs (figures, statistics) are listed indented, inside their group
    jobs = re.split(r"\n\s*(?:local)?rule ", result.stdout)[1:]
    assert len(jobs) > 150
    for job in jobs:
        if job.startswith("all:"):
            continue
        fields = dict(re.findall(r"^\s+(log|benchmark): (\S+)$", job, re.MULTILINE))
        assert set(fields) == {"log", "benchmark"}, job
        log = re.fullmatch(r"results/logs/(.+)\.log", fields["log"])
        benchmark = re.fullmatch(r"results/benchmarks/(.+)\.tsv", fields["benchmark"])
        assert log and benchmark and log.group(1) == benchmark.group(1), job
