"""Total CPU time of a workflow run, from the CPU record every job writes at exit.

Usage: python benchmarks/workflow_cpu.py [results]

Every workflow script starts with ``synlearn.core.io.log_to``, which at exit writes the
job's CPU time (``resource.getrusage`` of the process and of its children) beside its
log, ``results/logs/<p>.cpu.tsv``. Snakemake's ``benchmark:`` writes
``results/benchmarks/<p>.tsv`` for the same job, but samples the CPU time (every 0.5 s
for the first 15 s of wall time, then every 30 s), so it misses up to 30 s of every
longer job: its column is printed beside the records', to show by how much. ``<p>`` is
``<family>/<study>/...`` (or ``<family>/<job>`` for a job outside any study).

Prints, per family and study, the number of jobs, their summed CPU time from the
records and from Snakemake's benchmark files, their summed wall time, and the largest
job; then per family and in total, in CPU-hours. CPU time is what the budget counts:
wall time depends on how many jobs shared the cores. A job without a record (run
before the records existed) counts with its benchmark value and is flagged; a job whose
record says it failed is listed and not counted. Not counted either: Snakemake's own
process (parsing, the DAG, the code hashes, scheduling), which the total of
``/usr/bin/time snakemake ...`` includes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

RECORD_SUFFIX = ".cpu.tsv"  # synlearn.core.io.cpu_record_path


def job_name(path: Path, root: Path, suffix: str) -> str | None:
    """``<p>`` of a record or benchmark file below ``root``; None for what is neither.

    Files directly in ``root`` (the report's ``<family>_costs.tsv`` tables) are not
    job records, nor are hidden files (an atomic write in progress).
    """
    relative = path.relative_to(root)
    if len(relative.parts) < 2 or relative.name.startswith("."):
        return None
    return relative.as_posix().removesuffix(suffix)


def read_records(logs: Path) -> pd.DataFrame:
    """One row per CPU record below ``logs``: job, status, error, cpu_s, wall_s, max_rss_mb."""
    rows = []
    for path in sorted(logs.rglob(f"*{RECORD_SUFFIX}")):
        job = job_name(path, logs, RECORD_SUFFIX)
        if job is not None:
            record = pd.read_csv(path, sep="\t", keep_default_na=False).iloc[0]
            rows.append({"job": job, "status": record["status"], "error": record["error"],
                         "cpu_s": float(record["cpu_s"]), "wall_s": float(record["wall_s"]),
                         "max_rss_mb": float(record["max_rss_mb"])})
    return pd.DataFrame(rows, columns=["job", "status", "error", "cpu_s", "wall_s", "max_rss_mb"])


def read_benchmarks(benchmarks: Path) -> pd.DataFrame:
    """One row per Snakemake benchmark file: job, snakemake_cpu_s, snakemake_wall_s.

    A file with several rows (``benchmark: repeat(...)``) gives their means; values
    Snakemake could not measure (``NA``, ``-``) are NaN.
    """
    rows = []
    for path in sorted(benchmarks.rglob("*.tsv")):
        job = job_name(path, benchmarks, ".tsv")
        if job is not None:
            table = pd.read_csv(path, sep="\t")
            rows.append({"job": job,
                         "snakemake_cpu_s": pd.to_numeric(table["cpu_time"], errors="coerce").mean(),
                         "snakemake_wall_s": pd.to_numeric(table["s"], errors="coerce").mean()})
    return pd.DataFrame(rows, columns=["job", "snakemake_cpu_s", "snakemake_wall_s"])


def collect(results: Path) -> pd.DataFrame:
    """Every job of a results folder with both CPU times, its family, study and source.

    Returns
    -------
    pandas.DataFrame
        One row per job (``<p>``): ``family``, ``study`` (``-`` outside a study),
        ``status`` (``ok``, ``failed``, or ``no record``), ``error``, ``cpu_s`` and
        ``wall_s`` (from the record; from the benchmark file without one),
        ``snakemake_cpu_s``, ``snakemake_wall_s`` (NaN without a benchmark file),
        ``max_rss_mb``.
    """
    jobs = read_records(results / "logs").merge(read_benchmarks(results / "benchmarks"),
                                                on="job", how="outer")
    unrecorded = jobs["status"].isna()
    jobs.loc[unrecorded, "status"] = "no record"
    jobs.loc[unrecorded, "cpu_s"] = jobs.loc[unrecorded, "snakemake_cpu_s"]
    jobs.loc[unrecorded, "wall_s"] = jobs.loc[unrecorded, "snakemake_wall_s"]
    parts = jobs["job"].str.split("/")
    jobs.insert(0, "family", parts.str[0])
    jobs.insert(1, "study", [p[1] if len(p) > 2 else "-" for p in parts])
    return jobs.sort_values("job", ignore_index=True)


def per_study(jobs: pd.DataFrame) -> pd.DataFrame:
    """Jobs, CPU and wall seconds (records and Snakemake's) and the largest job per study.

    ``jobs`` is ``collect`` output; failed jobs are left out. ``no_record`` counts the
    jobs whose CPU time is Snakemake's, for want of a record.
    """
    counted = jobs[jobs["status"] != "failed"]
    rows = []
    for (family, study), group in counted.groupby(["family", "study"], sort=True):
        measured = group["cpu_s"].notna().any()
        largest = group.loc[group["cpu_s"].idxmax()] if measured else None
        rows.append({
            "family": family, "study": study, "jobs": len(group),
            "cpu_s": group["cpu_s"].sum(min_count=1),
            "snakemake_cpu_s": group["snakemake_cpu_s"].sum(min_count=1),
            "wall_s": group["wall_s"].sum(min_count=1),
            "largest_cpu_s": largest["cpu_s"] if measured else float("nan"),
            "largest_job": largest["job"].split("/", 1)[1] if measured else "",
            "no_record": int((group["status"] == "no record").sum())})
    return pd.DataFrame(rows, columns=["family", "study", "jobs", "cpu_s", "snakemake_cpu_s",
                                       "wall_s", "largest_cpu_s", "largest_job", "no_record"]
                        ).set_index(["family", "study"])


def per_family(jobs: pd.DataFrame) -> pd.DataFrame:
    """Jobs and CPU-hours (records and Snakemake's) per family; failed jobs left out."""
    counted = jobs[jobs["status"] != "failed"]
    families = counted.groupby("family")
    return pd.DataFrame({"jobs": families.size(),
                         "cpu_h": families["cpu_s"].sum(min_count=1) / 3600,
                         "snakemake_cpu_h": families["snakemake_cpu_s"].sum(min_count=1) / 3600})


def main(argv: list[str]) -> None:
    results = Path(argv[1] if len(argv) > 1 else "results")
    if results.name == "benchmarks":  # the argument this script used to take
        results = results.parent
    jobs = collect(results)
    if jobs.empty:
        raise SystemExit(f"no CPU records or benchmark files under {results}")
    with pd.option_context("display.width", 200, "display.max_rows", None):
        print(per_study(jobs).round(1).to_string())
        print()
        print(per_family(jobs).round(3).to_string())
    counted = jobs[jobs["status"] != "failed"]
    print(f"\ntotal: {len(counted)} jobs, {counted['cpu_s'].sum():.0f} CPU-s = "
          f"{counted['cpu_s'].sum() / 3600:.3f} CPU-h "
          f"(Snakemake's benchmark files: {counted['snakemake_cpu_s'].sum():.0f} CPU-s)")
    unrecorded = jobs[jobs["status"] == "no record"]
    if not unrecorded.empty:
        print(f"{len(unrecorded)} jobs without a CPU record count with Snakemake's sampled "
              f"value (too low for jobs over 15 s), e.g. {unrecorded['job'].iloc[0]}")
    failed = jobs[jobs["status"] == "failed"]
    if not failed.empty:
        print(f"{len(failed)} failed jobs not counted ({failed['cpu_s'].sum():.0f} CPU-s): "
              + ", ".join(f"{job} ({error})" for job, error in zip(failed["job"], failed["error"])))


if __name__ == "__main__":
    main(sys.argv)
