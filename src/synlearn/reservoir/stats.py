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
# Quantiles of the per-run test MSE and the thresholds below which a run counts as a
# success: the authors' runs either lock onto their target (test MSE < 1e-3) or fail
# (> 0.1), and the published median sits at the boundary of that split.
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
SUCCESS_THRESHOLDS = (1e-2, 1e-3)


def quantile_name(q: float) -> str:
    """``0.25 -> "q25"``: the column or statistic name of a quantile."""
    return f"q{round(100 * q):d}"


def success_name(threshold: float) -> str:
    """``0.01 -> "below_0.01"``: the name of the fraction of runs below a threshold."""
    return f"below_{threshold:g}"


def _sorted_quantiles(ordered: np.ndarray, qs) -> np.ndarray:
    """Linear-interpolation quantiles along the last axis of an ascending array that
    may hold inf (diverged runs); an interpolation with an infinite end is inf, never
    the NaN of ``inf - inf`` or ``0 * inf`` that ``numpy.quantile`` gives."""
    n = ordered.shape[-1]
    out = []
    for q in qs:
        position = (n - 1) * q
        lower = int(np.floor(position))
        upper = min(lower + 1, n - 1)
        weight = position - lower
        a, b = ordered[..., lower], ordered[..., upper]
        with np.errstate(invalid="ignore"):
            mixed = a + (b - a) * weight
        out.append(np.where((weight == 0) | (a == b), a, mixed))
    return np.stack(out, axis=-1)


def run_distribution(scores: np.ndarray, rng: np.random.Generator,
                     thresholds=SUCCESS_THRESHOLDS, quantiles=QUANTILES,
                     n_boot: int = 2000, level: float = 0.95) -> pd.DataFrame:
    """Quantiles and success fractions of per-run test MSEs, with bootstrap intervals.

    Parameters
    ----------
    scores : numpy.ndarray
        One test MSE per run; a diverged run is ``inf`` (it counts as a failure and
        above every quantile it reaches), NaN is not allowed.
    rng : numpy.random.Generator
        The resamples; every statistic is computed on the same resamples.
    thresholds : sequence of float
        A run succeeds at a threshold when its test MSE is below it.
    quantiles : sequence of float
    n_boot : int
    level : float
        Coverage of the percentile-bootstrap intervals.

    Returns
    -------
    pandas.DataFrame
        One row per statistic (``q10`` ... ``q90``, ``below_0.01`` ...): ``statistic``,
        ``value``, ``low``, ``high``.
    """
    scores = np.asarray(scores, dtype=float)
    names = [quantile_name(q) for q in quantiles] + [success_name(t) for t in thresholds]
    if scores.size == 0:
        return pd.DataFrame({"statistic": names, "value": np.nan, "low": np.nan, "high": np.nan})
    if np.isnan(scores).any():
        raise ValueError("run_distribution got NaN; encode diverged runs as inf")
    resampled = np.sort(scores[rng.integers(0, scores.size, (n_boot, scores.size))], axis=1)
    limits = np.asarray(thresholds, dtype=float)
    value = np.concatenate([_sorted_quantiles(np.sort(scores), quantiles),
                            (scores[:, None] < limits).mean(axis=0)])
    boot = np.concatenate([_sorted_quantiles(resampled, quantiles),
                           (resampled[:, :, None] < limits).mean(axis=1)], axis=1)
    tail = (1.0 - level) / 2.0
    # No interpolation between resamples: with diverged runs it would compute inf - inf.
    low, high = np.quantile(boot, [tail, 1.0 - tail], axis=0, method="inverted_cdf")
    return pd.DataFrame({"statistic": names, "value": value, "low": low, "high": high})


def distribution(curves: pd.DataFrame, by: list[str] | None = None,
                 thresholds=SUCCESS_THRESHOLDS, seed: int = 0) -> pd.DataFrame:
    """The per-run test-MSE distribution of every setting at every checkpoint.

    Parameters
    ----------
    curves : pandas.DataFrame
        One row per run x checkpoint (see ``summarise``).
    by : list of str
        Extra grouping columns.
    thresholds : sequence of float
        Success thresholds (``SUCCESS_THRESHOLDS`` by default).
    seed : int
        Seed of the bootstrap; each group draws its own stream, addressed by its key.

    Returns
    -------
    pandas.DataFrame
        Long: ``by + SETTING + [trial, statistic, value, low, high, n_runs,
        diverged_fraction]``, one row per statistic of ``run_distribution``.
    """
    by = list(by or [])
    frames = []
    for key, group in _scored(curves).groupby(by + SETTING + ["trial"], sort=True):
        stats = run_distribution(group["score"].to_numpy(), group_rng(seed, ("distribution", *key)),
                                 thresholds)
        for column, value in zip(by + SETTING + ["trial"], key):
            stats[column] = value
        stats["n_runs"] = len(group)
        stats["diverged_fraction"] = float(group["diverged"].mean())
        frames.append(stats)
    columns = by + SETTING + ["trial", "statistic", "value", "low", "high", "n_runs",
                              "diverged_fraction"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


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
    by: list[str] | None = None, thresholds=SUCCESS_THRESHOLDS,
) -> pd.DataFrame:
    """Baseline/challenger ratio of median test MSE, win fraction and run distributions.

    Each rule at its best setting (``best``); at every checkpoint the ratio of the two
    medians over pairs, the fraction of (network, target) pairs in which the
    challenger's test MSE is lower (diverged runs lose), and for each rule the other
    ``QUANTILES`` of its per-run test MSE and the fraction of its runs below each of
    ``thresholds`` (``delta_q25``, ``bayes_below_0.01``, ...).
    """
    by = list(by or [])
    others = [q for q in QUANTILES if q != 0.5]  # the median has its own column
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
        spread = []
        for rule in (baseline, challenger):
            values = np.sort(pair[rule].to_numpy())
            spread += list(_sorted_quantiles(values, others)) if values.size else [np.nan] * len(others)
            spread += [float((values < t).mean()) if values.size else np.nan for t in thresholds]
        rows.append((*key, med_base, med_chal, ratio,
                     float((pair[challenger] < pair[baseline]).mean()), len(pair), *spread))
    spread_columns = [f"{rule}_{name}" for rule in (baseline, challenger)
                      for name in [quantile_name(q) for q in others] + [success_name(t) for t in thresholds]]
    return pd.DataFrame(rows, columns=by + ["trial", f"{baseline}_median", f"{challenger}_median",
                                            "ratio", f"{challenger}_win_fraction", "n_pairs",
                                            *spread_columns])


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


def study_statistics(curves: pd.DataFrame, swept: list[str],
                     thresholds=SUCCESS_THRESHOLDS) -> dict[str, pd.DataFrame]:
    """All aggregate tables of one study, grouped by variant and the swept parameters.

    ``summary`` (medians with intervals per setting and checkpoint), ``distribution``
    (quantiles and success fractions of the per-run test MSE, with intervals),
    ``best`` (best rate per rule), ``comparison`` (classical/Bayesian ratio, win
    fraction and both rules' run distributions at the best settings, plus which
    Bayesian rates beat the classical rule tuned at each checkpoint) and
    ``sensitivity`` (spread of the median over the rate grid).
    """
    by = ["variant", *swept]
    thresholds = tuple(float(t) for t in thresholds)
    summary = summarise(curves, by=by)
    best = best_settings(summary, by=by)
    comparison = compare_rules(curves, best, by=by, thresholds=thresholds).merge(
        rates_beating_best(summary, by=by), on=by + ["trial"], how="left")
    sensitivity = rate_sensitivity(summary, by=by)
    tables = {"summary": summary, "distribution": distribution(curves, by, thresholds),
              "best": best, "comparison": comparison, "sensitivity": sensitivity}
    # grouping needs a value for "no forgetting" (0.0); the tables write it as the per-run
    # tables do, empty (NaN), so it reads the same in every file
    return {name: _no_forgetting_as_nan(table) for name, table in tables.items()}


def _no_forgetting_as_nan(table: pd.DataFrame) -> pd.DataFrame:
    if "forgetting_tau" not in table:
        return table
    return table.assign(forgetting_tau=table["forgetting_tau"].replace(0.0, np.nan))


# --- this run against the published values -------------------------------------------

PUBLISHED_COLUMNS = ["study", "quantity", "ours_trials", "published_trials", "ours", "published",
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


# the studies set beside the published values: our default protocol and the paper's
PUBLISHED_STUDIES = ("main", "paper")


def published_comparison(tables: dict[str, pd.DataFrame], published: dict | None = None) -> pd.DataFrame:
    """This run's headline numbers beside the published ones (Aitchison et al. 2021, Fig. 5).

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``<study>_comparison`` and ``<study>_best`` of each study of
        ``PUBLISHED_STUDIES`` that ran (unprefixed ``comparison`` and ``best``: ``main``).
    published : dict, optional
        The family's published values; default ``published_values()``.

    Returns
    -------
    pandas.DataFrame
        Columns ``PUBLISHED_COLUMNS``, one block of rows per study (``study_comparison``).
    """
    if "comparison" in tables:
        tables = {f"main_{name}": table for name, table in tables.items()}
    frames = [study_comparison({"comparison": tables[f"{study}_comparison"],
                                "best": tables[f"{study}_best"]}, published).assign(study=study)
              for study in PUBLISHED_STUDIES if f"{study}_comparison" in tables]
    if not frames:
        raise ValueError(f"published_comparison needs the tables of one of {PUBLISHED_STUDIES}, "
                         f"got {sorted(tables)}")
    return pd.concat(frames, ignore_index=True)[PUBLISHED_COLUMNS]


def study_comparison(tables: dict[str, pd.DataFrame], published: dict | None = None) -> pd.DataFrame:
    """One study's headline numbers beside the published ones.

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
        ``comparison`` and ``best`` of the study (one variant).
    published : dict, optional
        The family's published values; default ``published_values()``.

    Returns
    -------
    pandas.DataFrame
        Columns ``PUBLISHED_COLUMNS`` but ``study``: one row per quantity and trial
        count, with ``ratio_ours_over_published`` = ours / published.
    """
    published = published_values() if published is None else published
    readout = published["readout"]
    comparison, best = tables["comparison"], tables["best"]
    if "variant" in comparison and comparison["variant"].nunique() > 1:
        raise ValueError("published_comparison expects an unswept study (one variant)")
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
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS[1:])
