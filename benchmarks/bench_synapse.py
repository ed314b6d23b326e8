"""Cost of the event-driven synapse kernel against its dense step-by-step twin.

Prints, per feedback type at the paper's sizes (Bayesian + 31 classical rules in one
kernel call): presynaptic spikes processed per CPU second by the event-driven kernel,
synapse-steps per CPU second by the dense twin, the ratio of their CPU costs per
simulated second (medians over repeats), and the projected CPU time of the paper-scale
default (500 tau, 3 feedback types, Bayesian + 31 classical, 5 seeds).

Usage: python benchmarks/bench_synapse.py [--repeats 3] [--event-tau 1] [--dense-tau 0.02]
"""

from __future__ import annotations

import argparse
import statistics

from synlearn.synapse import simulation as ex


def measure(feedback: str, duration_tau: float, method: str, repeats: int):
    model = ex.SynapseModel(feedback)
    runs = [ex.simulate(model, duration_tau=duration_tau, burn_in_tau=0.5 * duration_tau,
                        seed=seed, method=method) for seed in range(repeats)]
    simulated = [run.n_steps * model.dt for run in runs]
    cpu_per_simulated_s = statistics.median(r.cpu_seconds / s
                                            for r, s in zip(runs, simulated))
    spikes_per_cpu_s = statistics.median(r.n_spikes / r.cpu_seconds for r in runs)
    synapse_steps_per_cpu_s = statistics.median(r.n_steps * model.n_synapses /
                                                r.cpu_seconds for r in runs)
    spikes_per_simulated_s = statistics.median(r.n_spikes / s
                                               for r, s in zip(runs, simulated))
    return {"cpu_per_simulated_s": cpu_per_simulated_s, "spikes_per_cpu_s":
            spikes_per_cpu_s, "synapse_steps_per_cpu_s": synapse_steps_per_cpu_s,
            "spikes_per_simulated_s": spikes_per_simulated_s, "tau": model.tau}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--event-tau", type=float, default=1.0,
                        help="event-driven run length (units of tau)")
    parser.add_argument("--dense-tau", type=float, default=0.02,
                        help="dense-twin run length (units of tau)")
    args = parser.parse_args()

    for feedback in ex.FEEDBACKS:  # compile (or load the cache) outside the timings
        ex.simulate(ex.SynapseModel(feedback, n_synapses=10, tau=1.0), duration_tau=3,
                    method="event")
        ex.simulate(ex.SynapseModel(feedback, n_synapses=10, tau=1.0), duration_tau=3,
                    method="dense")

    n_rules = 1 + len(ex.PAPER_ETAS)
    header = (f"{'feedback':<11}{'event spikes/s':>16}{'dense syn-steps/s':>19}"
              f"{'dense/event cost':>18}{'500 tau CPU s/seed':>20}")
    print(f"rules per kernel call: {n_rules} (Bayesian + {len(ex.PAPER_ETAS)} classical)"
          f"; medians over {args.repeats} repeats")
    print(header)
    total = 0.0
    for feedback in ex.FEEDBACKS:
        event = measure(feedback, args.event_tau, "event", args.repeats)
        dense = measure(feedback, args.dense_tau, "dense", args.repeats)
        per_seed = event["cpu_per_simulated_s"] * 500.0 * event["tau"]
        total += per_seed * len(ex.PAPER_SEEDS)
        ratio = dense["cpu_per_simulated_s"] / event["cpu_per_simulated_s"]
        print(f"{feedback:<11}{event['spikes_per_cpu_s']:>16.3g}"
              f"{dense['synapse_steps_per_cpu_s']:>19.3g}{ratio:>18.1f}{per_seed:>20.0f}")
    print(f"projected default ({len(ex.FEEDBACKS)} feedback x {len(ex.PAPER_SEEDS)} seeds,"
          f" 500 tau): {total:.0f} CPU s = {total / 3600:.2f} CPU h (budget 3 CPU h)")


if __name__ == "__main__":
    main()
