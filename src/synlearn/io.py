"""Atomic output and provenance helpers shared by every workflow step."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

PACKAGE_ROOT = Path(__file__).resolve().parent


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; move it into place only on success.

    A killed or failing writer leaves no file at ``path`` (and no partial file that
    looks complete), so a rerun with ``--rerun-incomplete`` starts clean.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix)
    os.close(handle)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``table`` as CSV atomically (full float precision, no index)."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.17g")


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV table; an empty table (written for a run that records nothing) is empty."""
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def read_tables(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Concatenate CSV tables, skipping empty ones."""
    frames = [frame for frame in map(read_table, paths) if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def code_hash(*relative_paths: str) -> str:
    """A short hash of package source files (or folders) below ``synlearn/``.

    Snakemake does not see edits to ``src/``; compute rules carry this hash in their
    ``params`` so that a change to the code they depend on triggers a rerun, and
    tables carry it in a column so every number can be traced to its code.
    """
    digest = hashlib.sha256()
    files: list[Path] = []
    for rel in relative_paths or (".",):
        base = PACKAGE_ROOT / rel
        files.extend(sorted(base.rglob("*.py")) if base.is_dir() else [base])
    for file in files:
        digest.update(file.relative_to(PACKAGE_ROOT).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def log_to(path: str | os.PathLike) -> None:
    """Send this process's stderr (warnings, tracebacks) to a rule's log file."""
    import logging
    import sys

    stream = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the job
    sys.stderr = stream
    logging.basicConfig(stream=stream, level=logging.INFO, force=True)
