import numpy as np
import pandas as pd
import pytest

from synlearn.reservoir import stats


def make_curves(scores, trial=100):
    """scores: {(rule, rate): list of per-pair MSE, np.inf = diverged}."""
    rows = []
    for (rule, rate), values in scores.items():
        for pair, value in enumerate(values):
            rows.append({"network": pair // 2, "target": pair % 2, "rule": rule, "rate": rate,
                         "forgetting_tau": np.nan, "trial": trial,
                         "test_mse": np.nan if np.isinf(value) else value,
                         "train_mse": np.nan if np.isinf(value) else value,
                         "diverged": bool(np.isinf(value))})
    return pd.DataFrame(rows)


def test_bootstrap_interval_brackets_the_median():
    values = np.random.default_rng(0).lognormal(0, 1, 200)
    median, low, high = stats.bootstrap_median_ci(values, np.random.default_rng(1))
    assert median == np.median(values)
    assert low < median < high
    assert high - low < 0.5
    with pytest.raises(ValueError, match="NaN"):
        stats.bootstrap_median_ci(np.array([1.0, np.nan]), np.random.default_rng(0))


def test_best_setting_excludes_mostly_diverged_rates_and_reports_it():
    inf = np.inf
    curves = make_curves({
        ("delta", 1e-4): [0.5, 0.6, 0.4, 0.5],
        ("delta", 1e-3): [0.1, 0.2, inf, inf],   # 50% diverged: excluded despite lowest values
        ("delta", 1e-5): [0.9, 0.8, 0.9, 0.9],
        ("bayes", 1e-2): [0.2, 0.3, 0.2, inf],   # 25% diverged: eligible, median counts inf
    })
    summary = stats.summarise(curves)
    best = stats.best_settings(summary).set_index("rule")
    assert best.loc["delta", "rate"] == 1e-4
    assert best.loc["delta", "excluded_fraction"] == pytest.approx(1 / 3)
    assert best.loc["bayes", "rate"] == 1e-2
    assert best.loc["bayes", "median"] == pytest.approx(0.25)
    row = summary[(summary["rule"] == "delta") & (summary["rate"] == 1e-3)].iloc[0]
    assert row["diverged_fraction"] == 0.5


def test_comparison_is_paired_and_counts_wins():
    curves = make_curves({("delta", 1e-4): [0.4, 0.4, 0.4, 0.1], ("bayes", 1e-2): [0.2, 0.2, 0.2, 0.2]})
    best = stats.best_settings(stats.summarise(curves))
    comparison = stats.compare_rules(curves, best).iloc[0]
    assert comparison["bayes_win_fraction"] == 0.75
    assert comparison["ratio"] == pytest.approx(0.4 / 0.2)
    assert comparison["n_pairs"] == 4


def test_rate_sensitivity_over_a_window():
    curves = make_curves({("bayes", 1e-4): [1.0] * 4, ("bayes", 1e-3): [0.2] * 4,
                          ("bayes", 1e-2): [0.1] * 4, ("bayes", 3e-2): [0.15] * 4})
    sensitivity = stats.rate_sensitivity(stats.summarise(curves), fold=30).iloc[0]
    assert sensitivity["spread"] == pytest.approx(10.0)
    assert sensitivity["window_spread"] == pytest.approx(2.0)  # 1e-3 .. 3e-2
    assert sensitivity["window_low"] == 1e-3


def test_default_window_is_one_and_a_half_decades_of_a_half_decade_grid():
    rates = [1e-4, 3.16e-4, 1e-3, 3.16e-3, 1e-2]
    curves = make_curves({("bayes", r): [m] * 4 for r, m in zip(rates, [0.9, 0.3, 0.2, 0.25, 0.5])})
    sensitivity = stats.rate_sensitivity(stats.summarise(curves)).iloc[0]
    assert sensitivity["window_low"] == 3.16e-4  # 3.16e-4 .. 1e-2 is 31.6-fold
    assert sensitivity["window_spread"] == pytest.approx(0.5 / 0.2)


def test_rates_beating_the_tuned_baseline():
    inf = np.inf
    curves = make_curves({
        ("delta", 1e-4): [0.30] * 4, ("delta", 1e-3): [0.20] * 4,
        ("delta", 1e-2): [0.01, 0.01, inf, inf],                # half diverged: not eligible
        ("bayes", 1e-5): [0.50] * 4, ("bayes", 1e-4): [0.15] * 4, ("bayes", 1e-3): [0.10] * 4,
        ("bayes", 1e-2): [0.25] * 4, ("bayes", 1e-1): [0.19] * 4,
    })
    row = stats.rates_beating_best(stats.summarise(curves)).iloc[0]
    assert row["delta_best_rate"] == 1e-3 and row["delta_best_median"] == pytest.approx(0.20)
    assert row["n_beating"] == 3 and row["n_rates"] == 5
    # 1e-1 beats it too, but the widest consecutive run is 1e-4 .. 1e-3
    assert (row["beating_low"], row["beating_high"]) == (1e-4, 1e-3)
    assert row["beating_fold"] == pytest.approx(10.0)
    none = stats.rates_beating_best(stats.summarise(make_curves(
        {("delta", 1e-3): [0.1] * 4, ("bayes", 1e-3): [0.2] * 4}))).iloc[0]
    assert none["n_beating"] == 0 and np.isnan(none["beating_fold"])


def test_adding_a_setting_leaves_every_other_interval_unchanged():
    rng = np.random.default_rng(7)
    scores = {("delta", 1e-4): list(rng.lognormal(0, 1, 40)),
              ("bayes", 1e-2): list(rng.lognormal(0, 1, 40))}
    before = stats.summarise(make_curves(scores)).set_index(["rule", "rate"])
    scores[("delta", 1e-5)] = list(rng.lognormal(0, 1, 40))  # sorts before delta 1e-4
    after = stats.summarise(make_curves(scores)).set_index(["rule", "rate"])
    pd.testing.assert_frame_equal(after.loc[before.index], before)
    assert stats.summarise(make_curves(scores), seed=1)["low"].tolist() != after["low"].tolist()


def test_no_forgetting_is_written_the_same_way_in_every_table():
    curves = make_curves({("delta", 1e-4): [0.4] * 4, ("bayes", 1e-2): [0.2] * 4})
    curves["variant"] = "v0"
    for name, table in stats.study_statistics(curves, []).items():
        if "forgetting_tau" in table:
            assert table["forgetting_tau"].isna().all(), name
    assert curves["forgetting_tau"].isna().all()
