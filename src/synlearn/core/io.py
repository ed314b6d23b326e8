"""Atomic output and provenance helpers shared by every workflow step."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


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
        # mkstemp creates the file 0600; give it what a plain write would, so that
        # collaborators sharing a results folder can read it
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    # os.umask can only be read by setting it; set it straight back
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def provenance() -> dict[str, str]:
    """Versions of the software that computed a table (no timestamps: byte-identical)."""
    import platform

    import numba
    import numpy

    from .. import __version__

    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "numba": numba.__version__, "pandas": pd.__version__, "synlearn": __version__}


def provenance_path(path: str | os.PathLike) -> Path:
    """The sidecar of a table: ``curves.csv`` -> ``curves.provenance.json``."""
    return Path(path).with_suffix(".provenance.json")


def write_table(table: pd.DataFrame, path: str | os.PathLike, **metadata) -> None:
    """Write ``table`` as CSV atomically, with its provenance sidecar beside it.

    Floats are written by pandas' shortest exact representation (they read back bit
    for bit). The sidecar (``provenance_path``) records the versions of Python, NumPy,
    Numba, pandas and synlearn, and ``metadata`` (the workflow passes the hash of the
    code that computed the table, ``code``); the seed and the parameters are the table's
    own columns. The sidecar is written first, so a table that exists always has one.
    """
    import json

    with atomic_path(provenance_path(path)) as tmp:
        tmp.write_text(json.dumps({"table": Path(path).name, "rows": len(table), **provenance(),
                                   **metadata},
                                  indent=1, sort_keys=True) + "\n")
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


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


def read_complete(path: str | os.PathLike, expected_rows: int | None = None) -> pd.DataFrame:
    """Read a table that a statistics step needs whole; fail naming the file otherwise.

    Parameters
    ----------
    path : path
        A CSV written by ``write_table``.
    expected_rows : int, optional
        The number of rows the job that wrote it must have produced.

    Raises
    ------
    IncompleteResultError
        The file is missing, empty, unreadable (cut inside a quoted field), has a
        different number of rows than expected (truncated or from another config), or
        has a partial last line (fewer fields than the header).
    """
    from .errors import IncompleteResultError

    path = Path(path)
    if not path.is_file():
        raise IncompleteResultError(f"{path}: missing")
    text = path.read_text()
    if not text.strip():
        raise IncompleteResultError(f"{path}: empty (0 rows); rerun the job that writes it")
    if not text.endswith("\n"):
        raise IncompleteResultError(f"{path}: truncated (no line end after the last row)")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise IncompleteResultError(f"{path}: unreadable ({error})") from None
    if expected_rows is not None and len(table) != expected_rows:
        raise IncompleteResultError(f"{path}: {len(table)} rows, expected {expected_rows} "
                                    f"(truncated, or written for another config)")
    return table


def read_all_complete(paths: Iterable[str | os.PathLike],
                      expected_rows: Iterable[int] | None = None) -> pd.DataFrame:
    """``read_complete`` every file and concatenate them (see there)."""
    paths = list(paths)
    counts = [None] * len(paths) if expected_rows is None else list(expected_rows)
    if len(counts) != len(paths):
        raise ValueError(f"{len(paths)} tables but {len(counts)} expected row counts")
    return pd.concat([read_complete(p, n) for p, n in zip(paths, counts)], ignore_index=True)


def code_hash(*modules: str) -> str:
    """A short hash of the source of ``modules`` and of every package module they import.

    Snakemake does not see edits to ``src/``; compute rules carry this hash in their
    ``params`` so that a change to the code they depend on triggers a rerun, and
    tables carry it in a column so every number can be traced to its code.

    The files are found by following the static imports of the named modules inside
    the package (``from . import x``, ``from ..core.io import y``, ``import
    synlearn.z``), transitively, together with the ``__init__.py`` of every package on
    the way. So the set cannot drift from the code: a module a training step imports
    is in its hash whether or not anyone remembered to list it, and a module it does not
    import (its family's plots, say) is not, so editing a figure does not retrain.

    Parameters
    ----------
    *modules : str
        Dotted module names, for example ``"synlearn.reservoir.pipeline"``; folders
        or files below ``synlearn/`` (``"reservoir"``, ``"core/io.py"``), which stand for
        every module in them; or the path of a script outside the package (a workflow
        script), which stands for itself and every package module it imports.

    Returns
    -------
    str
        The first 12 hex digits of a SHA-256 over the files' paths and contents.
    """
    digest = hashlib.sha256()
    for file in sorted(_module_closure(modules)):
        inside = file.is_relative_to(PACKAGE_ROOT)
        digest.update((file.relative_to(PACKAGE_ROOT) if inside else Path(file.name)).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def _module_file(name: str) -> Path | None:
    """The source file of package module ``name`` (dotted), or None outside the package."""
    parts = name.split(".")
    if parts[0] != PACKAGE_ROOT.name:
        return None
    base = PACKAGE_ROOT.joinpath(*parts[1:])
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _module_name(file: Path) -> str:
    relative = file.relative_to(PACKAGE_ROOT).with_suffix("")
    parts = [PACKAGE_ROOT.name, *relative.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(file: Path) -> set[str]:
    """Dotted names of everything ``file`` imports (absolute, relative resolved)."""
    import ast

    tree = ast.parse(file.read_text(), filename=str(file))
    package = _module_name(file) if file.is_relative_to(PACKAGE_ROOT) else ""
    if file.name != "__init__.py":
        package = package.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.add(base)
            # ``from . import kernels`` imports a module; ``from .x import f`` a name
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _module_closure(modules) -> set[Path]:
    pending: list[Path] = []
    for module in modules or (".",):
        if module.endswith(".py") and Path(module).is_absolute():
            if not Path(module).is_file():
                raise ValueError(f"no script {module!r}")
            pending.append(Path(module).resolve())
            continue
        if "." in module and not module.endswith(".py") and module.split(".")[0] == PACKAGE_ROOT.name:
            file = _module_file(module)
            if file is None:
                raise ValueError(f"no module {module!r} in {PACKAGE_ROOT}")
            pending.append(file)
            continue
        base = PACKAGE_ROOT / module
        if not base.exists():
            raise ValueError(f"no module or folder {module!r} in {PACKAGE_ROOT}")
        pending.extend(sorted(base.rglob("*.py")) if base.is_dir() else [base])
    seen: set[Path] = set()
    while pending:
        file = pending.pop()
        if file in seen:
            continue
        seen.add(file)
        name = _module_name(file) if file.is_relative_to(PACKAGE_ROOT) else ""
        parents = name.split(".")
        # From depth 2: the top-level __init__ holds only the family list and the
        # version, and adding a family must not rerun the others.
        for depth in range(2, len(parents)):
            init = _module_file(".".join(parents[:depth]))
            if init is not None:
                pending.append(init)
        for imported in _imported_modules(file):
            found = _module_file(imported)
            if found is not None and found != PACKAGE_ROOT / "__init__.py":
                pending.append(found)
    return seen


def log_to(path: str | os.PathLike) -> None:
    """Send this process's stderr (warnings, tracebacks) to a rule's log file.

    Also records the job's CPU time at exit beside the log (``record_cpu_at_exit``,
    ``cpu_record_path``): every workflow script starts with this call.
    """
    import logging
    import sys

    stream = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the job
    sys.stderr = stream
    # one timestamped line per event, so a user watching results/logs/ sees progress
    logging.basicConfig(stream=stream, level=logging.INFO, force=True,
                        format="%(asctime)s %(name)s: %(message)s", datefmt="%Y-%m-%d %H:%M:%S")
    record_cpu_at_exit(cpu_record_path(path))


CPU_RECORD_COLUMNS = ["status", "error", "cpu_s", "self_cpu_s", "children_cpu_s", "wall_s",
                      "max_rss_mb"]


def cpu_record_path(log: str | os.PathLike) -> Path:
    """The CPU record of a job: ``results/logs/x/y.log`` -> ``results/logs/x/y.cpu.tsv``.

    Beside the log, not the benchmark file: a script knows its log, and the workflow
    names each rule's log like its benchmark file (``logs/<p>.log``,
    ``benchmarks/<p>.tsv``), so the two records of a job pair up by ``<p>``.
    """
    return Path(log).with_suffix(".cpu.tsv")


def record_cpu_at_exit(path: str | os.PathLike) -> None:
    """At interpreter exit, write this process's CPU time, wall time and peak RSS to ``path``.

    Snakemake's ``benchmark:`` samples a job's CPU time (every 0.5 s for 15 s, then every
    30 s), so it misses up to 30 s of every job over 15 s; ``resource.getrusage`` counts all of
    it but the interpreter's shutdown after the record (about 0.1-0.3 s, tearing down
    the imported libraries). The record is a TSV of one header line
    (``CPU_RECORD_COLUMNS``) and one row:

    - ``status``: ``ok``, or ``failed`` if the process ended with an uncaught exception
      (its type in ``error``). A killed process writes nothing, and a record left by an
      earlier run is removed now, so a missing record never hides behind an old one.
      (``sys.exit`` with a nonzero code is not seen; no workflow script calls it.)
    - ``cpu_s``: ``self_cpu_s`` (user + system of every thread of this process) plus
      ``children_cpu_s`` (user + system of the child processes it has waited for, such
      as a finished process pool).
    - ``wall_s``: seconds since the process started (from ``/proc``; where there is no
      ``/proc``, since this call).
    - ``max_rss_mb``: the peak resident memory of this process or of its largest child,
      in MiB (Snakemake's ``max_rss`` unit).

    Parameters
    ----------
    path : path
        The record to write (``cpu_record_path`` of the job's log); written atomically.
    """
    import atexit
    import sys

    target = Path(path)
    target.unlink(missing_ok=True)
    started = _process_start_wall() or _wall_clock()
    outcome = {"status": "ok", "error": ""}
    previous_hook = sys.excepthook

    def note_failure(kind, value, traceback):
        # Called for an uncaught exception before the atexit handlers run.
        outcome.update(status="failed", error=kind.__name__)
        previous_hook(kind, value, traceback)

    sys.excepthook = note_failure
    atexit.register(_write_cpu_record, target, started, outcome)


def _write_cpu_record(path: Path, started: float, outcome: dict[str, str]) -> None:
    import resource
    import sys

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_cpu = own.ru_utime + own.ru_stime
    children_cpu = children.ru_utime + children.ru_stime
    # ru_maxrss is in KiB on Linux, in bytes on macOS
    rss_unit = 1024**2 if sys.platform == "darwin" else 1024
    values = [outcome["status"], outcome["error"], f"{self_cpu + children_cpu:.3f}",
              f"{self_cpu:.3f}", f"{children_cpu:.3f}", f"{_wall_clock() - started:.3f}",
              f"{max(own.ru_maxrss, children.ru_maxrss) / rss_unit:.1f}"]
    with atomic_path(path) as tmp:
        tmp.write_text("\t".join(CPU_RECORD_COLUMNS) + "\n" + "\t".join(values) + "\n")


def _wall_clock() -> float:
    """Seconds on the clock that ``/proc/<pid>/stat`` start times count from (since boot)."""
    import time

    if hasattr(time, "CLOCK_BOOTTIME"):
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    return time.monotonic()


def _process_start_wall() -> float | None:
    """When this process started, on ``_wall_clock``; None without Linux's ``/proc``."""
    import time

    if not hasattr(time, "CLOCK_BOOTTIME"):
        return None
    try:
        stat = Path("/proc/self/stat").read_text()
        ticks = int(stat.rpartition(")")[2].split()[19])  # field 22, starttime
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
