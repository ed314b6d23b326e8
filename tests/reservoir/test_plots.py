"""The reservoir figures, drawn from the tables of a tiny real run of every study."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from synlearn.reservoir import _FIGURE_TABLES, plots
from synlearn.reservoir.network import make_reservoir
from synlearn.reservoir.protocol import Protocol, RuleSetting, simulate_readout_learning
from synlearn.reservoir.stats import study_statistics
from synlearn.reservoir.targets import four_sines, sample_periodic_gp

from ..core.test_plotting import assert_figure_style, rc_snapshot

PERIOD = 40  # steps of 1 ms
CHECKPOINTS = (0, 2, 5)
DELTA = [RuleSetting("delta", rate) for rate in (1e-3, 1e-2)]
BAYES = [RuleSetting("bayes", rate) for rate in (1e-2, 1e-1)]
STUDIES = {
    # study -> (rule settings, variants as (swept columns, run options))
    "main": (DELTA + BAYES, [({}, {})]),
    "sines": (DELTA + BAYES, [({}, {"target": "four_sines"})]),
    "force": ([RuleSetting("rls", 1.0), RuleSetting("rls", 10.0)], [({}, {})]),
    "forgetting": (DELTA + BAYES + [RuleSetting("bayes", r, 200.0) for r in (1e-2, 1e-1)],
                   [({}, {})]),
    "gain": (DELTA + BAYES, [({"network_gain": g}, {"gain": g}) for g in (1.2, 1.5)]),
    "length": (DELTA + BAYES, [({"target_repeats": r}, {"repeats": r}) for r in (1, 2)]),
    "protocols": (DELTA + BAYES, [({"protocol_kind": k}, {"kind": k, "noise_std": 0.0})
                                  for k in ("trials", "continuous")]),
    "ablation": (DELTA + BAYES, [
        ({"protocol_noise_std": n, "network_readout_gain_log10_sd": h},
         {"noise_std": n, "gain_log10_sd": h})
        for n in (0.0, 0.05) for h in (0.0, 0.5)]),
}


@pytest.fixture(autouse=True)
def isolated_rcparams():
    """Each test starts from, and leaves, the same rcParams even if the code under test leaks."""
    with mpl.rc_context():
        yield


def _run(settings, gain=1.5, gain_log10_sd=0.5, noise_std=0.05, kind="trials", repeats=1,
         target="gp"):
    """One network (30 units) x two targets, as ``pipeline.run_network`` runs it."""
    reservoir = make_reservoir(30, 0.2, gain, np.random.default_rng(0), gain_log10_sd)
    if target == "four_sines":
        targets = four_sines(1000.0, PERIOD / 1000.0)[None, :]
    else:
        targets = sample_periodic_gp(2, PERIOD * repeats, 0.5 / repeats, np.random.default_rng(1))
    protocol = Protocol(kind=kind, noise_std=noise_std, pulse_ms=10, n_test_trials=2,
                        test_periods=2, checkpoints=CHECKPOINTS)
    return simulate_readout_learning(reservoir, targets, settings, protocol,
                                     np.random.default_rng(2), np.random.default_rng(3),
                                     trace_targets=(0,))


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    """``"{study}_{table}"`` -> table, as the statistics step writes them."""
    out = {}
    for study, (settings, variants) in STUDIES.items():
        per_table = {"curves": [], "traces": [], "rates": []}
        for index, (swept, options) in enumerate(variants):
            result = _run(settings, **options)
            ident = {"study": study, "variant": f"v{index}", **swept, "network": 0, "seed": 0,
                     "code": ""}
            for name in per_table:
                table = getattr(result, name)
                if not table.empty:
                    table = pd.concat([pd.DataFrame(ident, index=table.index), table], axis=1)
                per_table[name].append(table)
        for name, parts in per_table.items():
            out[f"{study}_{name}"] = pd.concat(parts, ignore_index=True)
        swept_columns = sorted({column for swept, _ in variants for column in swept})
        for name, table in study_statistics(out[f"{study}_curves"], swept_columns).items():
            out[f"{study}_{name}"] = table
    return out


def figure_tables(tables, name):
    """The tables the workflow passes to figure ``name`` (``_FIGURE_TABLES``)."""
    return {f"{study}_{table}": tables[f"{study}_{table}"]
            for study, names in _FIGURE_TABLES[name].items() for table in names}


def legend_texts(figure):
    return {text.get_text() for ax in figure.axes if ax.get_legend() is not None
            for text in ax.get_legend().get_texts()}


# figure -> (number of axes, a legend entry or title fragment that shows what it draws)
EXPECTED = {
    "example": (4, "target"),
    "learning_curves": (1, "FORCE / RLS, alpha 1 (subset)"),
    "mse_vs_rate": (2, "Bayesian"),
    "mse_vs_gain": (1, "classical (delta)"),
    "alpha_distribution": (2, "0.01"),
    "target_length": (1, "Bayesian"),
    "ablation": (2, "noise 0.05, het. 0.5"),
    "protocols": (2, "classical (delta), best rate"),
    "forgetting": (1, "Bayesian, forgetting tau 0.2 s"),
}


def test_every_declared_figure_is_tested():
    assert set(EXPECTED) == set(_FIGURE_TABLES)


@pytest.mark.parametrize("name", sorted(_FIGURE_TABLES))
def test_figure_is_built_in_its_style_and_leaves_rcparams_alone(tables, name):
    before = rc_snapshot()
    figure = getattr(plots, name)(figure_tables(tables, name))
    assert rc_snapshot() == before
    assert isinstance(figure, Figure)
    n_axes, shown = EXPECTED[name]
    assert len(figure.axes) == n_axes
    texts = legend_texts(figure) | {ax.get_title() for ax in figure.axes}
    assert any(shown in text for text in texts), sorted(texts)
    assert_figure_style(figure)
    assert rc_snapshot() == before


def test_example_without_the_sines_study_has_one_row(tables):
    shown = {key: table for key, table in figure_tables(tables, "example").items()
             if key.startswith("main_")}
    figure = plots.example(shown)
    assert len(figure.axes) == 2
    lines = figure.axes[1].get_lines()
    assert [line.get_label() for line in lines][0] == "target"
    assert {"classical (delta)", "Bayesian"} <= {line.get_label().rsplit(" (", 1)[0]
                                                 for line in lines[1:]}


def test_learning_curves_draw_the_best_setting_of_each_rule(tables):
    figure = plots.learning_curves(figure_tables(tables, "learning_curves"))
    ax = figure.axes[0]
    assert ax.get_xscale() == "symlog" and ax.get_yscale() == "log"
    best = tables["main_best"].dropna(subset=["rate"]).set_index("rule")["rate"]
    labels = [line.get_label() for line in ax.get_lines()]
    for rule, label in (("delta", "classical (delta)"), ("bayes", "Bayesian")):
        assert f"{label}, best rate {best[rule]:g}" in labels
    assert [line.get_xdata().tolist() for line in ax.get_lines()][0] == list(CHECKPOINTS)


def test_diverged_runs_are_counted_in_the_legend():
    from synlearn.reservoir.plots import _curve

    rows = pd.DataFrame({"trial": [0, 10], "median": [1.0, np.inf], "low": [0.9, 0.5],
                         "high": [1.1, np.inf], "diverged_fraction": [0.0, 0.75],
                         "n_runs": [4, 4]})
    ax = Figure().subplots()
    _curve(ax, rows, "red", "Bayesian")
    assert ax.get_lines()[0].get_label() == "Bayesian, 3 of 4 runs diverged"
    _curve(ax, rows.assign(diverged_fraction=0.0), "blue", "delta")
    assert ax.get_lines()[1].get_label() == "delta"
