"""Speed of the variational spiking network's kernels against the dense recurrent product.

What is measured, at the stairs' default size (30 visible, 50 hidden: N = 80 neurons,
``--hidden`` to change it), dt = 1 ms, 200 ms batches, on weights after 500 training
batches (so that the rates are the data's, ~28 Hz visible), single-threaded, in
neuron-steps per second (one neuron advanced by one bin; a batch is N x 200 of them):

1. Floor E, the least work of the recurrent input: per bin, the N inputs decay and the
   row of W_M of every neuron that spiked in the previous bin is added (spikes x N adds,
   on the spikes of the measured regime). The kernels do more than this per bin (Q's
   inputs too, an exponential per neuron, the sampling), so "x E" says how far a step
   is from the input update alone.
   Floor F: the dense recurrent matrix-vector product a bin would cost without the
   sparse trick, ``u = phi @ W`` with N x N weights, once per bin: the faster of a Numba
   loop (one pass over W, innermost over the contiguous postsynaptic axis) and NumPy's
   ``np.dot(phi, W, out=...)`` (BLAS gemv, with one Python call per bin). For the
   batched sampler the floor Fk is the dense product of K samples' traces, ``(K, N) @
   (N, N)`` (BLAS gemm) once per bin.
2. Simulation: ``kernels.run_wake`` with K = 1 (the hidden neurons sampled under Q, the
   visible ones clamped: N M-intensities and nH Q-intensities a bin), and
   ``kernels.run_sleep`` (all N neurons sampled under M).
3. Simulation + learning: ``kernels.train_batches``, one wake sample per batch with the
   factors recorded, both eligibilities and the SGD update of all four arrays.
4. Importance sampling: ``kernels.run_wake`` with K samples (default 500) in one call,
   per neuron-step per sample, against Fk and against K separate K = 1 calls.
5. Peer (optional): Brian2, if importable, is reported as skipped otherwise; no
   Brian2 model is written here yet (its escape-noise network with two weight sets
   would be a project of its own), so the row only records its absence.

How to read the tables (see ``harness.py``): medians over ``--rounds`` shuffled rounds;
"spread" is the interquartile range over the rounds / the median; "x F" divides a
median by the floor's median from the same rounds (1.0 = as fast as one dense product a
bin, which the kernels undercut on the input but not on the intensities: every neuron
needs an exponential a bin and every sampled one a second and a uniform).

Usage (BLAS is pinned to one thread):
    python benchmarks/spiking.py                  (7 rounds of ~0.1 s measurements)
    python benchmarks/spiking.py --quick          (well under a minute)
    python benchmarks/spiking.py --hidden 200 --samples 100
"""

from __future__ import annotations

import harness  # noqa: I001  (first: pins BLAS threads before NumPy loads)

import math  # noqa: E402

import numpy as np  # noqa: E402

from harness import Case, Row, floor_table, ratio, table  # noqa: E402
from synlearn.core.jit import njit  # noqa: E402
from synlearn.spiking import kernels, learning, model, stairs  # noqa: E402

try:  # optional peer
    import brian2  # noqa: E402
except ImportError:  # pragma: no cover
    brian2 = None

BATCH_BINS = 200
POOL = 64  # stairs batches the cases cycle through
N_VISIBLE = 30


@njit
def dense_floor(W, traces, out):
    """``out = traces[t] @ W`` for every bin t: one pass over the N x N weights a bin."""
    n_bins, n = traces.shape
    n_post = W.shape[1]
    for t in range(n_bins):
        for i in range(n_post):
            out[i] = 0.0
        for j in range(n):
            x = traces[t, j]
            for i in range(n_post):
                out[i] += x * W[j, i]


@njit
def event_floor(W, spikes, decay, out):
    """The least work of the recurrent input: per bin, decay the N inputs and add the row
    of W of every neuron that spiked in the previous bin (spikes x N adds, not N x N)."""
    n_bins, n = spikes.shape
    n_post = W.shape[1]
    for i in range(n_post):
        out[i] = 0.0
    for t in range(1, n_bins):
        for i in range(n_post):
            out[i] *= decay
        for j in range(n):
            if spikes[t - 1, j]:
                for i in range(n_post):
                    out[i] += W[j, i]


def ns(seconds: float) -> str:
    """Seconds per neuron-step as nanoseconds."""
    if math.isnan(seconds):
        return "-"
    value = seconds * 1e9
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def rate(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{1.0 / seconds:.3g}"


def setup(n_hidden: int):
    params = model.make_params()
    data = stairs.make_stairs(np.random.default_rng(1), BATCH_BINS, 500 + POOL).raster
    weights = model.init_weights(N_VISIBLE, n_hidden, np.random.default_rng(2))
    weights = learning.train(weights, params, data[:500], np.random.default_rng(3)).weights
    return params, weights, np.ascontiguousarray(data[500:])


def cases(params, weights, pool, n_samples: int) -> tuple[list[Case], dict]:
    n, n_hidden = weights.n_neurons, weights.n_hidden
    steps = BATCH_BINS * n  # neuron-steps per batch
    empty3 = np.zeros((0, 0, 0))
    empty_spikes = np.zeros((0, 0, 0), dtype=np.uint8)
    rng = np.random.default_rng(11)
    traces = np.ascontiguousarray(rng.random((BATCH_BINS, n)))
    info = {}

    def prepare_floor_numba(units):
        out = np.zeros(n)

        def work():
            for _ in range(units):
                dense_floor(weights.W_M, traces, out)
        return work

    def prepare_floor_blas(units):
        out = np.zeros(n)
        W = weights.W_M

        def work():
            for _ in range(units):
                for t in range(BATCH_BINS):
                    np.dot(traces[t], W, out=out)
        return work

    # the spikes of the measured regime: data on the visible neurons, Q's samples on the
    # hidden ones (one wake sample per pool batch)
    wake_spikes = []
    for it in range(POOL):
        sample = learning.free_energy(weights, params, pool[it], np.random.default_rng(100 + it), 1)
        wake_spikes.append(np.concatenate([pool[it], sample.hidden[0]], axis=1))
    wake_spikes = np.ascontiguousarray(np.stack(wake_spikes).astype(np.uint8))
    decay = params.decay_syn

    def prepare_floor_events(units):
        out = np.zeros(n)

        def work():
            for it in range(units):
                event_floor(weights.W_M, wake_spikes[it % POOL], decay, out)
        return work

    batched_traces = np.ascontiguousarray(rng.random((n_samples, n)))

    def prepare_floor_gemm(units):
        out = np.zeros((n_samples, n))
        W = weights.W_M

        def work():
            for _ in range(units):
                for _t in range(BATCH_BINS):
                    np.dot(batched_traces, W, out=out)
        return work

    def prepare_wake(units):
        generator = np.random.default_rng(units)
        log_p, log_q = np.zeros(1), np.zeros(1)

        def work():
            for it in range(units):
                kernels.run_wake(weights, params, pool[it % POOL], False, empty_spikes,
                                 generator, log_p, log_q, empty3, empty3)
        return work

    def prepare_sleep(units):
        generator = np.random.default_rng(units)
        raster = np.zeros((BATCH_BINS, n), dtype=np.uint8)
        log_p = np.zeros(1)

        def work():
            for _ in range(units):
                kernels.run_sleep(weights, params, generator, raster, log_p)
        return work

    rule = model.make_rule()
    diverged = []

    def prepare_learn(units):
        generator = np.random.default_rng(units)
        trained = weights.copy()
        data = pool[np.arange(units) % POOL]
        energies, baselines = np.full(units, np.nan), np.full(units, np.nan)

        def work():
            done, bad = kernels.train_batches(trained, params, rule, data, generator,
                                              energies, baselines)
            diverged.append(bool(bad))
        return work

    def prepare_is(units):
        generator = np.random.default_rng(units)
        log_p, log_q = np.zeros(n_samples), np.zeros(n_samples)

        def work():
            for it in range(units):
                kernels.run_wake(weights, params, pool[it % POOL], False, empty_spikes,
                                 generator, log_p, log_q, empty3, empty3)
        return work

    def prepare_separate(units):
        generator = np.random.default_rng(units)
        log_p, log_q = np.zeros(1), np.zeros(1)

        def work():
            for it in range(units):
                x = pool[it % POOL]
                for _ in range(n_samples):
                    kernels.run_wake(weights, params, x, False, empty_spikes, generator,
                                     log_p, log_q, empty3, empty3)
        return work

    def check_learn():
        return "a training run diverged" if any(diverged) else ""

    per_k = steps * n_samples
    out = [Case("floor_events", prepare_floor_events, per_unit=steps),
           Case("floor_numba", prepare_floor_numba, per_unit=steps),
           Case("floor_blas", prepare_floor_blas, per_unit=steps),
           Case("floor_gemm", prepare_floor_gemm, per_unit=per_k),
           Case("wake", prepare_wake, per_unit=steps),
           Case("sleep", prepare_sleep, per_unit=steps),
           Case("learn", prepare_learn, per_unit=steps, max_units=20000, check=check_learn),
           Case("is", prepare_is, per_unit=per_k, max_units=1000),
           Case("is_separate", prepare_separate, per_unit=per_k, max_units=100)]

    # Spike counts of the measured regime (information).
    sample = learning.free_energy(weights, params, pool[0], np.random.default_rng(5), 20)
    info["visible_hz"] = pool.mean() * 1000
    info["hidden_hz"] = sample.hidden.mean() * 1000
    info["sleep_hz"] = learning.sleep(weights, params, 2000, np.random.default_rng(6)).mean() * 1000
    return out, info


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__.splitlines()[0], rounds=7, quick_rounds=3, seconds=0.1,
                            quick_seconds=0.03)
    parser.add_argument("--hidden", type=int, default=50, help="hidden neurons (default 50)")
    parser.add_argument("--samples", type=int, default=500,
                        help="importance samples K run as one batch (default 500)")
    args = parser.parse_args(argv)
    rounds, seconds = harness.timing(args)

    params, weights, pool = setup(args.hidden)
    measured, info = cases(params, weights, pool, args.samples)
    started = harness.banner(__doc__.splitlines()[0], rounds, seconds)
    n, k = weights.n_neurons, args.samples
    print(f"N = {n} ({N_VISIBLE} visible, {weights.n_hidden} hidden), dt = 1 ms, batches of "
          f"{BATCH_BINS} bins; rates: visible {info['visible_hz']:.1f} Hz (data), hidden "
          f"{info['hidden_hz']:.1f} Hz (wake), all {info['sleep_hz']:.1f} Hz (sleep)")
    if brian2 is None:
        print("Brian2 peer skipped: brian2 is not installed")
    else:
        print(f"Brian2 {brian2.__version__} is importable, but no Brian2 model of this network "
              "is written yet: peer skipped")
    c = harness.measure(measured, seconds, rounds, seed=0)
    for warning in c.warnings():
        print(f"  warning: {warning}")

    floor = min(c["floor_numba"], c["floor_blas"])
    which = "Numba loop" if c["floor_numba"] <= c["floor_blas"] else "NumPy gemv"

    def row(label, key):
        return Row(label, c[key], c.spread(key))

    events = c["floor_events"]
    print(f"\n== one network (K = 1), per neuron-step ==")
    print(floor_table([
        row("floor E = event-driven input: W rows of last bin's spikes", "floor_events"),
        Row(f"floor F = the faster dense phi @ W a bin ({which})", floor),
        row("  dense phi @ W, Numba loop", "floor_numba"),
        row("  dense phi @ W, NumPy gemv per bin", "floor_blas"),
        row("wake simulation: run_wake, K = 1", "wake"),
        row("sleep simulation: run_sleep", "sleep"),
        row("simulation + learning: train_batches", "learn"),
    ], {"E": events, "F": floor}, unit="ns", fmt=ns))

    print(f"\n== importance sampling, K = {k} samples, per neuron-step per sample ==")
    print(floor_table([
        row(f"floor Fk: dense (K, N) @ (N, N) a bin (BLAS gemm)", "floor_gemm"),
        row(f"run_wake with K = {k} in one call", "is"),
        row(f"K separate run_wake calls (K = 1)", "is_separate"),
    ], {"Fk": c["floor_gemm"], "F": floor}, unit="ns", fmt=ns))

    print("\n== summary: neuron-steps per second (one thread) ==")
    rows = [["dense floor F (one phi @ W a bin)", rate(floor), "1.00", "-"],
            ["wake simulation", rate(c["wake"]), ratio(c["wake"] / floor), "-"],
            ["sleep simulation", rate(c["sleep"]), ratio(c["sleep"] / floor), "-"],
            ["simulation + learning", rate(c["learn"]), ratio(c["learn"] / floor), "-"],
            [f"importance sampling, K = {k} batched", rate(c["is"]), ratio(c["is"] / floor),
             ratio(c["is"] / c["floor_gemm"])],
            [f"importance sampling, K = {k} separate", rate(c["is_separate"]),
             ratio(c["is_separate"] / floor), ratio(c["is_separate"] / c["floor_gemm"])]]
    print(table(["quantity", "neuron-steps/s", "x F", "x Fk"], rows))
    batch_ms = c["learn"] * BATCH_BINS * n * 1e3
    print(f"  a training batch (200 ms) costs {batch_ms:.3f} ms: an epoch of 500 batches "
          f"{batch_ms * 0.5:.2f} s; a K = {k} likelihood estimate of one 200 ms raster "
          f"{c['is'] * BATCH_BINS * n * k * 1e3:.1f} ms; batching gain "
          f"{c['is_separate'] / c['is']:.2f}x")
    harness.footer(started)


if __name__ == "__main__":
    main()
