"""Speed of the batched Numba reservoir kernels against floors measured in this process.

What is measured, for each N (``--sizes``; default 500 and 1000), on a reservoir drawn
with the default config's network parameters and stepped with its default protocol
(trials of a 50 ms pulse plus a 200 ms target period, dt = 1 ms, learning every 2 steps
during the period, private noise on), with targets from the package's ``make_targets``:

1. Floors: the least work a step needs. J has p N^2 nonzeros (p = 0.1), so a delta or
   Bayesian step cannot be cheaper than one sparse product J @ r: floor F is the faster
   of SciPy's CSR product (``csr_matrix @ r``) and the kernels' own
   ``kernels.recurrent_input`` at batch 1. The dense BLAS gemv is shown for
   information. For RLS the floor R is ``P @ s`` plus the rank-1 downdate
   ``P -= c k k^T``, what one FORCE learning step must at least do, as BLAS gemv + dger
   (NumPy's bundled OpenBLAS through ctypes); the same in plain NumPy (three sweeps of
   P: NumPy has no rank-1 update) is shown for information, and is the floor if dger
   is not found.
2. One run at a time (batch 1): ``kernels.run_trials`` exactly as
   ``simulate_readout_learning`` calls it, time per simulated step, for the delta,
   Bayesian and RLS rules, and ``kernels.rls_update`` alone.
3. The same step written as a plain NumPy loop (dense BLAS J, or a sparse product in
   NumPy), one run, and a dense NumPy loop over a batch of 16 runs.
4. Batches of B runs (delta and Bayesian settings mixed) in one ``run_trials`` call:
   time per step per run, and how much cheaper a run is than one run at a time.
5. Where a step goes: each sub-kernel timed alone (inside a Numba loop so that the
   Python-to-Numba dispatch cost does not count), at batch 1 and 16.
6. Projected CPU time of the studies of ``config/config.yaml`` from the measured
   per-run-step costs, each study's period taken from ``make_targets``.

How to read the tables (see ``harness.py``): medians over ``--rounds`` shuffled rounds;
"spread" is the interquartile range over the rounds / the median; "x F", "x R" divide a
median by that floor's median from the same rounds (1.0 = as fast as the floor; the
issue's target is <= 1.5); "step x F" is a whole batch's step over one sparse product
at batch 1; "per-run gain" is the per-run cost of one run at a time over the per-run
cost in a batch of B (the target is >= 5 at B = 16). "met" / "not met" are
information, not assertions.

Usage (BLAS is pinned to one thread, as the kernels are):
    python benchmarks/reservoir.py                      (--sizes 500 1000, 9 rounds)
    python benchmarks/reservoir.py --quick              (under a minute)
    python benchmarks/reservoir.py --batches 1 16 --rounds 5 --no-projection
"""

from __future__ import annotations

import harness  # noqa: I001  (first: pins BLAS threads before NumPy loads)

import math  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402

from harness import Case, Row, floor_table, pct, ratio, table, us, verdict  # noqa: E402
from synlearn.reservoir import kernels  # noqa: E402
from synlearn.reservoir.network import make_reservoir, network_state  # noqa: E402
from synlearn.reservoir.pipeline import make_targets, targets_array  # noqa: E402
from synlearn.reservoir.protocol import (  # noqa: E402
    Protocol, RuleSetting, protocol_scalars, readout_state,
)
from synlearn.reservoir.studies import resolve_studies  # noqa: E402

try:  # the benchmark extra (pip install -e .[bench]); without it, F is our kernel
    import scipy.sparse as scipy_sparse  # noqa: E402
except ImportError:  # pragma: no cover
    scipy_sparse = None

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"
BREAKDOWN_BATCHES = (1, 16)
TARGET_FLOOR_RATIO = 1.5
TARGET_BATCH_GAIN = 5.0
TARGET_BATCH_AT = 16
TARGET_NUMPY_SPEEDUP = 10.0


# --------------------------------------------------------------------------------------
# Small Numba loops around the sub-kernels. Timing them from Python would add a
# dispatch cost of about a microsecond per call, as large as some of the kernels.
# Compiled with the kernels' options (synlearn.core.jit): kernels.tanh is inlined into
# the caller and compiled with the caller's options, and Numba's default Python error
# model puts a zero test before every division, which stops the loop vectorising.
# Not cached: the benchmark must not write files next to itself.


def _loop(function):
    return numba.njit(nogil=True, fastmath=False, error_model="numpy")(function)


@_loop
def _repeat_recurrent(n, indptr, indices, J, rates, out):
    for _ in range(n):
        kernels.recurrent_input(indptr, indices, J, rates, out)


@_loop
def _repeat_euler(n, x, rates, recurrent, u, drive, z, noise, leak):
    for _ in range(n):
        kernels.euler_step(x, rates, recurrent, u, drive, z, noise, leak)


@_loop
def _repeat_tanh(n, x, rates):
    # The loop of kernels.euler_step around the kernels' own (vectorisable) tanh.
    n_units, batch = x.shape
    for _ in range(n):
        for i in range(n_units):
            for b in range(batch):
                rates[i, b] = kernels.tanh(x[i, b])


@_loop
def _repeat_math_tanh(n, x, rates):
    # The same loop around the library call math.tanh, which does not vectorise.
    n_units, batch = x.shape
    for _ in range(n):
        for i in range(n_units):
            for b in range(batch):
                rates[i, b] = math.tanh(x[i, b])


@_loop
def _repeat_output(n, w, rates, g_out, z):
    for _ in range(n):
        kernels.output(w, rates, g_out, z)


@_loop
def _repeat_local(n, w, alpha, rates, g_out, err, alpha_decay, alpha_floor, bayes):
    for _ in range(n):
        kernels.local_update(w, alpha, rates, g_out, err, alpha_decay, alpha_floor, bayes)


@_loop
def _repeat_noise(n, rng, drive, w_in, noise, noise_std):
    # The per-step preamble of kernels._step: input drive and private noise draws.
    for _ in range(n):
        for i in range(noise.size):
            drive[i] = 0.0 * w_in[i]
            noise[i] = noise_std * rng.standard_normal()


@_loop
def _repeat_rls(n, P, w, rates, pool, g_out, s, k):
    # A fresh presynaptic vector each call: repeating one s would shrink P s
    # geometrically into subnormal numbers, which are very slow on x86.
    n_units, n_pool = pool.shape
    for it in range(n):
        column = it % n_pool
        for i in range(n_units):
            rates[i, 0] = pool[i, column]
        kernels.rls_update(P, w, 0, rates, g_out, 0.1, s, k)


# --------------------------------------------------------------------------------------
# The problem being timed


@dataclass
class Setup:
    protocol: Protocol
    reservoir: object
    targets: np.ndarray  # (n_targets, period) from make_targets

    @property
    def n_units(self) -> int:
        return self.reservoir.n_units

    @property
    def period(self) -> int:
        return self.targets.shape[1]

    @property
    def trial_steps(self) -> int:
        return self.protocol.pulse_steps + self.period

    @property
    def learn_steps_per_trial(self) -> int:
        return -(-self.period // self.protocol.learn_every)


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


def default_variant(config: dict, targets: int | None = None):
    """The config's ``reservoir.defaults`` as one variant (optionally with more targets)."""
    defaults = dict(config["reservoir"]["defaults"])
    if targets is not None:
        defaults["targets"] = int(targets)
    return resolve_studies({"defaults": defaults, "studies": {"defaults": {}}})["defaults"][0]


def period_steps(variant, seed: int) -> int:
    """Steps of one target period of ``variant``: the length ``make_targets`` gives."""
    return int(make_targets(variant, seed)["step"].nunique())


def trials_case(setup: Setup, key: str, settings: list[RuleSetting], n_targets: int,
                learn: bool = True) -> Case:
    """``kernels.run_trials`` called as ``simulate_readout_learning`` calls it."""
    reservoir, protocol = setup.reservoir, setup.protocol
    network = network_state(reservoir)
    scalars = protocol_scalars(protocol)
    targets = np.ascontiguousarray(setup.targets[:n_targets])
    n_runs = n_targets * len(settings)
    state = {}

    def prepare(n):
        readout = readout_state(reservoir.n_units, n_targets, settings, protocol)
        rng = np.random.default_rng(12345)
        sq = np.zeros(n_runs)
        empty = np.zeros((0, n_runs))
        state["readout"] = readout

        def work():
            kernels.run_trials(network, readout, scalars, targets, n, learn, rng, sq, empty)
        return work

    def check():
        readout = state.get("readout")
        if readout is None or not readout.diverged.any():
            return ""
        return f"{int(readout.diverged.sum())}/{n_runs} runs diverged"

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


def build_cases(setup: Setup, batches: list[int], with_numpy: bool, dger) -> list[Case]:
    res = setup.reservoir
    network = network_state(res)
    n_units = res.n_units
    rng = np.random.default_rng(7)
    cases: list[Case] = []
    add = cases.append

    # Realistic activity: rates of a reservoir state, and what the readout sees.
    rates_pool = np.tanh(rng.standard_normal((n_units, 64)))
    seen_rows = np.ascontiguousarray((network.g_out[:, None] * rates_pool).T)

    # Floors of the recurrent input (J @ r): sparse (SciPy, our kernel), and dense.
    dense = res.dense_weights()

    def prepare_dense(n):
        r = rates_pool[:, 0].copy()
        out = np.empty(n_units)

        def work():
            for _ in range(n):
                np.dot(dense, r, out=out)
        return work
    add(Case("dense_matvec", prepare_dense))

    if scipy_sparse is not None:
        csr = scipy_sparse.csr_matrix((network.J, network.indices, network.indptr),
                                      shape=(n_units, n_units))

        def prepare_scipy(batch):
            def prepare(n):
                r = np.ascontiguousarray(rates_pool[:, np.arange(batch) % 64])
                if batch == 1:
                    r = r[:, 0].copy()

                def work():
                    for _ in range(n):
                        csr @ r
                return work
            return prepare
        for batch in BREAKDOWN_BATCHES:
            add(Case(f"scipy_csr_b{batch}", prepare_scipy(batch)))

    def prepare_csr(batch):
        def prepare(n):
            r = np.ascontiguousarray(rates_pool[:, np.arange(batch) % 64])
            out = np.empty_like(r)
            return lambda: _repeat_recurrent(n, network.indptr, network.indices, network.J,
                                             r, out)
        return prepare

    # RLS floors: the two passes over P that a FORCE step needs, in NumPy and in BLAS.
    def prepare_rls_numpy(part):
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
    add(Case("rls_numpy", prepare_rls_numpy("both")))
    add(Case("rls_numpy_matvec", prepare_rls_numpy("matvec")))
    add(Case("rls_numpy_rank1", prepare_rls_numpy("rank1")))

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
        add(Case("rls_blas", prepare_rls_blas))

    def prepare_rls_update(n):
        P = np.eye(n_units)
        w = np.zeros((n_units, 1))
        r = np.empty((n_units, 1))
        return lambda: _repeat_rls(n, P, w, r, rates_pool, network.g_out, np.empty(n_units),
                                   np.empty(n_units))
    add(Case("rls_update", prepare_rls_update))

    # Whole runs, one at a time, then batches.
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
            return lambda: _repeat_euler(n, x, r, recurrent, network.u, drive, z, noise,
                                         setup.protocol.leak)
        add(Case(f"euler_b{batch}", prepare_euler))

        def prepare_tanh(n, state_arrays=state_arrays):
            x, r = state_arrays()
            return lambda: _repeat_tanh(n, x, r)
        add(Case(f"tanh_b{batch}", prepare_tanh))

        def prepare_math_tanh(n, state_arrays=state_arrays):
            x, r = state_arrays()
            return lambda: _repeat_math_tanh(n, x, r)
        add(Case(f"math_tanh_b{batch}", prepare_math_tanh))

        def prepare_output(n, batch=batch, state_arrays=state_arrays):
            _, r = state_arrays()
            w = 1e-3 * np.ones((n_units, batch))
            z = np.empty(batch)
            return lambda: _repeat_output(n, w, r, network.g_out, z)
        add(Case(f"output_b{batch}", prepare_output))

        def prepare_local(n, batch=batch, learning=learning, state_arrays=state_arrays):
            _, r = state_arrays()
            w = learning.w.copy()
            alpha = learning.alpha.copy()
            err = np.full(batch, 0.1)
            return lambda: _repeat_local(n, w, alpha, r, network.g_out, err,
                                         learning.alpha_decay, learning.alpha_floor,
                                         learning.bayes)
        add(Case(f"local_b{batch}", prepare_local))

    def prepare_noise(n):
        generator = np.random.default_rng(5)
        noise = np.empty(n_units)
        drive = np.empty(n_units)
        return lambda: _repeat_noise(n, generator, drive, network.w_in, noise,
                                     setup.protocol.noise_step_std)
    add(Case("noise", prepare_noise))
    return cases


# --------------------------------------------------------------------------------------
# Output


def recurrent_floor(c: harness.Results) -> tuple[float, str]:
    """Floor F: the faster of SciPy's CSR product and recurrent_input, at batch 1."""
    candidates = {"recurrent_input": c["csr_b1"]}
    if "scipy_csr_b1" in c:
        candidates["SciPy CSR"] = c["scipy_csr_b1"]
    name = min(candidates, key=candidates.get)
    return candidates[name], name


def report_size(setup: Setup, c: harness.Results, batches: list[int], dger_origin: str) -> dict:
    """Print the tables for one N; return the costs the projection needs."""
    n = setup.n_units
    floor, floor_name = recurrent_floor(c)
    learn_per_trial = setup.learn_steps_per_trial
    steps_per_learn = setup.trial_steps / learn_per_trial
    target = ("F", TARGET_FLOOR_RATIO)

    print(f"\n== N = {n}: floors of J @ r and one run at a time (batch 1) ==")
    nnz = int(setup.reservoir.indptr[-1])
    rows = []
    if "scipy_csr_b1" in c:
        rows.append(Row("SciPy CSR J @ r (csr_matrix @ r)", c["scipy_csr_b1"],
                        c.spread("scipy_csr_b1")))
    rows += [
        Row("kernels.recurrent_input, batch 1", c["csr_b1"], c.spread("csr_b1")),
        Row(f"floor F = the faster: {floor_name}", floor),
        Row("dense J @ r (NumPy BLAS gemv; information)", c["dense_matvec"],
            c.spread("dense_matvec")),
        Row("delta run, per step", c["run_delta"], c.spread("run_delta"), target),
        Row("bayes run, per step", c["run_bayes"], c.spread("run_bayes"), target),
    ]
    print(floor_table(rows, {"F": floor, "dense": c["dense_matvec"]}))
    print(f"  (J: {nnz} nonzeros = {nnz / n**2:.3f} N^2; x dense is the ratio to the dense"
          " gemv, the floor before this one)")
    if "scipy_csr_b1" not in c:
        print("  SciPy not installed (pip install -e .[bench]): F is recurrent_input alone")

    rls_run = c["run_rls"]
    extra = (rls_run - c["run_delta"]) * steps_per_learn
    if "rls_blas" in c:
        rls_floor = c["rls_blas"]
        floor_rows = [Row("floor R: P @ s + BLAS dger (gemv + rank-1, two sweeps)", rls_floor,
                          c.spread("rls_blas"))]
    else:
        rls_floor = c["rls_numpy"]
        floor_rows = []
    rls_target = ("R", TARGET_FLOOR_RATIO)
    rows = floor_rows + [
        Row(("floor R: " if not floor_rows else "") +
            "P @ s + P -= c k k^T in NumPy (three sweeps; information)", c["rls_numpy"],
            c.spread("rls_numpy")),
        Row("  of which P @ s", c["rls_numpy_matvec"], c.spread("rls_numpy_matvec")),
        Row("  of which rank-1 (outer into buffer, subtract)", c["rls_numpy_rank1"],
            c.spread("rls_numpy_rank1")),
        Row("kernels.rls_update alone", c["rls_update"], c.spread("rls_update"), rls_target),
        Row("rls run, per step", rls_run, c.spread("run_rls")),
        Row("rls run, 2 x per step (~ per learning step)", 2 * rls_run, target=rls_target),
        Row(f"rls run, time / learning steps (= {steps_per_learn:.2f} steps)",
            rls_run * steps_per_learn),
        Row("(rls run - delta run) / learning steps", extra),
    ]
    print()
    print(floor_table(rows, {"R": rls_floor}))
    print(f"  (dger: {dger_origin})")

    one_at_a_time = 0.5 * (c["run_delta"] + c["run_bayes"])
    b16 = c.get(f"batch_{16}")
    if "numpy_dense" in c:
        print(f"\n== N = {n}: plain NumPy loop of the same step (delta rule) ==")
        rows = []
        for key, label in (("numpy_dense", "NumPy, dense J @ r (BLAS), 1 run"),
                           ("numpy_sparse", "NumPy, sparse J @ r (bincount), 1 run")):
            gain1 = c[key] / c["run_delta"]
            rows.append([label, us(c[key]), pct(c.spread(key)), ratio(c[key] / floor),
                         ratio(gain1), ratio(c[key] / b16),
                         f">= {TARGET_NUMPY_SPEEDUP:g}: {verdict(gain1 >= TARGET_NUMPY_SPEEDUP)}"])
        rows.append(["NumPy, dense J @ R (gemm), 16 runs, per run", us(c["numpy_dense_b16"]),
                     pct(c.spread("numpy_dense_b16")), ratio(c["numpy_dense_b16"] / floor), "-",
                     ratio(c["numpy_dense_b16"] / b16), ""])
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
        rows.append([batch, us(c[key] * batch), us(c[key]), pct(c.spread(key)),
                     ratio(c[key] * batch / floor), ratio(gain), note])
    print(table(["B", "us/step", "us/step/run", "spread", "step x F", "per-run gain", "target"],
                rows))

    print(f"\n== N = {n}: where a step goes (each sub-kernel timed alone; us per call) ==")
    learn_share = learn_per_trial / setup.trial_steps
    totals = {b: 0.0 for b in BREAKDOWN_BATCHES}
    step_time = {1: one_at_a_time}
    for b in BREAKDOWN_BATCHES:
        if b != 1:
            step_time[b] = c.get(f"batch_{b}") * b
    # (label, key pattern, calls per step; 0 = a part of another row or a comparison)
    parts = [("CSR product J @ r (recurrent_input)", "csr_b{}", 1.0),
             ("  SciPy CSR product, for comparison", "scipy_csr_b{}", 0.0),
             ("Euler update + tanh (euler_step)", "euler_b{}", 1.0),
             ("  of which tanh alone (kernels.tanh)", "tanh_b{}", 0.0),
             ("  math.tanh instead, for comparison", "math_tanh_b{}", 0.0),
             ("readout z = w . (g r) (output)", "output_b{}", 1.0),
             ("noise draws + input drive", "noise", 1.0),
             (f"local update (on {100 * learn_share:.0f}% of steps)", "local_b{}", learn_share)]
    rows = []
    for label, pattern, weight in parts:
        if pattern.format(1) not in c:
            continue
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
          " overhead.\n  Indented rows are not summed.)")

    problems = c.warnings()
    if problems:
        print("  WARNING (diverged runs skip work, their timings are optimistic): " + "; ".join(problems))
    # The RLS cost inside a run (P competes with J for the cache) is what a job pays;
    # the isolated kernel time guards against a noisy difference of two medians.
    return {"per_run": per_run, "rls_update": max(extra, c["rls_update"])}


# --------------------------------------------------------------------------------------
# Projection


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


def project(config_path: Path, config: dict, measured: dict[int, dict]) -> None:
    studies = resolve_studies(config["reservoir"])
    seed = int(config["seed"])
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
            period = period_steps(variant, seed)
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
          " x (pulse + period) steps; continuous: periods instead of trials;\n  the period is"
          " the length of the targets synlearn.reservoir.pipeline.make_targets draws.")
    print("  cost per job = steps x batch x per-run-step cost at that batch size (log-B"
          " interpolation; tests charged as learning steps)\n  + RLS runs x learning steps x"
          " RLS cost per learning step (the larger of the in-run extra and rls_update alone).")


# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000], help="network sizes N")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16, 64, 160],
                        help="batch sizes (runs per kernel call)")
    parser.add_argument("--numpy-sizes", type=int, nargs="*", default=None,
                        help="sizes at which the plain NumPy loops are timed (default: the"
                             " smallest of --sizes)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--no-projection", action="store_true")
    args = parser.parse_args(argv)
    rounds, seconds = harness.timing(args)
    batches = sorted(set(args.batches) | set(BREAKDOWN_BATCHES))
    numpy_sizes = args.numpy_sizes if args.numpy_sizes is not None else [min(args.sizes)]

    config = yaml.safe_load(args.config.read_text())
    seed = int(config["seed"])
    n_targets = max(batch_settings(b)[1] for b in batches)
    variant = default_variant(config, targets=n_targets)
    network = variant.params["network"]
    protocol = variant.protocol()
    targets = targets_array(make_targets(variant, seed))

    started = harness.banner(__doc__.splitlines()[0], rounds, seconds)
    print(f"network: p = {network['connection_prob']}, g = {network['gain']}, readout gain "
          f"log10 sd = {network['readout_gain_log10_sd']}; protocol: pulse {protocol.pulse_steps} + "
          f"period {targets.shape[1]} steps, learn every {protocol.learn_every}, noise_std "
          f"{protocol.noise_std}; {n_targets} {variant.params['target']['kind']} targets "
          f"from make_targets")
    dger, dger_origin = harness.blas_dger()

    measured = {}
    for n_units in args.sizes:
        reservoir = make_reservoir(n_units, float(network["connection_prob"]), float(network["gain"]),
                                   np.random.default_rng(2021), float(network["readout_gain_log10_sd"]))
        setup = Setup(protocol, reservoir, targets)
        cases = build_cases(setup, batches, with_numpy=n_units in numpy_sizes, dger=dger)
        results = harness.measure(cases, seconds, rounds, seed=n_units)
        measured[n_units] = report_size(setup, results, batches, dger_origin)

    if not args.no_projection:
        project(args.config, config, measured)
    harness.footer(started)


if __name__ == "__main__":
    main()
