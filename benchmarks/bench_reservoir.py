"""Speed of the batched Numba reservoir kernels against floors measured in this process.

What is measured, for each N (``--sizes``; default 500 and 1000), on a reservoir drawn
with the default config's network parameters and stepped with its default protocol
(trials of a 50 ms pulse plus a 200 ms target period, dt = 1 ms, learning every 2 steps
during the period, private noise on):

1. Floors. ``J @ r`` with the dense J (NumPy/BLAS gemv): a delta or Bayesian step
   cannot be cheaper than reading J once. The CSR product of the kernel
   (``kernels.recurrent_input``, batch 1) is shown beside it. For RLS the floor R is
   ``P @ s`` plus the rank-1 downdate ``P -= c k k^T`` in NumPy (preallocated buffers),
   what one FORCE learning step must at least do. NumPy has no rank-1 update, so it
   sweeps P three times; R' does the same with BLAS gemv + dger (NumPy's bundled
   OpenBLAS through ctypes; skipped if not found), the tighter two-sweep floor.
2. One run at a time (batch 1): ``kernels.run_trials`` exactly as
   ``simulate_readout_learning`` calls it, time per simulated step, for the delta,
   Bayesian and RLS rules, and ``kernels.rls_update`` alone.
3. The same step written as a plain NumPy loop (dense BLAS J, or a sparse product in
   NumPy), one run, and a dense NumPy loop over a batch of 16 runs.
4. Batches of B runs (delta and Bayesian settings mixed) in one ``run_trials`` call:
   time per step per run, and how much cheaper a run is than one run at a time.
5. Where a step's time goes: each sub-kernel timed alone (inside a Numba loop so that
   the Python-to-Numba dispatch cost does not count), at batch 1 and 16.
6. Projected CPU time of the studies of ``config/config.yaml`` from the measured
   per-run-step costs.

How to read the tables. Times are medians over ``--rounds`` rounds. In every round each
case is timed once, in a shuffled order, so a burst of load from other processes on
this shared machine hits all cases alike; "spread" is the interquartile range over the
rounds divided by the median. Ratios divide medians taken in the same process, so they
are more stable across machines and loads than the absolute times. "x F", "x R" and
"x R'" divide a time by that floor (1.0 = as fast as the floor; the issue's target is
<= 1.5); "step x F" is the whole batch's step over one dense product; "per-run gain"
is the per-run cost of one run at a time divided by the per-run cost in a batch of B
(the target is >= 5 at B = 16). "met" / "not met" are information, not assertions:
this is a script, not a test.

Usage (BLAS must be single-threaded, as the kernels are):
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_reservoir.py
    ... bench_reservoir.py --sizes 500 --quick        (about 15 s)
    ... bench_reservoir.py --batches 1 16 --rounds 5 --no-projection
"""

from __future__ import annotations

import os

# The kernels run one thread per job; a multi-threaded BLAS would flatter the NumPy
# floors. Must happen before NumPy is imported.
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
from typing import Callable  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402

from synlearn.reservoir.protocol import (  # noqa: E402
    Protocol, RuleSetting, protocol_scalars, readout_state,
)
from synlearn.reservoir import kernels  # noqa: E402
from synlearn.reservoir.network import make_reservoir, network_state  # noqa: E402
from synlearn.reservoir.studies import resolve_studies  # noqa: E402

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"
BREAKDOWN_BATCHES = (1, 16)
TARGET_FLOOR_RATIO = 1.5
TARGET_BATCH_GAIN = 5.0
TARGET_BATCH_AT = 16
TARGET_NUMPY_SPEEDUP = 10.0


# --------------------------------------------------------------------------------------
# Timing machinery


@dataclass
class Case:
    """One timed quantity.

    ``prepare(n)`` builds fresh state outside the timing and returns a closure that does
    ``n`` units of work; the recorded value is the closure's time / (n * per_unit).
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
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        if len(self.samples) < 4:
            return float("nan")
        q = statistics.quantiles(self.samples, n=4)
        return (q[2] - q[0]) / self.median


def _time_once(work: Callable[[], object]) -> float:
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
    _time_once(case.prepare(1))  # compile or load from the Numba cache, warm caches
    n = 1
    while True:
        elapsed = _time_once(case.prepare(n))
        if elapsed >= 0.25 * seconds or n >= case.max_units:
            break
        n = min(case.max_units, n * max(2, int(0.5 * seconds / max(elapsed, 1e-7))))
    case.n = max(1, min(case.max_units, round(n * seconds / max(elapsed, 1e-9))))


def run_rounds(cases: list[Case], rounds: int, seed: int) -> None:
    order_rng = np.random.default_rng(seed)
    for _ in range(rounds):
        for index in order_rng.permutation(len(cases)):
            case = cases[index]
            elapsed = _time_once(case.prepare(case.n))
            case.samples.append(elapsed / (case.n * case.per_unit))


# --------------------------------------------------------------------------------------
# Small Numba loops around the sub-kernels. Timing them from Python would add a
# dispatch cost of about a microsecond per call, as large as some of the kernels.
# Not cached: the benchmark must not write files next to itself.


@numba.njit(nogil=True)
def _repeat_recurrent(n, indptr, indices, weights, rates, out):
    for _ in range(n):
        kernels.recurrent_input(indptr, indices, weights, rates, out)


@numba.njit(nogil=True)
def _repeat_euler(n, x, rates, recurrent, feedback, input_drive, z, noise, leak):
    for _ in range(n):
        kernels.euler_step(x, rates, recurrent, feedback, input_drive, z, noise, leak)


@numba.njit(nogil=True)
def _repeat_tanh(n, x, rates):
    n_units, batch = x.shape
    for _ in range(n):
        for i in range(n_units):
            for b in range(batch):
                rates[i, b] = math.tanh(x[i, b])


@numba.njit(nogil=True)
def _repeat_readout(n, w, rates, gains, z):
    for _ in range(n):
        kernels.output(w, rates, gains, z)


@numba.njit(nogil=True)
def _repeat_local(n, w, rate_coef, rates, gains, err, coef_decay, coef_floor, bayes_flag):
    for _ in range(n):
        kernels.local_update(w, rate_coef, rates, gains, err, coef_decay, coef_floor,
                             bayes_flag)


@numba.njit(nogil=True)
def _repeat_noise(n, rng, input_drive, input_weights, noise, noise_std):
    # The per-step preamble of kernels._step: input drive and private noise draws.
    for _ in range(n):
        for i in range(noise.size):
            input_drive[i] = 0.0 * input_weights[i]
            noise[i] = noise_std * rng.standard_normal()


@numba.njit(nogil=True)
def _repeat_rls(n, inverse_corr, w, rates, pool, gains, seen, gain_vector):
    # A fresh presynaptic vector each call: repeating one s would shrink P s
    # geometrically into subnormal numbers, which are very slow on x86.
    n_units, n_pool = pool.shape
    for it in range(n):
        column = it % n_pool
        for i in range(n_units):
            rates[i, 0] = pool[i, column]
        kernels.rls_update(inverse_corr, w, 0, rates, gains, 0.1, seen, gain_vector)


# --------------------------------------------------------------------------------------
# BLAS rank-1 update. NumPy has no ``ger``: ``P -= c k k^T`` in NumPy costs an outer
# product into a buffer and a subtraction (three sweeps of N^2 memory), which is not a
# tight floor. NumPy's own bundled OpenBLAS exports cblas_dger; call it through ctypes
# when it can be found, so the RLS step can also be compared with gemv + ger.


def find_blas_dger():
    """``dger(P, k, alpha)`` doing ``P += alpha k k^T`` in place, or None if unavailable."""
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

            # A wrong guess at the ABI must not produce a silently wrong floor.
            probe = np.random.default_rng(0)
            A, v = probe.standard_normal((5, 5)), probe.standard_normal(5)
            expected = A - 0.5 * np.outer(v, v)
            dger(A, v, -0.5)
            if np.allclose(A, expected):
                return dger
    return None


# --------------------------------------------------------------------------------------
# The problem being timed


@dataclass
class Setup:
    n_units: int
    protocol: Protocol
    period: int
    reservoir: object = None
    targets: np.ndarray = None

    @property
    def trial_steps(self) -> int:
        return self.protocol.pulse_steps + self.period

    @property
    def learn_steps_per_trial(self) -> int:
        return -(-self.period // self.protocol.learn_every)


def make_targets(n_targets: int, period: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth periodic targets of unit variance (their values do not affect the cost)."""
    t = np.arange(period) / period
    out = np.zeros((n_targets, period))
    for j in range(n_targets):
        for harmonic in range(1, 5):
            phase = rng.uniform(0, 2 * np.pi)
            out[j] += rng.normal() / harmonic * np.sin(2 * np.pi * harmonic * t + phase)
    out -= out.mean(axis=1, keepdims=True)
    return out / out.std(axis=1, keepdims=True)


def batch_settings(batch: int) -> tuple[list[RuleSetting], int]:
    """Delta and Bayesian settings, alternating, and the number of targets giving ``batch`` runs.

    Rates are small enough that no run diverges: a diverged run is silenced (and an RLS
    run stops updating P), which would make its timing unrepresentative.
    """
    pool = [RuleSetting("delta", 1e-4), RuleSetting("bayes", 1e-3),
            RuleSetting("delta", 3.16e-5), RuleSetting("bayes", 3.16e-4),
            RuleSetting("delta", 1e-5), RuleSetting("bayes", 1e-4),
            RuleSetting("delta", 3.16e-4), RuleSetting("bayes", 3.16e-3)]
    n_settings = next(s for s in (8, 6, 4, 2, 1) if batch % s == 0)
    return pool[:n_settings], batch // n_settings


def trials_case(setup: Setup, key: str, settings: list[RuleSetting], n_targets: int,
                learn: bool = True) -> Case:
    """``kernels.run_trials`` called as ``simulate_readout_learning`` calls it."""
    reservoir, protocol = setup.reservoir, setup.protocol
    network = network_state(reservoir)
    scalars = protocol_scalars(protocol)
    targets = setup.targets[:n_targets]
    n_runs = n_targets * len(settings)
    state = {}

    def prepare(n):
        batch = readout_state(reservoir.n_units, n_targets, settings, protocol)
        rng = np.random.default_rng(12345)
        sq = np.zeros(n_runs)
        empty = np.zeros((0, n_runs))
        state["batch"] = batch

        def work():
            kernels.run_trials(network, batch, scalars, targets, n, learn, rng, sq, empty)
        return work

    def check():
        batch = state.get("batch")
        if batch is None or not batch.diverged.any():
            return ""
        return f"{int(batch.diverged.sum())}/{n_runs} runs diverged"

    return Case(key, prepare, per_unit=setup.trial_steps * n_runs, max_units=10**5, check=check)


def numpy_one_run(setup: Setup, sparse: bool, eta: float = 1e-4) -> Callable[[int], Callable]:
    """The trials protocol for one delta run, written as a plain NumPy loop."""
    res, protocol = setup.reservoir, setup.protocol
    dense = res.dense_weights()
    rows = np.repeat(np.arange(res.n_units), np.diff(res.indptr))
    u, w_in, g = res.feedback, res.input_weights, res.readout_gains
    f = setup.targets[0]
    n_units, pulse, period = res.n_units, protocol.pulse_steps, setup.period
    leak, noise_std, every = protocol.leak, protocol.noise_step_std, protocol.learn_every

    def prepare(n_trials):
        rng = np.random.default_rng(12345)

        def work():
            w = np.zeros(n_units)
            for _ in range(n_trials):
                x = protocol.init_std * rng.standard_normal(n_units)
                r = np.tanh(x)
                z = w @ (g * r)
                for step in range(pulse + period):
                    t = step - pulse
                    if t >= 0 and t % every == 0:
                        w += (eta * (f[t] - z)) * (g * r)
                    drive = protocol.pulse_amplitude if t < 0 else 0.0
                    if sparse:
                        recurrent = np.bincount(rows, weights=res.weights * r[res.indices],
                                                minlength=n_units)
                    else:
                        recurrent = dense @ r
                    x += leak * (recurrent - x + u * z + w_in * drive)
                    x += noise_std * rng.standard_normal(n_units)
                    np.tanh(x, out=r)
                    z = w @ (g * r)
        return work
    return prepare


def numpy_batch(setup: Setup, batch: int) -> Callable[[int], Callable]:
    """A dense NumPy loop over ``batch`` runs (J @ R is one BLAS gemm per step)."""
    res, protocol = setup.reservoir, setup.protocol
    dense = res.dense_weights()
    u, w_in = res.feedback[:, None], res.input_weights[:, None]
    g = res.readout_gains[:, None]
    settings, n_targets = batch_settings(batch)
    f = np.repeat(setup.targets[:n_targets], len(settings), axis=0)
    rate = np.tile([s.rate for s in settings], n_targets)
    bayes = np.tile([1.0 if s.rule == "bayes" else 0.0 for s in settings], n_targets)
    n_units, pulse, period = res.n_units, protocol.pulse_steps, setup.period
    leak, noise_std, every = protocol.leak, protocol.noise_step_std, protocol.learn_every

    def prepare(n_trials):
        rng = np.random.default_rng(12345)

        def work():
            w = np.zeros((n_units, batch))
            alpha = np.tile(rate, (n_units, 1))
            for _ in range(n_trials):
                x = np.repeat(protocol.init_std * rng.standard_normal((n_units, 1)), batch, axis=1)
                r = np.tanh(x)
                z = np.einsum("ib,ib->b", w, g * r)
                for step in range(pulse + period):
                    t = step - pulse
                    if t >= 0 and t % every == 0:
                        s = g * r
                        alpha /= 1.0 + bayes * alpha * s * s
                        w += alpha * (f[:, t] - z) * s
                    drive = protocol.pulse_amplitude if t < 0 else 0.0
                    x += leak * (dense @ r - x + u * z + w_in * drive)
                    x += noise_std * rng.standard_normal((n_units, 1))
                    np.tanh(x, out=r)
                    z = np.einsum("ib,ib->b", w, g * r)
        return work
    return prepare


def build_cases(setup: Setup, batches: list[int], with_numpy: bool) -> dict[str, Case]:
    res = setup.reservoir
    n_units = res.n_units
    rng = np.random.default_rng(7)
    cases: dict[str, Case] = {}

    def add(case):
        cases[case.key] = case

    # Realistic activity: rates of a reservoir state, and what the readout sees.
    rates_pool = np.tanh(rng.standard_normal((n_units, 64)))
    seen_pool = res.readout_gains[:, None] * rates_pool
    seen_rows = np.ascontiguousarray(seen_pool.T)

    dense = res.dense_weights()

    def prepare_dense(n):
        r = rates_pool[:, 0].copy()
        out = np.empty(n_units)

        def work():
            for _ in range(n):
                np.dot(dense, r, out=out)
        return work
    add(Case("dense_matvec", prepare_dense))

    def prepare_csr(batch):
        def prepare(n):
            r = np.ascontiguousarray(rates_pool[:, np.arange(batch) % 64])
            out = np.empty_like(r)
            return lambda: _repeat_recurrent(n, res.indptr, res.indices, res.weights, r, out)
        return prepare

    # RLS floor: the two passes over P that a FORCE step needs, in NumPy.
    def prepare_rls_floor(part):
        def prepare(n):
            P = np.eye(n_units)
            k = np.empty(n_units)
            outer = np.empty((n_units, n_units))

            def work():
                for it in range(n):
                    s = seen_rows[it % 64]
                    if part in ("both", "matvec"):
                        np.dot(P, s, out=k)
                    else:
                        k[:] = s
                    if part in ("both", "rank1"):
                        c = 1.0 / (1.0 + s @ k)
                        np.multiply(k[:, None], c * k, out=outer)
                        np.subtract(P, outer, out=P)
            return work
        return prepare
    add(Case("rls_floor", prepare_rls_floor("both")))
    add(Case("rls_floor_matvec", prepare_rls_floor("matvec")))
    add(Case("rls_floor_rank1", prepare_rls_floor("rank1")))

    dger = find_blas_dger()
    if dger is not None:
        def prepare_rls_blas(n):
            P = np.eye(n_units)
            k = np.empty(n_units)

            def work():
                for it in range(n):
                    s = seen_rows[it % 64]
                    np.dot(P, s, out=k)
                    dger(P, k, -1.0 / (1.0 + s @ k))
            return work
        add(Case("rls_floor_blas", prepare_rls_blas))

    def prepare_rls_update(n):
        P = np.eye(n_units)
        w = np.zeros((n_units, 1))
        r = np.empty((n_units, 1))
        seen = np.empty(n_units)
        gain_vector = np.empty(n_units)
        return lambda: _repeat_rls(n, P, w, r, rates_pool, res.readout_gains, seen, gain_vector)
    add(Case("rls_update", prepare_rls_update))

    # Whole runs, one at a time.
    add(trials_case(setup, "run_delta", [RuleSetting("delta", 1e-4)], 1))
    add(trials_case(setup, "run_bayes", [RuleSetting("bayes", 1e-3)], 1))
    add(trials_case(setup, "run_rls", [RuleSetting("rls", 1.0)], 1))
    for batch in batches:
        if batch > 1:
            settings, n_targets = batch_settings(batch)
            add(trials_case(setup, f"batch_{batch}", settings, n_targets))

    if with_numpy:
        add(Case("numpy_dense", numpy_one_run(setup, sparse=False),
                 per_unit=setup.trial_steps, max_units=10**4))
        add(Case("numpy_sparse", numpy_one_run(setup, sparse=True),
                 per_unit=setup.trial_steps, max_units=10**4))
        add(Case("numpy_dense_b16", numpy_batch(setup, 16),
                 per_unit=setup.trial_steps * 16, max_units=10**4))

    # Sub-kernels, each alone.
    for batch in BREAKDOWN_BATCHES:
        cols = np.arange(batch) % 64
        settings, n_targets = batch_settings(batch)
        learning = readout_state(n_units, n_targets, settings, setup.protocol)

        def state_arrays(cols=cols):
            x = np.ascontiguousarray(np.arctanh(np.clip(rates_pool[:, cols], -0.999, 0.999)))
            return x, np.tanh(x)

        add(Case(f"csr_b{batch}", prepare_csr(batch)))

        def prepare_euler(n, batch=batch, state_arrays=state_arrays):
            x, r = state_arrays()
            recurrent = dense @ r
            z = np.full(batch, 0.1)
            noise = setup.protocol.noise_step_std * np.random.default_rng(3).standard_normal(n_units)
            drive = np.zeros(n_units)
            return lambda: _repeat_euler(n, x, r, recurrent, res.feedback, drive, z, noise,
                                         setup.protocol.leak)
        add(Case(f"euler_b{batch}", prepare_euler))

        def prepare_tanh(n, state_arrays=state_arrays):
            x, r = state_arrays()
            return lambda: _repeat_tanh(n, x, r)
        add(Case(f"tanh_b{batch}", prepare_tanh))

        def prepare_readout(n, batch=batch, state_arrays=state_arrays):
            _, r = state_arrays()
            w = 1e-3 * np.ones((n_units, batch))
            z = np.empty(batch)
            return lambda: _repeat_readout(n, w, r, res.readout_gains, z)
        add(Case(f"readout_b{batch}", prepare_readout))

        def prepare_local(n, batch=batch, learning=learning, state_arrays=state_arrays):
            _, r = state_arrays()
            w = learning.w.copy()
            rate_coef = learning.alpha.copy()
            err = np.full(batch, 0.1)
            return lambda: _repeat_local(n, w, rate_coef, r, res.readout_gains, err,
                                         learning.alpha_decay, learning.alpha_floor,
                                         learning.bayes)
        add(Case(f"local_b{batch}", prepare_local))

    def prepare_noise(n):
        generator = np.random.default_rng(5)
        noise = np.empty(n_units)
        drive = np.empty(n_units)
        return lambda: _repeat_noise(n, generator, drive, res.input_weights, noise,
                                     setup.protocol.noise_step_std)
    add(Case("noise", prepare_noise))
    return cases


# --------------------------------------------------------------------------------------
# Output


def table(headers: list[str], rows: list[list], indent: str = "  ") -> str:
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
    value = seconds * 1e6
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.0f}%"


def ratio(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def verdict(ok: bool) -> str:
    return "met" if ok else "not met"


def report_size(setup: Setup, cases: dict[str, Case], batches: list[int]) -> dict:
    """Print the tables for one N; return the costs the projection needs."""
    n = setup.n_units
    c = {key: case.median for key, case in cases.items()}
    s = {key: case.spread for key, case in cases.items()}
    floor = c["dense_matvec"]
    rls_floor = c["rls_floor"]
    learn_per_trial = setup.learn_steps_per_trial
    steps_per_learn = setup.trial_steps / learn_per_trial

    print(f"\n== N = {n}: floors and one run at a time (batch 1) ==")
    rows = [
        ["floor F: dense J @ r (NumPy BLAS)", us(floor), pct(s["dense_matvec"]), "1.00", ""],
        ["CSR J @ r (recurrent_input, batch 1)", us(c["csr_b1"]), pct(s["csr_b1"]),
         ratio(c["csr_b1"] / floor), ""],
    ]
    for rule in ("delta", "bayes"):
        value = c[f"run_{rule}"]
        rows.append([f"{rule} run, per step", us(value), pct(s[f"run_{rule}"]),
                     ratio(value / floor),
                     f"<= {TARGET_FLOOR_RATIO}: {verdict(value / floor <= TARGET_FLOOR_RATIO)}"])
    print(table(["quantity", "us", "spread", "x F", "target"], rows))

    rls_run = c["run_rls"]
    per_learn_2 = 2 * rls_run
    per_learn_exact = rls_run * steps_per_learn
    extra = (rls_run - c["run_delta"]) * steps_per_learn
    print()
    blas = c.get("rls_floor_blas")
    # (label, seconds, spread, target ratio checked against R or None)
    entries = [
        ("floor R: P @ s + rank-1 P -= c k k^T (NumPy)", rls_floor, s["rls_floor"], None),
        ("  of which P @ s", c["rls_floor_matvec"], s["rls_floor_matvec"], None),
        ("  of which rank-1 (outer into buffer, subtract)", c["rls_floor_rank1"],
         s["rls_floor_rank1"], None),
    ]
    if blas:
        entries.append(("floor R': P @ s + BLAS dger (one sweep)", blas, s["rls_floor_blas"], None))
    entries += [
        ("kernels.rls_update alone", c["rls_update"], s["rls_update"], TARGET_FLOOR_RATIO),
        ("rls run, per step", rls_run, s["run_rls"], None),
        ("rls run, 2 x per step (~ per learning step)", per_learn_2, float("nan"), TARGET_FLOOR_RATIO),
        (f"rls run, time / learning steps (= {steps_per_learn:.2f} steps)", per_learn_exact,
         float("nan"), None),
        ("(rls run - delta run) / learning steps", extra, float("nan"), None),
    ]
    rows = []
    for label, value, spread, target in entries:
        row = [label, us(value), pct(spread), ratio(value / rls_floor)]
        if blas:
            row.append(ratio(value / blas))
        row.append(f"<= {target}: {verdict(value / rls_floor <= target)}" if target else "")
        rows.append(row)
    print(table(["quantity", "us", "spread", "x R"] + (["x R'"] if blas else []) + ["target"], rows))

    one_at_a_time = 0.5 * (c["run_delta"] + c["run_bayes"])
    if "numpy_dense" in c:
        print(f"\n== N = {n}: plain NumPy loop of the same step (delta rule) ==")
        b16 = c.get(f"batch_{16}")
        rows = []
        for key, label in (("numpy_dense", "NumPy, dense J @ r (BLAS), 1 run"),
                           ("numpy_sparse", "NumPy, sparse J @ r (bincount), 1 run")):
            gain1 = c[key] / c["run_delta"]
            rows.append([label, us(c[key]), pct(s[key]), ratio(c[key] / floor), ratio(gain1),
                         ratio(c[key] / b16) if b16 else "-",
                         f">= {TARGET_NUMPY_SPEEDUP:g}: {verdict(gain1 >= TARGET_NUMPY_SPEEDUP)}"])
        rows.append(["NumPy, dense J @ R (gemm), 16 runs, per run", us(c["numpy_dense_b16"]),
                     pct(s["numpy_dense_b16"]), ratio(c["numpy_dense_b16"] / floor), "-",
                     ratio(c["numpy_dense_b16"] / b16) if b16 else "-", ""])
        print(table(["per step (per run)", "us", "spread", "x F", "Numba B=1 faster by",
                     "Numba B=16 faster by", "target (vs B=1)"], rows))
        print("  (faster by = NumPy time / Numba time per run-step; below 1 the NumPy loop wins)")

    print(f"\n== N = {n}: batches of delta + Bayesian runs in one run_trials call ==")
    per_run = {1: one_at_a_time}
    rows = [[1, us(one_at_a_time), us(one_at_a_time), "-", ratio(one_at_a_time / floor), "1.00",
             "(mean of the delta and bayes runs above)"]]
    for batch in batches:
        if batch == 1:
            continue
        key = f"batch_{batch}"
        per_run[batch] = c[key]
        gain = one_at_a_time / c[key]
        note = ""
        if batch == TARGET_BATCH_AT:
            note = f">= {TARGET_BATCH_GAIN:g}: {verdict(gain >= TARGET_BATCH_GAIN)}"
        rows.append([batch, us(c[key] * batch), us(c[key]), pct(s[key]), ratio(c[key] * batch / floor),
                     ratio(gain), note])
    print(table(["B", "us/step", "us/step/run", "spread", "step x F", "per-run gain", "target"], rows))

    print(f"\n== N = {n}: where a step goes (each sub-kernel timed alone; us per call) ==")
    learn_share = learn_per_trial / setup.trial_steps
    rows = []
    totals = {b: 0.0 for b in BREAKDOWN_BATCHES}
    step_time = {1: one_at_a_time}
    for b in BREAKDOWN_BATCHES:
        if b != 1:
            step_time[b] = c.get(f"batch_{b}", float("nan")) * b
    parts = [("CSR product J @ r", "csr_b{}", 1.0),
             ("Euler update + tanh", "euler_b{}", 1.0),
             ("  of which tanh alone", "tanh_b{}", 0.0),
             ("readout z = w . (g r)", "readout_b{}", 1.0),
             ("noise draws + input drive", "noise", 1.0),
             (f"local update (on {100 * learn_share:.0f}% of steps)", "local_b{}", learn_share)]
    for label, pattern, weight in parts:
        row = [label]
        for b in BREAKDOWN_BATCHES:
            per_call = c[pattern.format(b)]
            per_step = per_call * (weight or 1.0)
            if weight:
                totals[b] += per_step
            row += [us(per_call), pct(per_step / step_time[b])]
        rows.append(row)
    rows.append(["sum of the parts, per step"] + sum(([us(totals[b]), pct(totals[b] / step_time[b])]
                                                       for b in BREAKDOWN_BATCHES), []))
    rows.append(["whole step (run_trials, as above)"] + sum(([us(step_time[b]), "100%"]
                                                              for b in BREAKDOWN_BATCHES), []))
    headers = ["part"] + sum(([f"B={b} us", f"B={b} share"] for b in BREAKDOWN_BATCHES), [])
    print(table(headers, rows))
    print("  (share = per-call time x calls per step / whole step. Parts are timed alone, warm in"
          " cache,\n  so they need not add up to 100%; the rest is the divergence check and loop"
          " overhead.)")

    problems = [f"{key}: {case.check()}" for key, case in cases.items() if case.check and case.check()]
    if problems:
        print("  WARNING (diverged runs skip work, their timings are optimistic): " + "; ".join(problems))
    # The RLS cost inside a run (P competes with J for the cache) is what a job pays;
    # the isolated kernel time guards against a noisy difference of two medians.
    return {"per_run": per_run, "rls_update": max(extra, c["rls_update"])}


# --------------------------------------------------------------------------------------
# Projection


def period_steps(variant) -> int:
    # Mirrors synlearn.reservoir.pipeline.make_targets.
    target = variant.params["target"]
    dt = float(variant.params["protocol"]["dt_ms"])
    repeats = int(target["repeats"])
    if target["kind"] == "four_sines":
        return int(round(1.2 * repeats * (1000.0 / dt)))
    return int(round(float(target["period_ms"]) * repeats / dt))


def per_run_cost(measured: dict[int, dict], n_units: int, batch: int) -> tuple[float, float, str]:
    """Per-run-step cost and RLS update cost at (N, batch), from the measured grid.

    Batch: linear in log B between measured sizes, clamped outside. N: if not measured,
    the nearest measured N scaled by (N / N_m)^2 (exact for the O(N^2) parts, an upper
    bound for the O(N) ones when N > N_m); flagged in the table.
    """
    flag = ""
    n_ref = min(measured, key=lambda m: abs(math.log(m / n_units)))
    scale = 1.0
    if n_ref != n_units:
        scale = (n_units / n_ref) ** 2
        flag = f"*N^2 from {n_ref}"
    grid = measured[n_ref]["per_run"]
    sizes = sorted(grid)
    if batch <= sizes[0]:
        value = grid[sizes[0]]
    elif batch >= sizes[-1]:
        value = grid[sizes[-1]]
    else:
        hi = next(b for b in sizes if b >= batch)
        lo = max(b for b in sizes if b <= batch)
        if hi == lo:
            value = grid[lo]
        else:
            frac = (math.log(batch) - math.log(lo)) / (math.log(hi) - math.log(lo))
            value = grid[lo] + frac * (grid[hi] - grid[lo])
    return value * scale, measured[n_ref]["rls_update"] * scale, flag


def project(config_path: Path, measured: dict[int, dict]) -> None:
    config = yaml.safe_load(config_path.read_text())
    studies = resolve_studies(config["reservoir"])
    print(f"\n== projected CPU time of {config_path.name} (measured costs, this machine) ==")
    rows = []
    grand = 0.0
    for study, variants in studies.items():
        jobs = 0
        seconds = 0.0
        batches, sizes, flags, steps_per_job, rls_runs = set(), set(), set(), set(), set()
        for variant in variants:
            protocol = variant.protocol()
            n_units = int(variant.params["network"]["n_units"])
            settings = variant.rule_settings()
            batch = variant.targets * len(settings)
            n_rls = variant.targets * sum(s.rule == "rls" for s in settings)
            period = period_steps(variant)
            last = protocol.checkpoints[-1]
            n_checks = len(protocol.checkpoints)
            if protocol.kind == "trials":
                trial_steps = protocol.pulse_steps + period
                steps = last * trial_steps + n_checks * protocol.n_test_trials * trial_steps
                learn_steps = last * -(-period // protocol.learn_every)
            else:
                steps = last * period + n_checks * protocol.test_periods * period
                learn_steps = -(-last * period // protocol.learn_every)
            step_cost, rls_cost, flag = per_run_cost(measured, n_units, batch)
            # Tests are charged as learning steps: a slight over-estimate.
            job = steps * batch * step_cost + n_rls * learn_steps * rls_cost
            jobs += variant.networks
            seconds += variant.networks * job
            batches.add(batch)
            sizes.add(n_units)
            steps_per_job.add(steps)
            rls_runs.add(n_rls)
            if flag:
                flags.add(flag)
        grand += seconds

        def show(values):
            return "/".join(str(v) for v in sorted(values))
        rows.append([study, len(variants), jobs, show(sizes), show(batches), show(rls_runs),
                     show(steps_per_job), f"{seconds / jobs:.0f}", f"{seconds / 3600:.2f}",
                     " ".join(sorted(flags))])
    print(table(["study", "variants", "jobs", "N", "batch", "rls runs", "steps/job",
                 "CPU s/job", "CPU h", "note"], rows))
    print(f"  total: {grand / 3600:.2f} CPU h  (~{grand / 3600 / 2:.2f} h wall on 2 idle cores)")
    print("  steps/job = training trials (last checkpoint) + n_test_trials per checkpoint,"
          " x (pulse + period) steps; continuous: periods instead of trials.")
    print("  cost per job = steps x batch x per-run-step cost at that batch size (log-B"
          " interpolation; tests charged as learning steps)\n  + RLS runs x learning steps x"
          " RLS cost per learning step (the larger of the in-run extra and rls_update alone).")


# --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000], help="network sizes N")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16, 64, 160],
                        help="batch sizes (runs per kernel call)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="timed rounds per case (median over rounds); default 9, quick 3")
    parser.add_argument("--seconds", type=float, default=None,
                        help="target duration of one measurement; default 0.08, quick 0.03")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--numpy-sizes", type=int, nargs="*", default=[500],
                        help="sizes at which the plain NumPy loops are timed")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--no-projection", action="store_true")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 9)
    seconds = args.seconds or (0.03 if args.quick else 0.08)
    batches = sorted(set(args.batches) | set(BREAKDOWN_BATCHES))

    config = yaml.safe_load(args.config.read_text())
    defaults = config["reservoir"]["defaults"]
    network = defaults["network"]
    default_variant = resolve_studies({"defaults": defaults, "studies": {"defaults": {}}})["defaults"][0]
    period = period_steps(default_variant)
    protocol = default_variant.protocol()

    started = time.perf_counter()
    load = os.getloadavg()
    print(__doc__.splitlines()[0])
    print(f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
          f"{os.cpu_count()} CPUs; OMP/OPENBLAS threads = {os.environ.get('OMP_NUM_THREADS')}/"
          f"{os.environ.get('OPENBLAS_NUM_THREADS')}")
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"network: p = {network['connection_prob']}, g = {network['gain']}, readout gain "
          f"log10 sd = {network['readout_gain_log10_sd']}; protocol: pulse {protocol.pulse_steps} + "
          f"period {period} steps, learn every {protocol.learn_every}, noise_std "
          f"{protocol.noise_std}; medians over {rounds} rounds of ~{seconds:g} s measurements")

    measured = {}
    for n_units in args.sizes:
        reservoir = make_reservoir(n_units, float(network["connection_prob"]), float(network["gain"]),
                                   np.random.default_rng(2021), float(network["readout_gain_log10_sd"]))
        setup = Setup(n_units, protocol, period, reservoir,
                      make_targets(max(batches), period, np.random.default_rng(1)))
        cases = build_cases(setup, batches, with_numpy=n_units in args.numpy_sizes)
        for case in cases.values():
            calibrate(case, seconds)
        run_rounds(list(cases.values()), rounds, seed=n_units)
        measured[n_units] = report_size(setup, cases, batches)

    if not args.no_projection:
        project(args.config, measured)
    load = os.getloadavg()
    print(f"\nload average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"benchmark took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
