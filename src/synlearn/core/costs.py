"""Compute cost per rule from the benchmark files Snakemake writes and the jobs' own CPU records.

Every rule of the workflow has a ``benchmark:`` file (one TSV per job, with columns
``s`` (wall seconds), ``cpu_time`` (CPU seconds), ``max_rss`` (MB), ...). This module
reads a family's benchmark folder, assigns each file to the rule whose benchmark
pattern it matches, and tabulates jobs, CPU seconds and peak memory per rule: what a
user needs to plan a cluster run (``runtime`` and ``mem_mb`` per rule).

The patterns come from the workflow (``rule.benchmark.regex()``), so nothing here
knows a family or a rule by name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

UNMATCHED = "(no rule of this workflow)"
TOTAL = "all rules"
COST_COLUMNS = ["rule", "jobs", "cpu_s_total", "cpu_s_largest_job", "wall_s_total",
                "wall_s_largest_job", "peak_max_rss_mb", "largest_job"]


def rule_of(path: str, patterns: Mapping[str, str]) -> str:
    """The rule whose benchmark pattern matches ``path``.

    Parameters
    ----------
    path : str
        A benchmark file, as the workflow names it (relative to the working directory,
        ``/`` separated).
    patterns : mapping of str to str
        Rule name -> regular expression of its benchmark file.

    Returns
    -------
    str
        The matching rule; among several, the one with the longest literal part of its
        pattern (the most specific); ``UNMATCHED`` if none matches (a file left by an
        older version of the workflow).
    """
    matches = [name for name, pattern in patterns.items() if re.fullmatch(pattern, path)]
    if not matches:
        return UNMATCHED

    def literal(name):  # the pattern without its wildcard groups
        return len(re.sub(r"\(\?P<[^>]+>(?:[^()]|\([^()]*\))*\)", "", patterns[name]))

    return max(sorted(matches), key=literal)


def recorded_cpu(benchmark: Path) -> float | None:
    """The CPU seconds a job recorded itself (``synlearn.core.io.record_cpu_at_exit``).

    The record of ``results/benchmarks/<p>.tsv`` is ``results/logs/<p>.cpu.tsv``; None
    when there is none or it is not a success. Snakemake's ``cpu_time`` is sampled
    (every 0.5 s for 15 s, then every 30 s) and misses up to 30 s of a long job; the
    job's own ``getrusage`` does not.
    """
    parts = benchmark.parts
    if "benchmarks" not in parts:
        return None
    at = len(parts) - 1 - parts[::-1].index("benchmarks")
    record = Path(*parts[:at], "logs", *parts[at + 1:]).with_suffix(".cpu.tsv")
    if not record.is_file():
        return None
    table = pd.read_csv(record, sep="\t", keep_default_na=False)
    if table.empty or table["status"].iloc[0] != "ok":
        return None
    return float(table["cpu_s"].iloc[0])


def read_benchmarks(folder: str | Path, patterns: Mapping[str, str]) -> pd.DataFrame:
    """One row per benchmark file below ``folder``: its rule, wall and CPU seconds, peak RSS.

    The CPU seconds are the job's own record (``recorded_cpu``) where it wrote one
    (``recorded`` is True), otherwise Snakemake's sampled ``cpu_time``. A file with
    several rows (``benchmark: repeat(...)``) counts as one job with the mean times and
    the largest RSS. Values Snakemake could not measure (``NA``, ``-``) are NaN.
    """
    rows = []
    for file in sorted(Path(folder).rglob("*.tsv")):
        path = file.as_posix()
        table = pd.read_csv(file, sep="\t")
        values = {column: pd.to_numeric(table[column], errors="coerce") if column in table
                  else pd.Series([np.nan]) for column in ("s", "cpu_time", "max_rss")}
        own = recorded_cpu(file)
        cpu = values["cpu_time"].mean() if own is None else own
        rows.append((path, rule_of(path, patterns), values["s"].mean(), cpu,
                     values["max_rss"].max(), own is not None))
    return pd.DataFrame(rows, columns=["path", "rule", "s", "cpu_time", "max_rss", "recorded"])


def cost_table(benchmarks: pd.DataFrame) -> pd.DataFrame:
    """Per rule: jobs, total and largest CPU and wall seconds, peak RSS; a total row last.

    Parameters
    ----------
    benchmarks : pandas.DataFrame
        ``read_benchmarks`` output (columns path, rule, s, cpu_time, max_rss).

    Returns
    -------
    pandas.DataFrame
        Columns ``COST_COLUMNS``, sorted by total CPU seconds (largest first), then the
        row ``TOTAL`` over every job. ``largest_job`` is the benchmark file of the job
        with the most CPU seconds.
    """
    def summarise(name, group):
        cpu = group["cpu_time"]
        largest = group.loc[cpu.idxmax(), "path"] if cpu.notna().any() else ""
        return (name, len(group), cpu.sum(min_count=1), cpu.max(), group["s"].sum(min_count=1),
                group["s"].max(), group["max_rss"].max(), largest)

    rows = [summarise(name, group) for name, group in benchmarks.groupby("rule", sort=True)]
    rows.sort(key=lambda row: (-np.nan_to_num(row[2], nan=-1.0), row[0]))
    table = pd.DataFrame(rows, columns=COST_COLUMNS)
    if not benchmarks.empty:
        table.loc[len(table)] = summarise(TOTAL, benchmarks)
    return table


def tabulate_costs(folder: str | Path, patterns: Mapping[str, str]) -> pd.DataFrame:
    """``cost_table`` of the benchmark files below ``folder``."""
    return cost_table(read_benchmarks(folder, patterns))
