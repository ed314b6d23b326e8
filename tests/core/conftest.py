"""Fixtures shared by the workflow tests: one quick-config run for the whole session."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(*args, cwd=ROOT, check=True, timeout=900):
    """Run Snakemake; on failure (with ``check``) show the tail of its output."""
    result = subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n"
                             f"{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="session")
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


