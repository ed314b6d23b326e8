"""Speed of the readout library (synlearn.reservoir.readouts) against the pipeline's kernels.

What is measured, for each N (``--sizes``; default 500 and 1000) and batch B
(``--batches``; default 1 and 16), per learning step of the whole batch, on reservoir-like
states (tanh of Gaussians times log-normal per-unit gains, a pool of 64 cycled):

1. Floors: the pipeline's own update of one learning step, in a Numba loop (so no
   Python-to-Numba dispatch counts), on the same states:
   - ``U+z``: ``kernels.output`` (the prediction), the error, ``kernels.local_update``:
     exactly the work of one library step of the delta / Bayesian rule;
   - ``U``: ``kernels.local_update`` alone (the pipeline gets ``z`` from its dynamics);
   - ``R``: ``kernels.output`` and ``kernels.rls_update`` for each of the B runs.
2. The library: ``partial_fit`` called once per step from a Python loop, and
   ``partial_fit_block`` on blocks of steps (64 for the local rules, 4 for RLS), for
   ``DeltaReadout``, ``BayesianReadout`` (with forgetting) and ``RLSReadout``.

The ratio "x floor" divides a library median by the floor of the same rule and size (U+z
for the local rules, R for RLS) from the same shuffled rounds; the issue's target is <= 1.5.
At batch 1 and N = 500 a local update is about a microsecond, the same order as the
Python overhead of one call; a block removes that overhead. "met" / "not met" are
information, not assertions.

Usage (BLAS is pinned to one thread, as the kernels are):
    python benchmarks/readouts.py                 (--sizes 500 1000 --batches 1 16)
    python benchmarks/readouts.py --quick
"""

from __future__ import annotations

import harness  # noqa: I001  (first: pins BLAS threads before NumPy loads)

import numba  # noqa: E402
import numpy as np  # noqa: E402

from harness import Case, ratio, table, us, verdict  # noqa: E402
from synlearn.reservoir import kernels  # noqa: E402
from synlearn.reservoir.readouts import BayesianReadout, DeltaReadout, RLSReadout  # noqa: E402

TARGET_RATIO = 1.5
POOL = 64
BLOCK = {"delta": 64, "bayes": 64, "rls": 4}
RATES = {"delta": 1e-4, "bayes": 1e-3, "rls": 1.0}


# Numba loops around the pipeline's kernels, compiled with the kernels' options (see
# benchmarks/reservoir.py); not cached: the benchmark must not write files next to itself.
def _loop(function):
    return numba.njit(nogil=True, fastmath=False, error_model="numpy")(function)


@_loop
def _pipeline_local(n, w, alpha, pool, targets, gain, z, err, alpha_decay, alpha_floor, bayes,
                    with_output):
    batch = w.shape[1]
    for it in range(n):
        s = pool[it % pool.shape[0]]
        if with_output:
            kernels.output(w, s, gain, z)
        for b in range(batch):
            err[b] = targets[it % pool.shape[0], b] - z[b]
        kernels.local_update(w, alpha, s, gain, err, alpha_decay, alpha_floor, bayes)


@_loop
def _pipeline_rls(n, P, w, pool, targets, gain, z, s_scratch, k_scratch):
    batch = w.shape[1]
    for it in range(n):
        s = pool[it % pool.shape[0]]
        kernels.output(w, s, gain, z)
        for b in range(batch):
            kernels.rls_update(P[b], w, b, s, gain, targets[it % pool.shape[0], b] - z[b],
                               s_scratch, k_scratch)


def make_readout(rule: str, n_units: int, batch: int):
    n_runs = None if batch == 1 else batch
    if rule == "delta":
        return DeltaReadout(RATES[rule], n_features=n_units, n_runs=n_runs)
    if rule == "bayes":
        return BayesianReadout(RATES[rule], 1000.0, step_time=2.0, n_features=n_units,
                               n_runs=n_runs)
    return RLSReadout(RATES[rule], n_features=n_units, n_runs=n_runs)


def build_cases(n_units: int, batch: int) -> list[Case]:
    rng = np.random.default_rng(n_units * 100 + batch)
    gains = 10.0 ** (0.5 * rng.standard_normal((n_units, 1)))
    gains /= np.sqrt(np.mean(gains**2))
    pool = np.ascontiguousarray(gains * np.tanh(rng.standard_normal((POOL, n_units, batch))))
    targets = rng.standard_normal((POOL, batch))
    gain = np.ones(n_units)
    tag = f"{n_units}_b{batch}"
    cases = []
    state = {}

    # what the user passes: (N,) and a float at batch 1, (N, B) and (B,) otherwise
    if batch == 1:
        views = [np.ascontiguousarray(pool[i, :, 0]) for i in range(POOL)]
        goals = [float(targets[i, 0]) for i in range(POOL)]
        blocks = {k: (np.ascontiguousarray(pool[:k, :, 0]), targets[:k, 0].copy())
                  for k in set(BLOCK.values())}
    else:
        views = [pool[i] for i in range(POOL)]
        goals = [targets[i] for i in range(POOL)]
        blocks = {k: (pool[:k], targets[:k]) for k in set(BLOCK.values())}

    def floor_local(with_output):
        def prepare(n):
            w = np.zeros((n_units, batch))
            alpha = np.full((n_units, batch), RATES["bayes"])
            z, err = np.zeros(batch), np.zeros(batch)
            decay = np.full(batch, np.exp(-2.0 * 2.0 / 1000.0))
            floor = RATES["bayes"] * (1.0 - decay)
            return lambda: _pipeline_local(n, w, alpha, pool, targets, gain, z, err, decay, floor,
                                           np.ones(batch), with_output)
        return prepare
    cases.append(Case(f"U+z_{tag}", floor_local(True), max_units=10**6))
    cases.append(Case(f"U_{tag}", floor_local(False), max_units=10**6))

    def floor_rls(n):
        P = np.empty((batch, n_units, n_units))
        P[:] = np.eye(n_units)
        w = np.zeros((n_units, batch))
        return lambda: _pipeline_rls(n, P, w, pool, targets, gain, np.zeros(batch),
                                     np.empty(n_units), np.empty(n_units))
    cases.append(Case(f"R_{tag}", floor_rls, max_units=10**5))

    for rule in ("delta", "bayes", "rls"):
        def prepare_steps(n, rule=rule):
            readout = make_readout(rule, n_units, batch)
            state[rule] = readout

            def work():
                fit = readout.partial_fit
                for i in range(n):
                    j = i % POOL
                    fit(views[j], goals[j])
            return work

        def prepare_block(n, rule=rule):
            readout = make_readout(rule, n_units, batch)
            state[rule] = readout
            states, goals_block = blocks[BLOCK[rule]]

            def work():
                for _ in range(n):
                    readout.partial_fit_block(states, goals_block)
            return work

        def check(rule=rule):
            readout = state.get(rule)
            return "diverged" if readout is not None and np.any(readout.diverged) else ""

        cap = 10**5 if rule == "rls" else 10**6
        cases.append(Case(f"{rule}_step_{tag}", prepare_steps, max_units=cap, check=check))
        cases.append(Case(f"{rule}_block_{tag}", prepare_block, per_unit=BLOCK[rule],
                          max_units=cap, check=check))
    return cases


def report(results: harness.Results, sizes: list[int], batches: list[int]) -> None:
    rows = []
    for n_units in sizes:
        for batch in batches:
            tag = f"{n_units}_b{batch}"
            for rule in ("delta", "bayes", "rls"):
                floor_key = f"R_{tag}" if rule == "rls" else f"U+z_{tag}"
                floor = results[floor_key]
                step = results[f"{rule}_step_{tag}"]
                block = results[f"{rule}_block_{tag}"]
                rows.append([
                    f"{rule} N={n_units} B={batch}",
                    f"{us(floor)} ({floor_key.split('_')[0]})",
                    "-" if rule == "rls" else us(results[f"U_{tag}"]),
                    us(step), ratio(step / floor),
                    f"{us(block)} (x{BLOCK[rule]})", ratio(block / floor),
                    f"step {verdict(step / floor <= TARGET_RATIO)}, "
                    f"block {verdict(block / floor <= TARGET_RATIO)}",
                ])
    print("\n== per learning step of the whole batch (us, medians): library vs pipeline kernels ==")
    print(table(["rule, size", "pipeline floor", "U alone", "partial_fit", "x floor",
                 "partial_fit_block", "x floor", f"target x <= {TARGET_RATIO:g}"], rows))
    print("  (floor: U+z = output + error + local_update, R = output + rls_update per run, in a"
          " Numba loop;\n  U alone = local_update without the prediction, for information."
          " Spreads of every case below.)")
    spread_rows = [[key, us(results[key]), harness.pct(results.spread(key))]
                   for key in results.cases]
    print(table(["case", "us", "spread"], spread_rows))
    problems = results.warnings()
    if problems:
        print("  WARNING (a diverged run skips work): " + "; ".join(problems))


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args(argv)
    rounds, seconds = harness.timing(args)
    started = harness.banner(__doc__.splitlines()[0], rounds, seconds)
    cases = [case for n in args.sizes for b in args.batches for case in build_cases(n, b)]
    results = harness.measure(cases, seconds, rounds)
    report(results, args.sizes, args.batches)
    harness.footer(started)


if __name__ == "__main__":
    main()
