"""Cost of the event-driven synapse kernel against its dense twin and the cost of its world.

For each feedback type at the paper's sizes (1000 synapses, tau = 1000 s for linear
and cerebellar; 100 synapses, tau = 5000 s for rl; dt = 10 ms), with the Bayesian
synapse and 31 classical rules in one kernel call (``synlearn.synapse.simulation.
simulate``, a fresh seed per measurement), in CPU time per simulated second:

- floor W: ``kernels.simulate_event_driven`` with no rule at all: drawing the world
  (geometric inter-spike intervals, exact OU target steps, membrane noise) and touching
  each spiking synapse once. The event-driven kernel cannot do less.
- the event-driven kernel with every rule; "x W" is its cost over that floor.
- floor Wd: ``kernels.simulate_dense`` with no rule (one Bernoulli draw and one OU step
  per synapse per step), and the dense step-by-step twin with every rule.

Then presynaptic spikes processed per CPU second by the event-driven kernel,
synapse-steps per CPU second by the dense twin, the ratio of their costs, and the
projected CPU time of the paper-scale default (500 tau, 3 feedback types, 5 seeds).
Medians over shuffled rounds, ratios of medians of the same rounds (see harness.py).

Usage:
    python benchmarks/synapse.py                 (5 rounds of ~0.4 s measurements)
    python benchmarks/synapse.py --quick         (under a minute)
"""

from __future__ import annotations

import harness  # noqa: I001  (first: pins BLAS threads before NumPy loads)

import itertools  # noqa: E402
import statistics  # noqa: E402

import numpy as np  # noqa: E402

from harness import Case, Row, floor_table, ratio, table  # noqa: E402
from synlearn.synapse import kernels  # noqa: E402
from synlearn.synapse import simulation as sim  # noqa: E402
from synlearn.synapse.model import FEEDBACKS, SynapseModel, draw_rates  # noqa: E402

# Units of work, in tau: calibration picks how many make one measurement.
EVENT_UNIT_TAU = 0.01
DENSE_UNIT_TAU = 0.0005
MEASURE_EVERY_TAU = 0.01  # simulate()'s default grid of coverage and variability
PROJECTED_TAU = 500.0
BUDGET_CPU_H = 3.0


def ms(seconds: float) -> str:
    """CPU seconds per simulated second, as milliseconds."""
    value = seconds * 1e3
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def steps(model: SynapseModel, duration_tau: float) -> int:
    return max(1, int(round(duration_tau * model.tau / model.dt)))


def simulate_case(key: str, model: SynapseModel, unit_tau: float, method: str,
                  spike_rates: list) -> Case:
    """``simulate`` with the Bayesian synapse and the paper's 31 classical rules."""
    seeds = itertools.count()

    def prepare(n):
        duration = n * unit_tau
        seed = next(seeds)

        def work():
            run = sim.simulate(model, duration_tau=duration, burn_in_tau=0.5 * duration,
                               seed=seed, method=method)
            spike_rates.append(run.n_spikes / (run.n_steps * model.dt))
        return work
    return Case(key, prepare, per_unit=unit_tau * model.tau, max_units=10**6)


def no_rule_case(key: str, model: SynapseModel, unit_tau: float, method: str,
                 spike_rates: list) -> Case:
    """The kernel with no rule: its world (and, event-driven, one touch per spike)."""
    seeds = itertools.count(10**6)
    record_every = steps(model, MEASURE_EVERY_TAU)
    etas = np.empty(0)
    record_slot = np.full(model.n_synapses, -1, dtype=np.int64)

    def prepare(n):
        n_steps = steps(model, n * unit_tau)
        rng = np.random.default_rng(next(seeds))
        rates = draw_rates(model, rng)
        spike_prob = rates * model.dt
        params = model.kernel_params(rates)
        options = model.kernel_options(False, n_steps // 2, record_every, record_every)
        empty2 = np.empty((0, 0))
        world = kernels.new_dense_world(np.empty((0, 0), dtype=np.bool_), empty2,
                                        np.empty(0), empty2)

        def work():
            if method == "event":
                _, n_spikes = kernels.simulate_event_driven(
                    rng, n_steps, sim.BLOCK_STEPS, spike_prob, params, options, etas,
                    record_slot, 0)
            else:
                _, _, n_spikes = kernels.simulate_dense(rng, n_steps, spike_prob, params,
                                                        options, etas, world, False)
            spike_rates.append(n_spikes / (n_steps * model.dt))
        return work
    return Case(key, prepare, per_unit=unit_tau * model.tau, max_units=10**6)


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__.splitlines()[0], rounds=5, quick_rounds=3, seconds=0.4,
                            quick_seconds=0.1)
    parser.add_argument("--feedbacks", nargs="+", choices=FEEDBACKS, default=list(FEEDBACKS))
    args = parser.parse_args(argv)
    rounds, seconds = harness.timing(args)
    n_rules = 1 + len(sim.PAPER_ETAS)

    models = {feedback: SynapseModel(feedback) for feedback in args.feedbacks}
    spikes = {}  # case key -> spikes per simulated second of each measurement
    cases = []
    for feedback, model in models.items():
        for key, make, unit, method in (("world", no_rule_case, EVENT_UNIT_TAU, "event"),
                                        ("event", simulate_case, EVENT_UNIT_TAU, "event"),
                                        ("dense_world", no_rule_case, DENSE_UNIT_TAU, "dense"),
                                        ("dense", simulate_case, DENSE_UNIT_TAU, "dense")):
            name = f"{key}_{feedback}"
            spikes[name] = []
            cases.append(make(name, model, unit, method, spikes[name]))

    started = harness.banner(__doc__.splitlines()[0], rounds, seconds)
    print(f"rules per kernel call: {n_rules} (Bayesian + {len(sim.PAPER_ETAS)} classical); "
          "times in ms of CPU per simulated second")
    c = harness.measure(cases, seconds, rounds, seed=1)

    summary = []
    total = 0.0
    for feedback, model in models.items():
        event, world = c[f"event_{feedback}"], c[f"world_{feedback}"]
        dense, dense_world = c[f"dense_{feedback}"], c[f"dense_world_{feedback}"]
        print(f"\n== {feedback}: {model.n_synapses} synapses, tau = {model.tau:g} s, "
              f"dt = {model.dt:g} s ==")
        rows = [
            Row("floor W: event kernel, no rule (world + one touch per spike)", world,
                c.spread(f"world_{feedback}")),
            Row(f"event-driven kernel, {n_rules} rules", event, c.spread(f"event_{feedback}")),
            Row("floor Wd: dense twin, no rule (Bernoulli + OU step per synapse-step)",
                dense_world, c.spread(f"dense_world_{feedback}")),
            Row(f"dense twin, {n_rules} rules", dense, c.spread(f"dense_{feedback}")),
        ]
        print(floor_table(rows, {"W": world, "Wd": dense_world, "event": event},
                          unit="ms/sim s", fmt=ms))
        spikes_per_s = statistics.median(spikes[f"event_{feedback}"])
        per_seed = event * PROJECTED_TAU * model.tau
        total += per_seed * len(sim.PAPER_SEEDS)
        summary.append([feedback, f"{spikes_per_s:.4g}", f"{spikes_per_s / event:.3g}",
                        f"{model.n_synapses / model.dt / dense:.3g}", ratio(event / world),
                        ratio(dense / event), f"{per_seed:.0f}"])

    print("\n== throughput and projection ==")
    print(table(["feedback", "spikes/sim s", "event spikes/CPU s", "dense syn-steps/CPU s",
                 "event x W", "dense/event cost", f"{PROJECTED_TAU:g} tau CPU s/seed"],
                summary))
    print(f"  projected default ({len(models)} feedback x {len(sim.PAPER_SEEDS)} seeds, "
          f"{PROJECTED_TAU:g} tau, event-driven): {total:.0f} CPU s = {total / 3600:.2f} CPU h "
          f"(budget {BUDGET_CPU_H:g} CPU h)")
    harness.footer(started)


if __name__ == "__main__":
    main()
