"""Statistics of the single-synapse experiments (Aitchison et al. 2021, Fig. 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.stats import DIVERGENCE_EXCLUSION


def synapse_comparison(summary: pd.DataFrame) -> pd.DataFrame:
    """Bayesian synapse against the best fixed learning rate, per feedback type.

    Aitchison et al. (2021), Fig. 3: for each feedback type, the Bayesian MSE, the best
    classical MSE and its eta (lowest mean over seeds among rates where fewer than half
    of the runs diverged), their ratio, and the Bayesian 2-sigma coverage.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per feedback x rule x eta x seed with columns feedback, rule
        (``bayes`` or ``classical``), eta, seed, mse, coverage_2sd, diverged.

    Returns
    -------
    pandas.DataFrame
        One row per feedback: n_seeds, bayes_mse (mean over seeds), bayes_mse_sd,
        best_eta, best_classical_mse, best_classical_mse_sd, ratio (classical /
        Bayesian), coverage_2sd, bayes_diverged_fraction, excluded_fraction.
    """
    rows = []
    for feedback, group in summary.groupby("feedback", sort=True):
        bayes = group[group["rule"] == "bayes"]
        classical = group[group["rule"] == "classical"]
        per_eta = classical.groupby("eta").agg(mse=("mse", "mean"), sd=("mse", "std"),
                                               diverged=("diverged", "mean"))
        eligible = per_eta[per_eta["diverged"] < DIVERGENCE_EXCLUSION]
        best = eligible["mse"].idxmin() if not eligible.empty else np.nan
        bayes_ok = bayes[~bayes["diverged"]]
        bayes_mse = bayes_ok["mse"].mean() if len(bayes_ok) else np.nan
        best_mse = eligible.loc[best, "mse"] if not eligible.empty else np.nan
        rows.append({
            "feedback": feedback,
            "n_seeds": bayes["seed"].nunique(),
            "bayes_mse": bayes_mse,
            "bayes_mse_sd": bayes_ok["mse"].std(),
            "best_eta": best,
            "best_classical_mse": best_mse,
            "best_classical_mse_sd": eligible.loc[best, "sd"] if not eligible.empty else np.nan,
            "ratio": best_mse / bayes_mse if bayes_mse > 0 else np.nan,
            "coverage_2sd": bayes_ok["coverage_2sd"].mean() if len(bayes_ok) else np.nan,
            "bayes_diverged_fraction": bayes["diverged"].mean() if len(bayes) else np.nan,
            "excluded_fraction": 1.0 - len(eligible) / max(len(per_eta), 1),
        })
    return pd.DataFrame(rows)


# --- this run against the published values -------------------------------------------

PUBLISHED_COLUMNS = ["quantity", "feedback", "ours", "published", "ratio_ours_over_published",
                     "statistic", "source", "note"]


def published_values() -> dict:
    """The published headline values of this family (``published.yaml``, with sources)."""
    from importlib.resources import files

    import yaml

    return yaml.safe_load((files(__package__) / "published.yaml").read_text())


def published_comparison(tables: dict[str, pd.DataFrame], published: dict | None = None) -> pd.DataFrame:
    """This run's single-synapse numbers beside the published ones (Aitchison et al. 2021, Fig. 3).

    Per feedback type with a published value: the Bayesian MSE, the best classical MSE,
    their ratio (classical / Bayesian; the published one derived from the two published
    MSEs), the best classical eta and the Bayesian 2-sigma coverage, from
    ``comparison.csv`` (``synapse_comparison``). A feedback type the run does not have
    gets NaN, and ``note`` says n/a.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``comparison``: the output of ``synapse_comparison``.
    published : dict, optional
        The family's published values; default ``published_values()``.

    Returns
    -------
    pandas.DataFrame
        Columns ``PUBLISHED_COLUMNS``, one row per feedback x quantity.
    """
    published = published_values() if published is None else published
    comparison = tables["comparison"].set_index("feedback")
    source = f"{published['paper']}; {published['source']}"
    rows = []
    for feedback, values in published["feedbacks"].items():
        present = feedback in comparison.index
        mine = comparison.loc[feedback] if present else None
        seeds = f"mean over {int(mine['n_seeds'])} seeds" if present else ""
        quantities = [
            ("Bayesian MSE", "bayes_mse", values["bayesian_mse"], f"{published['statistic']}, {seeds}"),
            ("best classical MSE", "best_classical_mse", values["classical_best_mse"],
             f"{published['statistic']}, {seeds}, at the best fixed eta"),
            ("classical / Bayesian MSE ratio", "ratio",
             values["classical_best_mse"] / values["bayesian_mse"],
             "ratio of the two MSEs above (published: derived from the published MSEs)"),
            ("best classical learning rate eta", "best_eta", values["classical_best_eta"],
             "lowest mean MSE among rates with < 50% diverged runs"),
            ("Bayesian 2-sigma coverage", "coverage_2sd", values["coverage_2sigma"],
             f"fraction of synapse x time points with the true log-weight within 2 posterior sd, {seeds}"),
        ]
        for quantity, column, value, statistic in quantities:
            ours = float(mine[column]) if present else np.nan
            note = "" if present else f"n/a: this run has no {feedback} feedback"
            rows.append((quantity, feedback, ours, float(value), ours / float(value),
                         statistic.rstrip(", "), source, note))
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)
