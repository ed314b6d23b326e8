"""Timing, calibration and ratio tables shared by the benchmark case files.

Generic: no family imports. A case file builds ``Case`` objects (a kernel and the
floors it is compared with), hands them to ``measure`` and prints ``floor_table``\\ s.

How the numbers are taken. ``calibrate`` picks for each case the number of units of
work that makes one measurement last about ``seconds``. ``run_rounds`` then times every
case once per round, in a freshly shuffled order each round, so a burst of load from
other processes on a shared machine hits all cases alike. A case's value is the median
over the rounds; its "spread" is the interquartile range over the rounds divided by
the median. Ratios divide medians measured in the same process, in the same shuffled
rounds, so they are more stable across machines and loads than the absolute times.

Import this module before NumPy: it pins BLAS to one thread (the kernels run one
thread per job; a multi-threaded BLAS would flatter the NumPy floors).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable, Iterable  # noqa: E402

import numpy as np  # noqa: E402

NAN = float("nan")


# --------------------------------------------------------------------------------------
# Cases and their timing


@dataclass
class Case:
    """One timed quantity.

    ``prepare(n)`` builds fresh state outside the timing and returns a closure that does
    ``n`` units of work; the recorded value is the closure's time / (n * per_unit), so
    ``per_unit`` converts a unit of work into what the tables quote (a step, a run-step,
    a simulated second). ``check()``, if given, returns a warning ("" if none) about the
    last measurement, for example runs that diverged and so skipped work.
    """

    key: str
    prepare: Callable[[int], Callable[[], object]]
    per_unit: float = 1.0
    max_units: int = 10**7
    n: int = 1
    samples: list = field(default_factory=list)
    check: Callable[[], str] | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else NAN

    @property
    def spread(self) -> float:
        if len(self.samples) < 4:
            return NAN
        q = statistics.quantiles(self.samples, n=4)
        return (q[2] - q[0]) / self.median


def time_once(work: Callable[[], object]) -> float:
    """Wall time of ``work()``, with the garbage collector off during it."""
    # A collection in the middle of a NumPy loop would be charged to that loop alone.
    gc.disable()
    try:
        start = time.perf_counter()
        work()
        return time.perf_counter() - start
    finally:
        gc.enable()


def calibrate(case: Case, seconds: float) -> None:
    """Pick the number of units so that one measurement takes about ``seconds``."""
    time_once(case.prepare(1))  # compile or load from the Numba cache, warm caches
    n = 1
    while True:
        elapsed = time_once(case.prepare(n))
        if elapsed >= 0.25 * seconds or n >= case.max_units:
            break
        n = min(case.max_units, n * max(2, int(0.5 * seconds / max(elapsed, 1e-7))))
    case.n = max(1, min(case.max_units, round(n * seconds / max(elapsed, 1e-9))))


def run_rounds(cases: list[Case], rounds: int, seed: int) -> None:
    """Time every case once per round, in a shuffled order each round."""
    order_rng = np.random.default_rng(seed)
    for _ in range(rounds):
        for index in order_rng.permutation(len(cases)):
            case = cases[index]
            elapsed = time_once(case.prepare(case.n))
            case.samples.append(elapsed / (case.n * case.per_unit))


class Results:
    """Medians and spreads of measured cases, by key."""

    def __init__(self, cases: Iterable[Case]):
        self.cases = {case.key: case for case in cases}

    def __contains__(self, key: str) -> bool:
        return key in self.cases

    def __getitem__(self, key: str) -> float:
        return self.cases[key].median

    def get(self, key: str, default: float = NAN) -> float:
        return self.cases[key].median if key in self.cases else default

    def spread(self, key: str) -> float:
        return self.cases[key].spread if key in self.cases else NAN

    def warnings(self) -> list[str]:
        return [f"{key}: {message}" for key, case in self.cases.items()
                if case.check and (message := case.check())]


def measure(cases: Iterable[Case], seconds: float, rounds: int, seed: int = 0) -> Results:
    """Calibrate every case, then time them all in ``rounds`` shuffled rounds."""
    cases = list(cases)
    keys = [case.key for case in cases]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate case keys: {sorted(k for k in set(keys) if keys.count(k) > 1)}")
    for case in cases:
        calibrate(case, seconds)
    run_rounds(cases, rounds, seed)
    return Results(cases)


# --------------------------------------------------------------------------------------
# Floors that are library calls


def blas_dger() -> tuple[Callable | None, str]:
    """``dger(P, k, alpha)`` doing ``P += alpha k k^T`` in place with BLAS, and its origin.

    NumPy has no rank-1 update: ``P -= c k k^T`` in NumPy costs an outer product into a
    buffer and a subtraction (three sweeps of the N^2 matrix), which is not a tight
    floor. NumPy's bundled OpenBLAS exports cblas_dger; it is called through ctypes,
    after a check on a 5 x 5 problem that the guessed ABI gives the right answer.
    Returns ``(None, reason)`` if no such library is found.
    """
    import ctypes

    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(libs.glob("*openblas*.so*")):
        try:
            lib = ctypes.CDLL(str(path))
        except OSError:
            continue
        for name, int_type in (("scipy_cblas_dger64_", ctypes.c_int64),
                               ("cblas_dger64_", ctypes.c_int64),
                               ("scipy_cblas_dger", ctypes.c_int),
                               ("cblas_dger", ctypes.c_int)):
            function = getattr(lib, name, None)
            if function is None:
                continue
            function.restype = None
            function.argtypes = [ctypes.c_int, int_type, int_type, ctypes.c_double,
                                 ctypes.c_void_p, int_type, ctypes.c_void_p, int_type,
                                 ctypes.c_void_p, int_type]

            def dger(P, k, alpha, function=function):
                n = k.shape[0]
                function(101, n, n, alpha, k.ctypes.data, 1, k.ctypes.data, 1,
                         P.ctypes.data, n)  # 101 = CblasRowMajor

            probe = np.random.default_rng(0)
            A, v = probe.standard_normal((5, 5)), probe.standard_normal(5)
            expected = A - 0.5 * np.outer(v, v)
            dger(A, v, -0.5)
            if np.allclose(A, expected):
                return dger, f"{path.name}:{name}"
    return None, f"no OpenBLAS with cblas_dger under {libs}"


# --------------------------------------------------------------------------------------
# Output


def table(headers: list[str], rows: list[list], indent: str = "  ") -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        parts = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append(indent + "  ".join(parts).rstrip())
        if index == 0:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def us(seconds: float) -> str:
    """Seconds as microseconds, three significant digits (no decimals from 100 on)."""
    if math.isnan(seconds):
        return "-"
    value = seconds * 1e6
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.0f}%"


def ratio(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def verdict(ok: bool) -> str:
    return "met" if ok else "not met"


@dataclass
class Row:
    """One line of a ``floor_table``.

    ``seconds`` is a median from ``Results`` (or a quantity derived from medians, whose
    ``spread`` is then unknown). ``target``, if given, is ``(floor name, largest ratio)``.
    """

    label: str
    seconds: float
    spread: float = NAN
    target: tuple[str, float] | None = None


def floor_table(rows: list[Row], floors: dict[str, float], unit: str = "us",
                fmt: Callable[[float], str] = us) -> str:
    """Medians, spreads and the ratio of every row to every floor ("x F", ...).

    ``floors`` maps a floor's short name to its median (measured in the same rounds).
    A row with a target says whether its ratio to that floor is at most the target
    ("met" / "not met" are information, not assertions).
    """
    has_target = any(row.target for row in rows)
    headers = ["quantity", unit, "spread"] + [f"x {name}" for name in floors]
    headers += ["target"] if has_target else []
    lines = []
    for row in rows:
        line = [row.label, fmt(row.seconds), pct(row.spread)]
        line += [ratio(row.seconds / floor) for floor in floors.values()]
        if has_target:
            if row.target:
                name, limit = row.target
                line.append(f"x {name} <= {limit:g}: "
                            f"{verdict(row.seconds / floors[name] <= limit)}")
            else:
                line.append("")
        lines.append(line)
    return table(headers, lines)


# --------------------------------------------------------------------------------------
# Command line and the run's context


def parser(description: str, rounds: int = 9, quick_rounds: int = 3, seconds: float = 0.08,
           quick_seconds: float = 0.03) -> argparse.ArgumentParser:
    """An argument parser with the shared ``--rounds``, ``--seconds`` and ``--quick``."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--rounds", type=int, default=None,
                   help=f"timed rounds per case (median over rounds); default {rounds}, "
                        f"quick {quick_rounds}")
    p.add_argument("--seconds", type=float, default=None,
                   help=f"target duration of one measurement; default {seconds:g}, "
                        f"quick {quick_seconds:g}")
    p.add_argument("--quick", action="store_true",
                   help="fewer, shorter rounds (and the case file's smaller problem)")
    p.set_defaults(_timing=(rounds, quick_rounds, seconds, quick_seconds))
    return p


def timing(args: argparse.Namespace) -> tuple[int, float]:
    """``(rounds, seconds)`` from the parsed ``--rounds``, ``--seconds`` and ``--quick``."""
    rounds, quick_rounds, seconds, quick_seconds = args._timing
    return (args.rounds or (quick_rounds if args.quick else rounds),
            args.seconds or (quick_seconds if args.quick else seconds))


def banner(title: str, rounds: int, seconds: float) -> float:
    """Print the title, versions, threads and load; return the start time."""
    import numba

    load = os.getloadavg()
    print(title)
    print(f"python {platform.python_version()}, numpy {np.__version__}, numba "
          f"{numba.__version__}, {os.cpu_count()} CPUs; OMP/OPENBLAS threads = "
          f"{os.environ.get('OMP_NUM_THREADS')}/{os.environ.get('OPENBLAS_NUM_THREADS')}")
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; medians over "
          f"{rounds} shuffled rounds of ~{seconds:g} s measurements")
    return time.perf_counter()


def footer(started: float) -> None:
    load = os.getloadavg()
    print(f"\nload average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"benchmark took {time.perf_counter() - started:.0f} s")
