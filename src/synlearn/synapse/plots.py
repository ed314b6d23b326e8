"""Figures of the single-synapse experiments (Aitchison et al. 2021, Figs. 2-3, SI 1-2).

Each function takes the tidy tables of ``synlearn.synapse.simulation`` and returns a
``matplotlib.figure.Figure`` built without pyplot, so it works under any backend
(including Agg) and never opens a window. The style (seaborn's ``ticks`` style and
``paper`` context, as the reservoir figures) is applied per figure by
``synlearn.core.plotting``, also when the figure is saved; importing or calling this
module leaves the backend and ``matplotlib.rcParams`` unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ..core.errors import ConfigError, require_positive
from ..core.plotting import StyledFigure, figure_facts, styled

FEEDBACK_ORDER = ("linear", "cerebellar", "rl")
FEEDBACK_TITLES = {"linear": "Linear", "cerebellar": "Cerebellar", "rl": "RL"}


def _require_columns(table: pd.DataFrame, columns, name: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ConfigError(f"{name} is missing columns {missing}")
    if table.empty:
        raise ConfigError(f"{name} is empty")


def _feedbacks(table: pd.DataFrame) -> list[str]:
    present = list(pd.unique(table["feedback"]))
    return [f for f in FEEDBACK_ORDER if f in present] + \
        [f for f in present if f not in FEEDBACK_ORDER]


@styled
def plot_timeseries(timeseries: pd.DataFrame, *, start_tau: float = 2.0,
                    n_sd: float = 2.0) -> Figure:
    """(a) True weight, posterior mean and ``n_sd``-sd band of a few synapses.

    Columns are feedback types, rows the recorded synapses (fastest input on top), in
    weight space like the paper's Fig. 2: ``exp(lambda)`` in black, the mean weight
    ``m`` in red with ``m +- n_sd s``. Times before ``start_tau`` (burn-in) are dropped
    and the axis starts at 0 there.

    Parameters
    ----------
    timeseries : DataFrame
        ``synlearn.synapse.run_timeseries`` output, one or more feedbacks.
    start_tau : float
        First time shown, in units of tau (the paper shows 3 tau after a 2 tau cut).
    n_sd : float
        Half-width of the band in posterior sds.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require_columns(timeseries, ["feedback", "synapse", "rate_hz", "time_s", "time_tau",
                                  "weight_true", "weight_mean", "weight_sd"], "timeseries")
    data = timeseries[timeseries["time_tau"] >= start_tau]
    if data.empty:
        raise ConfigError(f"timeseries has no rows with time_tau >= start_tau={start_tau}")
    feedbacks = _feedbacks(data)
    rows = max(data[data.feedback == f]["synapse"].nunique() for f in feedbacks)
    fig = StyledFigure(figsize=(3.0 * len(feedbacks), 2.2 * rows), layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, len(feedbacks), squeeze=False))
    for col, feedback in enumerate(feedbacks):
        part = data[data.feedback == feedback]
        order = part.groupby("synapse")["rate_hz"].first().sort_values(ascending=False)
        for row in range(rows):
            ax = axes[row, col]
            if row >= len(order):
                ax.set_visible(False)
                continue
            synapse = order.index[row]
            trace = part[part.synapse == synapse].sort_values("time_s")
            time = trace["time_s"] - trace["time_s"].iloc[0]
            low = trace["weight_mean"] - n_sd * trace["weight_sd"]
            high = trace["weight_mean"] + n_sd * trace["weight_sd"]
            ax.fill_between(time, low, high, color="tab:red", alpha=0.3, linewidth=0,
                            label=f"{n_sd:g} sd")
            sns.lineplot(x=time, y=trace["weight_true"], ax=ax, color="black",
                         linewidth=0.8, label="target")
            sns.lineplot(x=time, y=trace["weight_mean"], ax=ax, color="tab:red",
                         linewidth=0.8, label="estimate")
            ax.set_title(f"{FEEDBACK_TITLES.get(feedback, feedback)}, "
                         f"$\\nu$ = {order.iloc[row]:.2g} Hz")
            ax.set_xlabel("time (s)" if row == len(order) - 1 else "")
            ax.set_ylabel("weight (mV)" if col == 0 else "")
            if not (row == 0 and col == 0):
                ax.get_legend().remove()
    sns.despine(fig=fig)
    return fig


@styled
def plot_mse_vs_learning_rate(summary: pd.DataFrame, *,
                              ymax_factor: float = 2.5) -> Figure:
    """(b) MSE of the classical rule against its learning rate, Bayesian as a line.

    One panel per feedback type (log x). Classical: mean over seeds with the seeds' sd
    as a band; Bayesian: mean over seeds as a dashed line with a +-sd band. Diverged runs
    (NaN MSE) are left out, as in the paper, and counted in the legend.

    Parameters
    ----------
    summary : DataFrame
        Concatenated ``run_summary`` / ``run_paper_default`` rows.
    ymax_factor : float
        The y axis ends at this multiple of the Bayesian MSE, so that the region near
        the classical optimum stays readable (large rates blow up; the paper clips too).

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require_columns(summary, ["feedback", "rule", "eta", "seed", "mse"], "summary")
    require_positive("ymax_factor", ymax_factor)
    feedbacks = _feedbacks(summary)
    fig = StyledFigure(figsize=(3.2 * len(feedbacks), 3.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(feedbacks), squeeze=False)[0])
    for ax, feedback in zip(axes, feedbacks):
        everything = summary[summary.feedback == feedback]
        part = everything[np.isfinite(everything["mse"])]
        classical = part[part.rule == "classical"]
        left_out = int((everything.rule == "classical").sum() - len(classical))
        note = f" ({left_out} diverged runs left out)" if left_out else ""
        bayes = part[part.rule == "bayes"]
        if not classical.empty:
            sns.lineplot(data=classical, x="eta", y="mse", ax=ax, color="black",
                         marker="o", markersize=3, errorbar="sd", label="classical" + note)
        if not bayes.empty:
            mean = bayes["mse"].mean()
            spread = bayes["mse"].std(ddof=1) if len(bayes) > 1 else 0.0
            ax.axhline(mean, color="tab:red", linestyle="--", label="Bayesian")
            if spread > 0:
                ax.axhspan(mean - spread, mean + spread, color="tab:red", alpha=0.2,
                           linewidth=0)
            ax.set_ylim(0.0, ymax_factor * mean)
        ax.set_xscale("log")
        ax.set_xlabel(r"learning rate $\eta$")
        ax.set_ylabel("MSE" if ax is axes[0] else "")
        ax.set_title(FEEDBACK_TITLES.get(feedback, feedback))
        if ax is axes[0]:
            ax.legend(frameon=False)
        elif ax.get_legend() is not None:
            ax.get_legend().remove()
    sns.despine(fig=fig)
    return fig


@styled
def plot_rate_dependence(per_synapse: pd.DataFrame) -> Figure:
    """(c) Input rate against normalised variability and normalised learning rate.

    Each dot is a synapse (log-log axes); columns are feedback types. Top row:
    ``<s_i^2 / m_i>_t``; bottom row: ``<|Delta m_i| / m_i>`` per spike. The paper's
    prediction: both fall with the presynaptic rate.

    Parameters
    ----------
    per_synapse : DataFrame
        Concatenated ``run_rate_table`` rows.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require_columns(per_synapse, ["feedback", "rate_hz", "normalised_variability",
                                   "normalised_learning_rate"], "per_synapse")
    feedbacks = _feedbacks(per_synapse)
    fig = StyledFigure(figsize=(3.0 * len(feedbacks), 5.2), layout="constrained")
    axes = fig.subplots(2, len(feedbacks), squeeze=False)
    labels = {"normalised_variability": r"norm. variability $\langle s_i^2/m_i\rangle$",
              "normalised_learning_rate":
                  r"norm. learning rate $\langle|\Delta m_i|/m_i\rangle$"}
    for col, feedback in enumerate(feedbacks):
        part = per_synapse[per_synapse.feedback == feedback]
        for row, column in enumerate(labels):
            ax = axes[row, col]
            shown = part[np.isfinite(part[column]) & (part[column] > 0)]
            sns.scatterplot(data=shown, x="rate_hz", y=column, ax=ax, color="black",
                            s=6, alpha=0.5, linewidth=0)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(r"input rate $\nu_i$ (Hz)" if row == 1 else "")
            ax.set_ylabel(labels[column] if col == 0 else "")
            if row == 0:
                ax.set_title(FEEDBACK_TITLES.get(feedback, feedback))
    sns.despine(fig=fig)
    return fig


# Entry points of the workflow's figure rules: each takes the mapping of table names to
# tables that the rule reads (see workflow/rules/common.smk).


def timeseries(tables: dict[str, pd.DataFrame]) -> Figure:
    """Figure (a) from the workflow's ``timeseries`` table."""
    return plot_timeseries(tables["timeseries"])


def mse_vs_eta(tables: dict[str, pd.DataFrame]) -> Figure:
    """Figure (b) from the workflow's ``summary`` table."""
    return plot_mse_vs_learning_rate(tables["summary"])


def rate_dependence(tables: dict[str, pd.DataFrame]) -> Figure:
    """Figure (c) from the workflow's ``rates`` table."""
    return plot_rate_dependence(tables["rates"])


# --- facts: each figure's key numbers, for its caption ---------------------------------
#
# ``facts(function, tables)`` returns, for the figure drawn by ``function`` from the same
# ``tables``, a dict of plain Python values that the caption template
# (workflow/report/<figure>.rst) quotes.


def _number(value) -> float:
    value = float(value)
    return value if np.isfinite(value) else float("nan")


def _slope(x: pd.Series, y: pd.Series) -> float:
    """Least-squares slope of log10 y against log10 x over the positive finite points."""
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if keep.sum() < 2 or np.log10(x[keep]).nunique() < 2:
        return float("nan")
    return float(np.polyfit(np.log10(x[keep]), np.log10(y[keep]), 1)[0])


def timeseries_facts(tables: dict[str, pd.DataFrame], *, start_tau: float = 2.0,
                     n_sd: float = 2.0) -> dict:
    """Per feedback: the rates of the synapses shown, the time shown and the fraction of
    shown samples with the true weight inside the ``n_sd`` band (defaults as the figure)."""
    data = tables["timeseries"]
    data = data[data["time_tau"] >= start_tau]
    per_feedback = []
    for feedback in _feedbacks(data):
        part = data[data.feedback == feedback]
        rates = part.groupby("synapse")["rate_hz"].first().sort_values(ascending=False)
        inside = (part["weight_true"] - part["weight_mean"]).abs() <= n_sd * part["weight_sd"]
        per_feedback.append({
            "feedback": feedback, "title": FEEDBACK_TITLES.get(feedback, feedback),
            "rates_hz": [float(r) for r in rates], "n_synapses": int(len(rates)),
            "shown_tau": float(part["time_tau"].max() - part["time_tau"].min()),
            "shown_s": float(part["time_s"].max() - part["time_s"].min()),
            "inside_band": float(inside.mean()),
        })
    return {"feedbacks": per_feedback, "start_tau": float(start_tau), "n_sd": float(n_sd)}


def mse_vs_eta_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """Per feedback: Bayesian MSE, best classical eta and MSE, their ratio, coverage and
    the eta grid (as ``synapse_comparison`` computes them from the same table)."""
    from .stats import synapse_comparison

    summary = tables["summary"]
    comparison = synapse_comparison(summary).set_index("feedback")
    per_feedback = []
    for feedback in _feedbacks(summary):
        row = comparison.loc[feedback]
        classical = summary[(summary.feedback == feedback) & (summary.rule == "classical")]
        etas = sorted(classical["eta"].unique())
        per_feedback.append({
            "feedback": feedback, "title": FEEDBACK_TITLES.get(feedback, feedback),
            "n_seeds": int(row["n_seeds"]), "bayes_mse": _number(row["bayes_mse"]),
            "best_eta": _number(row["best_eta"]), "best_classical_mse": _number(row["best_classical_mse"]),
            "ratio": _number(row["ratio"]), "coverage_2sd": _number(row["coverage_2sd"]),
            "n_etas": len(etas), "eta_low": float(etas[0]) if etas else float("nan"),
            "eta_high": float(etas[-1]) if etas else float("nan"),
            "classical_diverged_fraction": float(classical["diverged"].mean()) if len(classical) else 0.0,
            "excluded_fraction": _number(row["excluded_fraction"]),
            "n_synapses": int(summary.loc[summary.feedback == feedback, "n_synapses"].iloc[0])
            if "n_synapses" in summary else 0,
        })
    return {"feedbacks": per_feedback}


def rate_dependence_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """Per feedback: synapses, range of input rates and the log-log slopes of normalised
    variability and learning rate against the rate (negative: the predicted fall)."""
    rates = tables["rates"]
    per_feedback = []
    for feedback in _feedbacks(rates):
        part = rates[rates.feedback == feedback]
        per_feedback.append({
            "feedback": feedback, "title": FEEDBACK_TITLES.get(feedback, feedback),
            "n_synapses": int(len(part)),
            "rate_low": float(part["rate_hz"].min()), "rate_high": float(part["rate_hz"].max()),
            "variability_slope": _slope(part["rate_hz"], part["normalised_variability"]),
            "learning_rate_slope": _slope(part["rate_hz"], part["normalised_learning_rate"]),
        })
    return {"feedbacks": per_feedback}


FACTS = {
    "timeseries": timeseries_facts,
    "mse_vs_eta": mse_vs_eta_facts,
    "rate_dependence": rate_dependence_facts,
}


def facts(function: str, tables: dict[str, pd.DataFrame]) -> dict:
    """The key numbers of the figure drawn by ``function`` from ``tables``, for its caption
    (``synlearn.core.plotting.figure_facts`` over this module's ``FACTS``)."""
    return figure_facts(FACTS, function, tables)
