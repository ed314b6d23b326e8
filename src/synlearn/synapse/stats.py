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
