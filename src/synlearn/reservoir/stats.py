"""Statistics over network x target pairs for the readout-learning tables.

Conventions: a diverged run counts as an infinitely bad run (its MSE is +inf), so a
median is honest about failures; a setting where at least half the runs diverged is
excluded from the choice of the best setting, and the excluded fraction is reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.stats import DIVERGENCE_EXCLUSION, bootstrap_median_ci, group_rng

SETTING = ["rule", "rate", "forgetting_tau"]
PAIR = ["network", "target"]


def _scored(curves: pd.DataFrame) -> pd.DataFrame:
    scored = curves.copy()
    scored["forgetting_tau"] = scored["forgetting_tau"].fillna(0.0)
    scored["score"] = np.where(scored["diverged"], np.inf, scored["test_mse"])
    return scored


def summarise(curves: pd.DataFrame, by: list[str] | None = None, seed: int = 0) -> pd.DataFrame:
    """Median test MSE with a bootstrap 95% interval over pairs, per setting and trial.

    Parameters
    ----------
    curves : pandas.DataFrame
        One row per run x checkpoint with columns network, target, rule, rate,
        forgetting_tau, trial, test_mse, train_mse, diverged, and the ``by`` columns.
    by : list of str
        Extra grouping columns (for example ``["variant", "gain"]``).
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        Columns ``by + SETTING + [trial, median, low, high, train_median,
        diverged_fraction, n_runs]``.
    """
    by = list(by or [])
    rows = []
    for key, group in _scored(curves).groupby(by + SETTING + ["trial"], sort=True):
        # each group draws its own stream, addressed by its key: adding a setting or a
        # checkpoint never changes another group's interval
        median, low, high = bootstrap_median_ci(group["score"].to_numpy(), group_rng(seed, key))
        train = np.where(group["diverged"], np.inf, group["train_mse"])
        rows.append(
            (*key, median, low, high, float(np.median(train)) if len(train) else np.nan,
             float(group["diverged"].mean()), len(group))
        )
    columns = by + SETTING + ["trial", "median", "low", "high", "train_median",
                              "diverged_fraction", "n_runs"]
    return pd.DataFrame(rows, columns=columns)


def _best_eligible(settings: pd.DataFrame) -> tuple[pd.Series | None, float]:
    """The summary row with the lowest median among settings where fewer than half of
    the runs diverged (None if there is none), and the fraction of settings excluded."""
    eligible = settings[settings["diverged_fraction"] < DIVERGENCE_EXCLUSION]
    excluded = 1.0 - len(eligible) / max(len(settings), 1)
    if eligible.empty:
        return None, excluded
    return eligible.loc[eligible["median"].idxmin()], excluded


def best_settings(summary: pd.DataFrame, by: list[str] | None = None, trial: int | None = None) -> pd.DataFrame:
    """Best rate of each rule: the lowest median test MSE at ``trial`` (default: last).

    Settings where at least half of the runs diverged by that trial are excluded; the
    returned ``excluded_fraction`` is the fraction of the rule's grid excluded so.
    """
    by = list(by or [])
    rows = []
    for key, group in summary.groupby(by + ["rule"], sort=True):
        at = group["trial"].max() if trial is None else trial
        best, excluded = _best_eligible(group[group["trial"] == at])
        key = key if isinstance(key, tuple) else (key,)
        if best is None:
            rows.append((*key, np.nan, np.nan, at, np.nan, excluded))
            continue
        rows.append((*key, best["rate"], best["forgetting_tau"], at, best["median"], excluded))
    return pd.DataFrame(rows, columns=by + ["rule", "rate", "forgetting_tau", "trial", "median",
                                            "excluded_fraction"])


def compare_rules(
    curves: pd.DataFrame, best: pd.DataFrame, challenger: str = "bayes", baseline: str = "delta",
    by: list[str] | None = None,
) -> pd.DataFrame:
    """Baseline/challenger ratio of median test MSE and the challenger's win fraction.

    Each rule at its best setting (``best``); at every checkpoint the ratio of the two
    medians over pairs, and the fraction of (network, target) pairs in which the
    challenger's test MSE is lower (diverged runs lose).
    """
    by = list(by or [])
    scored = _scored(curves)
    chosen = best.assign(forgetting_tau=best["forgetting_tau"].fillna(0.0))
    picked = scored.merge(chosen[by + ["rule", "rate", "forgetting_tau"]], on=by + SETTING)
    rows = []
    for key, group in picked.groupby(by + ["trial"], sort=True):
        wide = group.pivot_table(index=PAIR, columns="rule", values="score", aggfunc="first")
        if challenger not in wide or baseline not in wide:
            continue
        pair = wide[[baseline, challenger]].dropna()
        med_base, med_chal = np.median(pair[baseline]), np.median(pair[challenger])
        ratio = med_base / med_chal if med_chal > 0 else np.nan
        key = key if isinstance(key, tuple) else (key,)
        rows.append((*key, med_base, med_chal, ratio,
                     float((pair[challenger] < pair[baseline]).mean()), len(pair)))
    return pd.DataFrame(rows, columns=by + ["trial", f"{baseline}_median", f"{challenger}_median",
                                            "ratio", f"{challenger}_win_fraction", "n_pairs"])


def rate_sensitivity(summary: pd.DataFrame, by: list[str] | None = None,
                     fold: float = 10**1.5) -> pd.DataFrame:
    """How much each rule's median MSE depends on its rate, at each checkpoint.

    ``spread``: max/min of the median over the rule's whole grid. ``window_spread``: the
    same within the best ``fold``-wide window of rates, the number behind "robust over
    a roughly 30-fold range of initial learning rates". The default is 1.5 decades
    (31.6-fold), which half-decade grids such as 3.16e-4 .. 1e-2 span exactly.
    ``window_low`` is the lowest rate of that window.
    """
    by = list(by or [])
    rows = []
    plain = summary[summary["forgetting_tau"] == 0.0]
    for key, group in plain.groupby(by + ["rule", "trial"], sort=True):
        medians = group.set_index("rate")["median"].sort_index()
        spread = medians.max() / medians.min() if medians.min() > 0 else np.nan
        best_window, best_low = np.nan, np.nan
        for low in medians.index:
            window = medians[(medians.index >= low) & (medians.index <= low * fold * 1.001)]
            if window.index.max() / low < fold * 0.99 or window.min() <= 0:
                continue
            ratio = window.max() / window.min()
            if not ratio >= best_window:  # also true while best_window is NaN
                best_window, best_low = ratio, low
        key = key if isinstance(key, tuple) else (key,)
        rows.append((*key, spread, best_window, best_low))
    return pd.DataFrame(rows, columns=by + ["rule", "trial", "spread", "window_spread", "window_low"])


def rates_beating_best(summary: pd.DataFrame, challenger: str = "bayes", baseline: str = "delta",
                       by: list[str] | None = None) -> pd.DataFrame:
    """Which of the challenger's rates beat the baseline tuned at each checkpoint.

    The published claim (Aitchison et al. 2021; Menendez & Latham) is that the Bayesian
    rule needs no tuning: a wide range of initial rates does as well as the best fixed
    rate. So at every checkpoint the baseline gets its best eligible rate *for that
    checkpoint* (settings with >= 50% diverged runs excluded), and the challenger's
    rates whose median is lower are counted; ``beating_low`` .. ``beating_high`` is
    the widest run of consecutive grid rates that all beat it, ``beating_fold`` its
    width (1 for a single rate, NaN when none beats it).
    """
    by = list(by or [])
    plain = summary[summary["forgetting_tau"] == 0.0]
    rows = []
    for key, group in plain.groupby(by + ["trial"], sort=True):
        best, _ = _best_eligible(group[group["rule"] == baseline])
        chal = group[group["rule"] == challenger].set_index("rate")["median"].sort_index()
        if best is None or chal.empty:
            continue
        beats = (chal < best["median"]).to_numpy()
        run_low = run_high = np.nan
        # consecutive beating rates share a label: the count of non-beating rates before them
        labels = np.cumsum(~beats)
        for label in np.unique(labels[beats]):
            run = chal.index[beats & (labels == label)]
            if np.isnan(run_low) or run[-1] / run[0] > run_high / run_low:
                run_low, run_high = run[0], run[-1]
        key = key if isinstance(key, tuple) else (key,)
        rows.append((*key, best["rate"], best["median"], int(beats.sum()), len(chal),
                     run_low, run_high, run_high / run_low))
    return pd.DataFrame(rows, columns=by + ["trial", f"{baseline}_best_rate", f"{baseline}_best_median",
                                            "n_beating", "n_rates", "beating_low", "beating_high",
                                            "beating_fold"])


def study_statistics(curves: pd.DataFrame, swept: list[str]) -> dict[str, pd.DataFrame]:
    """All aggregate tables of one study, grouped by variant and the swept parameters.

    ``summary`` (medians with intervals per setting and checkpoint), ``best`` (best rate
    per rule), ``comparison`` (classical/Bayesian ratio and win fraction at the best
    settings, plus which Bayesian rates beat the classical rule tuned at each
    checkpoint) and ``sensitivity`` (spread of the median over the rate grid).
    """
    by = ["variant", *swept]
    summary = summarise(curves, by=by)
    best = best_settings(summary, by=by)
    comparison = compare_rules(curves, best, by=by).merge(
        rates_beating_best(summary, by=by), on=by + ["trial"], how="left")
    sensitivity = rate_sensitivity(summary, by=by)
    tables = {"summary": summary, "best": best, "comparison": comparison, "sensitivity": sensitivity}
    # grouping needs a value for "no forgetting" (0.0); the tables write it as the per-run
    # tables do, empty (NaN), so it reads the same in every file
    return {name: _no_forgetting_as_nan(table) for name, table in tables.items()}


def _no_forgetting_as_nan(table: pd.DataFrame) -> pd.DataFrame:
    if "forgetting_tau" not in table:
        return table
    return table.assign(forgetting_tau=table["forgetting_tau"].replace(0.0, np.nan))


# --- this run against the published values -------------------------------------------

PUBLISHED_COLUMNS = ["quantity", "ours_trials", "published_trials", "ours", "published",
                     "ratio_ours_over_published", "statistic", "source", "note"]


def published_values() -> dict:
    """The published headline values of this family (``published.yaml``, with sources)."""
    from importlib.resources import files

    import yaml

    return yaml.safe_load((files(__package__) / "published.yaml").read_text())


def _published_trials(readout: dict) -> dict[int, dict]:
    """``after_<T>_trials`` entries of the published readout values, by T (ascending)."""
    import re

    found = {int(m.group(1)): value for key, value in readout.items()
             if (m := re.fullmatch(r"after_(\d+)_trials", key))}
    return dict(sorted(found.items()))


def published_comparison(tables: dict[str, pd.DataFrame], published: dict | None = None) -> pd.DataFrame:
    """This run's headline numbers beside the published ones (Aitchison et al. 2021, Fig. 5).

    For every trial count with a published value (500 and 1000): the best classical and
    the best Bayesian median test MSE of the ``main`` study and their ratio (the
    ``delta_median``, ``bayes_median`` and ``ratio`` of ``comparison.csv``: each rule at
    its best rate at the last checkpoint, from ``best.csv``), and the best rates where
    published. Where the run has no checkpoint at that trial count (the quick config
    stops at 100) ``ours`` is NaN and ``note`` says n/a, and the same quantities are added
    at the run's last checkpoint, against the published value of the largest published
    trial count, which ``published_trials`` states.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``comparison`` and ``best`` of the ``main`` study (one variant).
    published : dict, optional
        The family's published values; default ``published_values()``.

    Returns
    -------
    pandas.DataFrame
        Columns ``PUBLISHED_COLUMNS``: one row per quantity and trial count, with
        ``ratio_ours_over_published`` = ours / published.
    """
    published = published_values() if published is None else published
    readout = published["readout"]
    comparison, best = tables["comparison"], tables["best"]
    if "variant" in comparison and comparison["variant"].nunique() > 1:
        raise ValueError("published_comparison expects the main study unswept (one variant)")
    by_trial = comparison.set_index("trial")
    last = int(by_trial.index.max())
    pairs = int(by_trial.loc[last, "n_pairs"])
    statistic = (f"median test MSE over {pairs} network x target pairs (published: "
                 f"{readout['networks']} x {readout['targets']}), each rule at its best rate "
                 f"at the last checkpoint ({last} trials)")
    best_rate = {rule: float(rows["rate"].iloc[0]) for rule, rows in best.groupby("rule")}
    source = f"{readout['paper']}; {readout['source']}"

    def quantities(values: dict) -> list[tuple[str, str, float, float, str]]:
        rows = [
            ("best classical median test MSE", "delta_median", values["classical"].get("mse"), statistic),
            ("best Bayesian median test MSE", "bayes_median", values["bayesian"].get("mse"), statistic),
            ("classical / Bayesian MSE ratio", "ratio", values.get("ratio_classical_over_bayesian"),
             "ratio of the two medians above"),
        ]
        if "best_eta" in values["classical"]:
            rows.append(("best classical learning rate eta", "delta", values["classical"]["best_eta"],
                         "lowest median test MSE among rates with < 50% diverged runs"))
        if "best_eta0" in values["bayesian"]:
            rows.append(("best Bayesian initial rate eta0", "bayes", values["bayesian"]["best_eta0"],
                         "lowest median test MSE among rates with < 50% diverged runs"))
        return [row for row in rows if row[2] is not None]

    def ours(column: str, trial: int) -> float:
        if column in ("delta", "bayes"):  # a best rate: chosen at the last checkpoint
            return best_rate.get(column, np.nan) if trial == last else np.nan
        return float(by_trial.loc[trial, column])

    rows = []
    trials = _published_trials(readout)
    for trial, values in trials.items():
        present = trial in by_trial.index
        for quantity, column, value, stat in quantities(values):
            mine = ours(column, trial) if present else np.nan
            if not present:
                note = f"n/a: this run has no checkpoint at {trial} trials (last: {last})"
            elif np.isnan(mine):
                note = f"n/a: best rates are chosen at the last checkpoint ({last} trials) only"
            else:
                note = ""
            rows.append((quantity, trial, trial, mine, value, mine / value, stat, source, note))
    if last not in trials:
        reference, values = max(trials.items())
        for quantity, column, value, stat in quantities(values):
            mine = ours(column, last)
            rows.append((quantity, last, reference, mine, value, mine / value, stat, source,
                         f"our last checkpoint ({last} trials) against the published value "
                         f"after {reference} trials"))
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)
