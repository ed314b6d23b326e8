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


# --- per-run distributions ------------------------------------------------------------

def test_quantiles_match_numpy_on_finite_runs_and_stay_inf_with_diverged_ones():
    values = np.random.default_rng(4).lognormal(-3, 1.5, 37)
    table = stats.run_distribution(values, np.random.default_rng(0), thresholds=(1e-2,))
    by_name = table.set_index("statistic")
    expected = np.quantile(values, stats.QUANTILES)
    assert by_name.loc[["q10", "q25", "q50", "q75", "q90"], "value"].to_numpy() == pytest.approx(expected)
    assert by_name.loc["below_0.01", "value"] == pytest.approx((values < 1e-2).mean())
    assert (by_name["low"] <= by_name["value"]).all() and (by_name["value"] <= by_name["high"]).all()
    # 2 of 4 runs diverged: quantiles interpolating toward a diverged run are inf
    # (numpy.quantile gives NaN there), and no diverged run is a success
    diverged = stats.run_distribution(np.array([0.002, np.inf, 0.001, np.inf]),
                                      np.random.default_rng(0), thresholds=(1e-2,))
    row = diverged.set_index("statistic")["value"]
    assert row["q10"] == pytest.approx(0.0013) and row["q25"] == pytest.approx(0.00175)
    assert np.isinf(row["q50"]) and np.isinf(row["q75"]) and np.isinf(row["q90"])
    assert row["below_0.01"] == 0.5
    assert not diverged[["value", "low", "high"]].isna().any().any()
    with pytest.raises(ValueError, match="NaN"):
        stats.run_distribution(np.array([0.1, np.nan]), np.random.default_rng(0))


def test_success_interval_covers_the_true_fraction():
    # 40% of runs succeed; the 95% interval over 200 runs covers 0.4 in most data sets
    rng = np.random.default_rng(5)
    covered = 0
    for repeat in range(40):
        values = np.where(rng.random(200) < 0.4, 1e-4, 1.0)
        row = stats.run_distribution(values, np.random.default_rng(repeat), thresholds=(1e-2,),
                                     n_boot=500).set_index("statistic").loc["below_0.01"]
        covered += row["low"] <= 0.4 <= row["high"]
    assert covered >= 34


def test_distribution_table_has_every_statistic_per_setting_and_its_own_stream():
    inf = np.inf
    curves = make_curves({("delta", 1e-4): [0.5, 0.005, 0.0005, inf],
                          ("bayes", 1e-2): [0.2, 0.002, 0.0002, 0.0001]})
    table = stats.distribution(curves, thresholds=(1e-2, 1e-3))
    assert set(table["statistic"]) == {"q10", "q25", "q50", "q75", "q90", "below_0.01", "below_0.001"}
    delta = table[table["rule"] == "delta"].set_index("statistic")
    assert delta.loc["below_0.01", "value"] == 0.5 and delta.loc["below_0.001", "value"] == 0.25
    assert delta.loc["q50", "value"] == pytest.approx(np.median([0.5, 0.005, 0.0005, inf]))
    assert (delta["n_runs"] == 4).all() and (delta["diverged_fraction"] == 0.25).all()
    # adding a setting changes no other setting's interval
    more = make_curves({("delta", 1e-4): [0.5, 0.005, 0.0005, inf], ("delta", 1e-3): [1.0] * 4,
                        ("bayes", 1e-2): [0.2, 0.002, 0.0002, 0.0001]})
    again = stats.distribution(more, thresholds=(1e-2, 1e-3))
    again = again[(again["rule"] == "delta") & (again["rate"] == 1e-4)].set_index("statistic")
    assert again[["low", "high"]].equals(delta[["low", "high"]])


def test_comparison_carries_both_rules_run_distributions():
    curves = make_curves({("delta", 1e-4): [0.4, 0.4, 0.004, 0.1], ("bayes", 1e-2): [0.2, 0.0002, 0.002, 0.2]})
    best = stats.best_settings(stats.summarise(curves))
    row = stats.compare_rules(curves, best, thresholds=(1e-2, 1e-3)).iloc[0]
    assert row["delta_below_0.01"] == 0.25 and row["delta_below_0.001"] == 0.0
    assert row["bayes_below_0.01"] == 0.5 and row["bayes_below_0.001"] == 0.25
    assert row["bayes_q25"] == pytest.approx(np.quantile([0.2, 0.0002, 0.002, 0.2], 0.25))
    assert row["delta_q90"] == pytest.approx(np.quantile([0.4, 0.4, 0.004, 0.1], 0.9))
    assert "delta_q50" not in row  # the median has its own column
