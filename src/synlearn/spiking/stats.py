"""Statistics of the spiking experiments (Jimenez Rezende & Gerstner 2014).

Stairs: the runs' learning curves reduced over seeds (mean, sd, diverged count per rule,
learning-rate point and checkpoint), and the sensitivity table at the last checkpoint,
where a point at which at least ``DIVERGENCE_EXCLUSION`` of the seeds diverged is
excluded from the choice of each rule's best point (the excluded fraction is reported).

Maze, per seed and then over seeds (mean and a 95 % t interval):

- ``separation``: mean F in the control maze's visits minus that in the target maze's
  visits of the alternation phase (nats per batch); its interval per seed from the visit
  pairs (control visit k minus the target visit after it);
- ``probe_separation``: at the end of the familiarisation, the probes' mean F over the
  rooms of the control maze minus that of the target maze (paired: the common rooms
  cancel);
- ``auc``: area under the ROC curve of the novelty ``F - F_bar`` for telling the batches
  in replaced rooms (control maze) from the batches in the same rooms of the target maze,
  alternation phase (Mann-Whitney, ties counted half; the same rooms, so that a room's
  own spike count does not decide); ``auc_first_visit`` with the first control visit
  only; ``auc_all_rooms`` against every other batch of the alternation phase;
- ``variance_ratio_M`` / ``_Q``: the variance of the weight changes (the mean over batches
  of the squared RMS change) in the replaced rooms of the control maze over that in the
  same rooms of the target maze, alternation phase.

A diverged seed (its F non-finite) is counted and left out of the means.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..core.stats import DIVERGENCE_EXCLUSION

SETTING = ["rule", "point", "mu_M_factor", "mu_Q_factor", "mu_M", "mu_Q"]
NOVELTY_STATISTICS = ("separation", "probe_separation", "auc", "auc_first_visit", "auc_all_rooms",
                      "variance_ratio_M", "variance_ratio_Q")


def _t(n: int) -> float:
    from scipy.stats import t

    return float(t.ppf(0.975, n - 1)) if n > 1 else math.nan


def mean_interval(values) -> tuple[float, float, float, int]:
    """Mean and 95 % t interval of the finite ``values``, and their count."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan, 1
    half = _t(x.size) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return mean, mean - half, mean + half, int(x.size)


def auc(scores, labels) -> float:
    """Area under the ROC curve of ``scores`` for ``labels`` (True positive), ties half.

    NaN scores are dropped; NaN if either class is empty.
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    keep = np.isfinite(s)
    s, y = s[keep], y[keep]
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = pd.Series(s).rank(method="average").to_numpy()  # ties share their mean rank
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


# ------------------------------------------------------------------------ stairs


def stairs_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over seeds of the held-out log-likelihood, per setting and checkpoint.

    Returns
    -------
    DataFrame
        ``rule``, ``point``, ``mu_M_factor``, ``mu_Q_factor``, ``mu_M``, ``mu_Q``,
        ``batch``, ``n_seeds``, ``n_diverged``, ``ll_mean``, ``ll_sd``, ``ll_se_mean`` (the mean importance-sampling standard
        error), ``ess_mean``; diverged seeds left out of the means.
    """
    grouped = curves.groupby(SETTING + ["batch"], sort=False)
    summary = grouped.agg(n_seeds=("seed", "nunique"), n_diverged=("diverged", "sum"),
                          ll_mean=("log_likelihood", "mean"), ll_sd=("log_likelihood", "std"),
                          ll_se_mean=("log_likelihood_se", "mean"),
                          ess_mean=("ess", "mean")).reset_index()
    summary["n_diverged"] = summary["n_diverged"].astype(int)
    return summary


def sensitivity(summary: pd.DataFrame) -> pd.DataFrame:
    """Each setting at the last checkpoint, with the best point per rule.

    Parameters
    ----------
    summary : DataFrame
        ``stairs_summary``.

    Returns
    -------
    DataFrame
        ``rule``, ``point``, ``mu_M_factor``, ``mu_Q_factor``, ``mu_M``, ``mu_Q``,
        ``batch``, ``n_seeds``, ``n_diverged``, ``diverged_fraction``, ``excluded``,
        ``ll_mean``, ``ll_sd``, ``best`` (the highest ``ll_mean`` of the rule's points not
        excluded), ``excluded_fraction`` (of the rule's points).
    """
    last = summary[summary["batch"] == summary["batch"].max()].copy()
    last["diverged_fraction"] = last["n_diverged"] / last["n_seeds"]
    last["excluded"] = last["diverged_fraction"] >= DIVERGENCE_EXCLUSION
    last["best"] = False
    last["excluded_fraction"] = np.nan
    for rule, part in last.groupby("rule", sort=False):
        last.loc[part.index, "excluded_fraction"] = float(part["excluded"].mean())
        kept = part[~part["excluded"] & part["ll_mean"].notna()]
        if len(kept):
            last.loc[kept["ll_mean"].idxmax(), "best"] = True
    columns = ["rule", "point", "mu_M_factor", "mu_Q_factor", "mu_M", "mu_Q", "batch",
               "n_seeds", "n_diverged", "diverged_fraction", "excluded", "ll_mean", "ll_sd",
               "best", "excluded_fraction"]
    return last[columns].reset_index(drop=True)


# ------------------------------------------------------------------------ the maze


def seed_novelty(batches: pd.DataFrame, probe: pd.DataFrame) -> pd.DataFrame:
    """The novelty statistics of every seed (see the module docstring).

    Returns
    -------
    DataFrame
        ``seed``, ``diverged``, the ``NOVELTY_STATISTICS``, ``separation_low``,
        ``separation_high`` (95 % t interval over the visit pairs), ``n_novel`` and
        ``n_familiar`` (alternation batches in the replaced rooms of the control maze and
        in the same rooms of the target maze).
    """
    rows = []
    for seed, part in batches.groupby("seed", sort=True):
        diverged = bool(part["diverged"].any())
        alternate = part[part["phase"] == "alternate"]
        visits = alternate.groupby(["visit", "maze"], sort=True)["free_energy"].mean().reset_index()
        pairs = []
        for k, row in visits.iterrows():
            if row["maze"] == "control":
                after = visits[(visits["visit"] == row["visit"] + 1)]
                if len(after):
                    pairs.append(row["free_energy"] - after["free_energy"].iloc[0])
        _, low, high, _ = mean_interval(pairs)
        by_maze = alternate.groupby("maze")["free_energy"].mean()
        separation = float(by_maze.get("control", np.nan) - by_maze.get("target", np.nan))
        seed_probe = probe[probe["seed"] == seed]
        learned = seed_probe[seed_probe["phase_end"]] if "phase_end" in seed_probe else seed_probe
        last = learned[learned["probe"] == learned["probe"].max()] if len(learned) else learned
        means = last.groupby("maze")["free_energy"].mean()
        probe_separation = float(means.get("control", np.nan) - means.get("target", np.nan))
        # the replaced rooms' batches in the control maze against the same rooms' batches
        # in the target maze: the rooms' own spike counts cancel
        rooms = set(alternate.loc[alternate["replaced"], "room"])
        same = alternate[alternate["room"].isin(rooms)]
        novel = same["replaced"].to_numpy(bool)
        control_visits = alternate.loc[alternate["maze"] == "control", "visit"]
        first = same[(same["visit"] == control_visits.min()) | (same["maze"] == "target")] \
            if len(control_visits) else same.iloc[:0]

        def ratio(column):
            squared = same[column] ** 2
            return float(squared[novel].mean() / squared[~novel].mean()) \
                if novel.any() and (~novel).any() else math.nan

        rows.append({"seed": int(seed), "diverged": diverged, "separation": separation,
                     "separation_low": low, "separation_high": high,
                     "probe_separation": probe_separation,
                     "auc": auc(same["novelty"], novel),
                     "auc_all_rooms": auc(alternate["novelty"], alternate["replaced"]),
                     "auc_first_visit": auc(first["novelty"], first["replaced"]),
                     "variance_ratio_M": ratio("dw_M"), "variance_ratio_Q": ratio("dw_Q"),
                     "n_novel": int(novel.sum()), "n_familiar": int((~novel).sum())})
    table = pd.DataFrame(rows)
    for column in NOVELTY_STATISTICS:
        table.loc[table["diverged"], column] = np.nan
    return table


def novelty_summary(novelty: pd.DataFrame) -> pd.DataFrame:
    """Every novelty statistic over seeds: ``statistic``, ``mean``, ``ci_low``,
    ``ci_high`` (95 % t interval over seeds), ``n_seeds``, ``n_diverged``,
    ``diverged_fraction``."""
    rows = []
    n_diverged = int(novelty["diverged"].sum())
    for column in NOVELTY_STATISTICS:
        mean, low, high, n = mean_interval(novelty[column])
        rows.append((column, mean, low, high, n, n_diverged, n_diverged / len(novelty)))
    return pd.DataFrame(rows, columns=["statistic", "mean", "ci_low", "ci_high", "n_seeds",
                                       "n_diverged", "diverged_fraction"])


def probe_end_of_learning(probe: pd.DataFrame, learn_s: float) -> pd.DataFrame:
    """The probe rows with ``phase_end``: True for the last probe of the familiarisation."""
    probe = probe.copy()
    within = probe[probe["time_s"] <= learn_s + 1e-9]
    last = within.groupby("seed")["probe"].max()
    probe["phase_end"] = probe["probe"] == probe["seed"].map(last)
    return probe


def trajectory(batches: pd.DataFrame, n_batches: int) -> pd.DataFrame:
    """The batches shown on the maze map: ``n_batches`` of seed 0's first control visit,
    starting a quarter of them before its first batch in a replaced room."""
    part = batches[(batches["seed"] == batches["seed"].min()) & (batches["maze"] == "control")]
    if part.empty:
        return batches.iloc[:0].copy()
    part = part[part["visit"] == part["visit"].min()].reset_index(drop=True)
    hits = np.flatnonzero(part["replaced"].to_numpy(bool))
    start = max(0, int(hits[0]) - n_batches // 4) if hits.size else 0
    start = min(start, max(0, len(part) - n_batches))
    return part.iloc[start:start + n_batches].reset_index(drop=True)


# ------------------------------------------------------------------ ours vs published


def published_values() -> dict:
    """The family's published claims (``published.yaml``, with their source)."""
    from importlib.resources import files

    import yaml

    return yaml.safe_load((files(__package__) / "published.yaml").read_text())


PUBLISHED_COLUMNS = ["claim", "quantity", "ours", "interval_low", "interval_high", "holds",
                     "statistic", "source", "note"]


def published_comparison(tables: dict[str, pd.DataFrame], published: dict | None = None
                         ) -> pd.DataFrame:
    """Each qualitative claim of the paper with this run's measured quantity.

    Parameters
    ----------
    tables : dict
        ``sensitivity`` (stairs), ``summary`` (stairs summary), ``novelty_summary`` and
        ``probe`` (maze; ``probe`` with ``phase_end``).
    published : dict, optional
        Default ``published_values()``.

    Returns
    -------
    DataFrame
        ``PUBLISHED_COLUMNS``; ``holds`` is "yes", "no" or "n/a".
    """
    published = published_values() if published is None else published
    claims = published["claims"]
    source = f"{published['paper']}; {published['source']}"
    rows = []

    sens = tables["sensitivity"]
    centre = sens[(sens["mu_M_factor"] == 1.0) & (sens["mu_Q_factor"] == 1.0)].set_index("rule")
    base = centre["ll_mean"].get("baseline", np.nan)
    naive = centre["ll_mean"].get("naive", np.nan)
    naive_div = centre["diverged_fraction"].get("naive", np.nan)
    if not np.isfinite(base):
        holds, note = "n/a", "the baseline rule has no finite result"
    elif np.isfinite(naive):
        holds, note = ("yes" if base > naive else "no"), ""
    else:
        holds, note = ("yes" if naive_div > 0 else "n/a"), "every naive run diverged"
    batch = int(centre["batch"].max()) if len(centre) else 0
    rows.append((claims[0], "baseline minus naive held-out log-likelihood (nats per raster)",
                 base - naive if np.isfinite(naive) else np.nan, np.nan, np.nan, holds,
                 f"mean over seeds after {batch} batches at the default rates; naive diverged "
                 f"in {naive_div:.0%} of seeds" if np.isfinite(naive_div) else "", source, note))

    novelty = tables["novelty_summary"].set_index("statistic")
    probe = tables["probe"]
    first = probe[probe["probe"] == 0].groupby("maze")["free_energy"].mean()
    start = float(first.get("control", np.nan) - first.get("target", np.nan))
    sep = novelty.loc["probe_separation"]
    holds = "n/a" if not np.isfinite(sep["mean"]) else (
        "yes" if sep["ci_low"] > 0 and abs(start) < sep["mean"] else "no")
    rows.append((claims[1], "F_bar(control) - F_bar(target) after the familiarisation, probes "
                 "over all rooms (nats per batch)", sep["mean"], sep["ci_low"], sep["ci_high"],
                 holds,
                 f"mean and 95% t interval over {int(sep['n_seeds'])} seeds; before learning the "
                 f"probe difference was {start:.3g}", source, ""))
    a = novelty.loc["auc"]
    holds = "n/a" if not np.isfinite(a["mean"]) else ("yes" if a["ci_low"] > 0.5 else "no")
    rows.append((claims[2], "ROC AUC of the novelty F - F_bar, replaced rooms vs the same "
                 "rooms of the target maze", a["mean"],
                 a["ci_low"], a["ci_high"], holds,
                 f"mean and 95% t interval over {int(a['n_seeds'])} seeds; 0.5 is chance",
                 source, ""))
    v = novelty.loc["variance_ratio_Q"]
    holds = "n/a" if not np.isfinite(v["mean"]) else ("yes" if v["ci_low"] > 1 else "no")
    rows.append((claims[3], "variance of inference-weight changes, novel / familiar rooms",
                 v["mean"], v["ci_low"], v["ci_high"], holds,
                 f"mean and 95% t interval over {int(v['n_seeds'])} seeds; 1 is no difference",
                 source, "the generative weights' ratio is in maze/novelty_summary.csv"))
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)
