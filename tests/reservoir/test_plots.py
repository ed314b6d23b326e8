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
    "paper": (DELTA + BAYES, [({}, {"kind": "continuous", "noise_std": 0.0, "gain_log10_sd": 0.0})]),
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
    "paper": (2, "published, Bayesian"),
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


def study_tables(tables, study, names):
    return {f"{study}_{name}": tables[f"{study}_{name}"] for name in names}


@pytest.mark.parametrize("study", sorted(STUDIES))
def test_every_study_has_its_error_cdf_and_success_figures(tables, study):
    from synlearn.reservoir import figures

    declared = {f.name: f for f in figures({"studies": {name: {} for name in STUDIES}})}
    n_variants = tables[f"{study}_best"]["variant"].nunique()
    # three checkpoints where the study has them (this one has two after the start)
    n_cdf = len(plots._cdf_trials(tables[f"{study}_curves"]["trial"].unique()))
    assert n_cdf == min(3, len([t for t in CHECKPOINTS if t > 0]))
    for suffix, columns in (("error_cdf", n_cdf), ("success", 2)):
        figure_spec = declared[f"reservoir_{study}_{suffix}"]
        shown = {key: tables[key] for key in figure_spec.tables}
        before = rc_snapshot()
        figure = getattr(plots, figure_spec.function)(shown)
        assert rc_snapshot() == before
        # one row of panels per variant: the checkpoints, or the 2 success thresholds
        assert len(figure.axes) == n_variants * columns, (study, suffix)
        assert_figure_style(figure)
        rules = set(tables[f"{study}_best"].dropna(subset=["rate"])["rule"])
        texts = " ".join(legend_texts(figure))
        for rule in rules:
            assert plots.RULE_LABELS[rule] in texts, (study, suffix, texts)
        facts = plots.facts(figure_spec.function, shown)
        assert facts["study"] == study
        assert {row["rule"] for row in facts["rows"]} == rules


def test_error_cdf_counts_runs_and_stops_below_one_for_diverged_runs(tables):
    shown = study_tables(tables, "main", ("curves", "best", "distribution"))
    curves = shown["main_curves"].copy()
    best = shown["main_best"].set_index("rule")
    rate = best.loc["delta", "rate"]
    chosen = (curves["rule"] == "delta") & (curves["rate"] == rate) & (curves["trial"] == 5)
    first = curves.index[chosen][0]
    curves.loc[first, ["test_mse", "diverged"]] = [np.nan, True]
    shown["main_curves"] = curves
    figure = plots.error_cdf(shown)
    last_panel = figure.axes[-1]
    label = f"classical (delta) {rate:g} (2 runs, 1 diverged)"
    lines = [line for line in last_panel.get_lines() if line.get_label() == label]
    assert lines, legend_texts(figure)
    assert lines[0].get_ydata().max() == pytest.approx(0.5)


def test_success_facts_name_the_first_trial_past_one_half():
    rows = []
    for trial, fraction in ((0, 0.0), (10, 0.25), (20, 0.75), (30, 1.0)):
        for statistic, value in (("below_0.01", fraction), ("below_0.001", 0.0), ("q50", 0.1)):
            rows.append({"variant": "v0", "rule": "bayes", "rate": 0.01, "forgetting_tau": np.nan,
                         "trial": trial, "statistic": statistic, "value": value, "low": value,
                         "high": value, "n_runs": 4, "diverged_fraction": 0.0})
    best = pd.DataFrame([{"variant": "v0", "rule": "bayes", "rate": 0.01, "forgetting_tau": np.nan,
                          "trial": 30, "median": 0.1, "excluded_fraction": 0.0}])
    facts = plots.facts("success_fraction", {"paper_distribution": pd.DataFrame(rows),
                                             "paper_best": best})
    assert facts["study"] == "paper" and facts["last"] == 30
    (row,) = facts["rows"]
    assert row["half_crossed_at"] == {"below_0.01": 20, "below_0.001": None}
    assert row["below_0.01"]["value"] == 1.0
