"""Total CPU time of a workflow run, from the per-job files Snakemake's `benchmark:` writes.

Usage: python benchmarks/workflow_cpu.py [results/benchmarks]

Every rule of the workflow writes one (compilation, targets, training, statistics and
figures). Prints, per family and study, the number of jobs, their summed CPU time and
wall time, and the largest job; then the total in CPU-hours. CPU time is what the
budget counts: wall time depends on how many jobs shared the cores.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def collect(root: Path) -> pd.DataFrame:
    rows = []
    for path in sorted(root.rglob("*.tsv")):
        parts = path.relative_to(root).parts
        table = pd.read_csv(path, sep="\t")
        rows.append({"family": parts[0], "study": parts[1] if len(parts) > 2 else "-",
                     "job": "/".join(parts[1:]), "cpu_s": table["cpu_time"].iloc[-1],
                     "wall_s": table["s"].iloc[-1]})
    return pd.DataFrame(rows)


def main(argv: list[str]) -> None:
    root = Path(argv[1] if len(argv) > 1 else "results/benchmarks")
    jobs = collect(root)
    if jobs.empty:
        raise SystemExit(f"no benchmark files under {root}")
    per_study = jobs.groupby(["family", "study"]).agg(
        jobs=("job", "size"), cpu_s=("cpu_s", "sum"), wall_s=("wall_s", "sum"),
        largest_cpu_s=("cpu_s", "max"))
    print(per_study.round(1).to_string())
    print(f"\ntotal: {len(jobs)} jobs, {jobs['cpu_s'].sum():.0f} CPU-s = "
          f"{jobs['cpu_s'].sum() / 3600:.2f} CPU-h")


if __name__ == "__main__":
    main(sys.argv)
