"""Figures of the reservoir readout experiment: one function per figure.

Every function takes a mapping ``"{study}_{table}" -> DataFrame`` of the tidy tables
written by the statistics step and returns a ``matplotlib.figure.Figure``. A figure
reads tables, never simulation state.

The figures are built without pyplot and importing or calling this module changes
neither the backend nor ``matplotlib.rcParams``: the style is applied per figure by
``synlearn.core.plotting`` (``styled``, ``StyledFigure``), also when it is saved.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ..core.plotting import StyledFigure, figure_facts, styled

RULE_COLORS = {"delta": "#1f77b4", "bayes": "#d62728", "rls": "#2ca02c"}
RULE_LABELS = {"delta": "classical (delta)", "bayes": "Bayesian", "rls": "FORCE / RLS"}


def _best_rows(summary: pd.DataFrame, best: pd.DataFrame, by: list[str] = ()) -> pd.DataFrame:
    """The summary rows of each rule's best setting."""
    keys = [*by, "rule", "rate", "forgetting_tau"]
    chosen = best.dropna(subset=["rate"])[keys].copy()
    # NaN (no forgetting) never equals NaN in a merge: compare with a stand-in value
    chosen["forgetting_tau"] = chosen["forgetting_tau"].fillna(0.0)
    filled = summary.assign(forgetting_tau=summary["forgetting_tau"].fillna(0.0))
    return filled.merge(chosen, on=keys).assign(
        forgetting_tau=lambda rows: rows["forgetting_tau"].replace(0.0, np.nan))


def _finite(values):
    values = np.asarray(values, dtype=float)
    return np.where(np.isfinite(values), values, np.nan)


def _diverged_note(rows) -> str:
    """``", 3 of 20 runs diverged"`` at the last checkpoint of ``rows``, or ``""``."""
    last = rows[rows["trial"] == rows["trial"].max()]
    diverged = int(round(float((last["diverged_fraction"] * last["n_runs"]).sum())))
    return f", {diverged} of {int(last['n_runs'].sum())} runs diverged" if diverged else ""


def _curve(ax, rows, color, label, linestyle="-"):
    """Median and interval against trials; diverged runs count as infinitely bad in the
    median, and their number is in the legend."""
    rows = rows.sort_values("trial")
    trial = rows["trial"].to_numpy()
    ax.plot(trial, _finite(rows["median"]), color=color, label=label + _diverged_note(rows),
            linestyle=linestyle, marker="o", markersize=3)
    ax.fill_between(trial, _finite(rows["low"]), _finite(rows["high"]), color=color, alpha=0.2,
                    linewidth=0)


def _setup_curve_axes(ax, title):
    ax.set_xscale("symlog", linthresh=10)
    ax.set_yscale("log")
    ax.set_xlabel("training trials")
    ax.set_ylabel("test MSE (median, 95% CI)")
    ax.set_title(title)


@styled
def example(tables: dict[str, pd.DataFrame]) -> Figure:
    """Target and readout during the last training trial and in the test, best settings.

    One row per study (the random periodic target, and the four sines if present),
    columns the last training trial and the test trial at the last checkpoint, for
    target 0: the target in grey and each rule's output at its best rate (without
    forgetting) when that rate was traced.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``main_traces`` and optionally ``main_best``, ``sines_traces``,
        ``sines_best``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    sources = [("main", "random periodic target")]
    if "sines_traces" in tables and not tables["sines_traces"].empty:
        sources.append(("sines", "four sines (Sussillo & Abbott 2009)"))
    fig = StyledFigure(figsize=(10, 3.2 * len(sources)))
    axes = fig.subplots(len(sources), 2, squeeze=False)
    for row, (study, title) in enumerate(sources):
        traces = tables[f"{study}_traces"]
        best = tables.get(f"{study}_best")
        last = traces["trial"].max()
        traces = traces[(traces["trial"] == last) & (traces["target"] == 0)]
        for col, phase in enumerate(("train", "test")):
            ax = axes[row, col]
            shown = traces[traces["phase"] == phase]
            if shown.empty:
                ax.set_axis_off()
                continue
            first = shown[(shown["rule"] == shown["rule"].iloc[0]) & (shown["rate"] == shown["rate"].iloc[0])]
            ax.plot(first["time_ms"], first["target_value"], color="black", linewidth=2.5,
                    alpha=0.35, label="target")
            for rule, group in shown.groupby("rule"):
                rate = group["rate"].iloc[0]
                if best is not None:
                    pick = best[(best["rule"] == rule) & best["rate"].notna()]
                    if not pick.empty and (group["rate"] == pick["rate"].iloc[0]).any():
                        rate = pick["rate"].iloc[0]
                one = group[(group["rate"] == rate) & group["forgetting_tau"].isna()]
                # a diverged run's readout is NaN: not drawn, named in the legend
                note = ", diverged: not drawn" if one["diverged"].any() else ""
                ax.plot(one["time_ms"], one["output"], color=RULE_COLORS[rule], linewidth=1,
                        label=f"{RULE_LABELS[rule]} ({rate:g}{note})")
            ax.set_title(f"{title}: {'training trial' if phase == 'train' else 'test, weights frozen'} {last}")
            ax.set_xlabel("time (ms)")
            ax.set_ylabel("output z")
        axes[row, 0].legend(fontsize=7, loc="upper right")
    sns.despine(fig)
    fig.tight_layout()
    return fig


@styled
def learning_curves(tables: dict[str, pd.DataFrame]) -> Figure:
    """Median test MSE vs trials for the best setting of each rule.

    Medians with their 95% intervals on symlog-x / log-y axes; the FORCE (RLS)
    settings of the ``force`` study, run on a subset, are dashed.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``main_summary``, ``main_best`` and optionally ``force_summary``,
        ``force_best``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = StyledFigure(figsize=(5.5, 4))
    ax = fig.subplots()
    rows = _best_rows(tables["main_summary"], tables["main_best"])
    for rule, group in rows.groupby("rule"):
        rate = group["rate"].iloc[0]
        _curve(ax, group, RULE_COLORS[rule], f"{RULE_LABELS[rule]}, best rate {rate:g}")
    if "force_summary" in tables:
        force = _best_rows(tables["force_summary"], tables["force_best"])
        for rule, group in force.groupby("rule"):
            _curve(ax, group, RULE_COLORS[rule],
                   f"{RULE_LABELS[rule]}, alpha {group['rate'].iloc[0]:g} (subset)", "--")
    _setup_curve_axes(ax, "learning curves, best setting of each rule")
    ax.legend(fontsize=7)
    sns.despine(fig)
    fig.tight_layout()
    return fig


def _snapshot_trials(summary, wanted=(500, 1000)):
    trials = sorted(summary["trial"].unique())
    chosen = [t for t in wanted if t in trials]
    return chosen or trials[-2:]


@styled
def mse_vs_rate(tables: dict[str, pd.DataFrame]) -> Figure:
    """Median test MSE against the (initial) learning rate, after 500 and 1000 trials.

    One panel per checkpoint (the last two if 500 and 1000 were not recorded), settings
    without forgetting. Settings where at least half of the runs diverged are drawn as
    crosses at the top.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``main_summary``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    summary = tables["main_summary"]
    summary = summary[summary["forgetting_tau"].isna()]
    snapshots = _snapshot_trials(summary)
    fig = StyledFigure(figsize=(5 * len(snapshots), 4))
    axes = fig.subplots(1, len(snapshots), sharey=True, squeeze=False)
    for ax, trial in zip(axes[0], snapshots):
        at = summary[summary["trial"] == trial]
        for rule, group in at.groupby("rule"):
            group = group.sort_values("rate")
            ok = group["diverged_fraction"] < 0.5
            med = _finite(group["median"])
            ax.errorbar(group["rate"][ok], med[ok],
                        yerr=[med[ok] - _finite(group["low"])[ok], _finite(group["high"])[ok] - med[ok]],
                        color=RULE_COLORS[rule], marker="o", label=RULE_LABELS[rule], capsize=2)
            if (~ok).any():
                ax.plot(group["rate"][~ok], np.full((~ok).sum(), 1.0), "x", color=RULE_COLORS[rule],
                        markersize=8, label=f"{RULE_LABELS[rule]}: >=50% diverged "
                        f"({int((~ok).sum())} of {len(ok)} rates)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("learning rate eta / initial rate eta0 / alpha")
        ax.set_title(f"after {trial} trials")
    axes[0, 0].set_ylabel("test MSE (median, 95% CI)")
    axes[0, 0].legend(fontsize=7)
    sns.despine(fig)
    fig.tight_layout()
    return fig


def _best_at_last(summary, best, by):
    rows = _best_rows(summary, best, by)
    last = rows.groupby(by + ["rule"])["trial"].transform("max")
    return rows[rows["trial"] == last]


def _line_with_band(ax, rows, x, rule):
    rows = rows.sort_values(x)
    med = _finite(rows["median"])
    ax.errorbar(rows[x], med, yerr=[med - _finite(rows["low"]), _finite(rows["high"]) - med],
                color=RULE_COLORS[rule], marker="o", capsize=2, label=RULE_LABELS[rule])


def _best_against(tables, study, column, xlabel, title, log2_x=False):
    """Test MSE at the last checkpoint of each rule's best rate against a swept parameter."""
    fig = StyledFigure(figsize=(5, 4))
    ax = fig.subplots()
    rows = _best_at_last(tables[f"{study}_summary"], tables[f"{study}_best"], ["variant", column])
    for rule, group in rows.groupby("rule"):
        _line_with_band(ax, group, column, rule)
    if log2_x:
        ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"test MSE after {int(rows['trial'].max())} trials")
    ax.set_title(title)
    ax.legend(fontsize=8)
    sns.despine(fig)
    fig.tight_layout()
    return fig


@styled
def mse_vs_gain(tables: dict[str, pd.DataFrame]) -> Figure:
    """Test MSE of each rule's best setting against the network gain g.

    At the last checkpoint, with the rate chosen at each gain separately.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``gain_summary`` and ``gain_best`` (with the swept ``network_gain`` column).

    Returns
    -------
    matplotlib.figure.Figure
    """
    return _best_against(tables, "gain", "network_gain", "gain g", "best rate at each g")


@styled
def alpha_distribution(tables: dict[str, pd.DataFrame]) -> Figure:
    """Per-synapse learning rates alpha_i of the Bayesian rule over training.

    Left: their distribution at each checkpoint (one initial rate per hue, at most
    three). Right: alpha_i against the unit's readout gain at the last checkpoint; the
    exact posterior variance predicts ``alpha_i ~ 1 / (g_i^2 sum_t r_i^2)``, i.e.
    slope -2 in log-log. Runs with forgetting and diverged runs are left out.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``main_rates``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rates = tables["main_rates"]
    rates = rates[(rates["rule"] == "bayes") & rates["forgetting_tau"].isna() & ~rates["diverged"]]
    eta0s = sorted(rates["rate"].unique())
    shown = eta0s[:: max(1, len(eta0s) // 3)][:3]
    rates = rates[rates["rate"].isin(shown)].assign(eta0=lambda d: d["rate"].map("{:g}".format))
    fig = StyledFigure(figsize=(11, 4))
    axes = fig.subplots(1, 2)
    sns.boxplot(data=rates.assign(log_alpha=np.log10(rates["alpha"])), x="trial", y="log_alpha",
                hue="eta0", ax=axes[0], fliersize=1)
    axes[0].set_ylabel("log10 alpha_i")
    axes[0].set_xlabel("training trials")
    axes[0].set_title("per-synapse learning rates")
    last = rates[rates["trial"] == rates["trial"].max()]
    sns.scatterplot(data=last, x="readout_gain", y="alpha", hue="eta0", s=8, ax=axes[1],
                    linewidth=0)
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("readout gain g_i of the unit")
    axes[1].set_ylabel("alpha_i")
    axes[1].set_title(f"after {int(last['trial'].max())} trials")
    sns.despine(fig)
    fig.tight_layout()
    return fig


@styled
def target_length(tables: dict[str, pd.DataFrame]) -> Figure:
    """Test MSE of each rule's best setting against the target's length.

    At the last checkpoint, with the rate chosen at each length separately (log2 x).

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``length_summary`` and ``length_best`` (with the swept ``target_repeats``
        column).

    Returns
    -------
    matplotlib.figure.Figure
    """
    return _best_against(tables, "length", "target_repeats", "target length (base periods)",
                         "longer random targets", log2_x=True)


@styled
def ablation(tables: dict[str, pd.DataFrame]) -> Figure:
    """Classical/Bayesian MSE ratio with and without private noise and heterogeneity.

    Left: the ratio of the best classical to the best Bayesian median MSE at the last
    checkpoint, one bar per condition; right: the same ratio over training.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``ablation_comparison`` (with the swept ``protocol_noise_std`` and
        ``network_readout_gain_log10_sd`` columns).

    Returns
    -------
    matplotlib.figure.Figure
    """
    comparison = tables["ablation_comparison"]
    last = comparison[comparison["trial"] == comparison["trial"].max()].copy()
    last["condition"] = [
        f"noise {n:g}\nheterogeneity {h:g}"
        for n, h in zip(last["protocol_noise_std"], last["network_readout_gain_log10_sd"])
    ]
    fig = StyledFigure(figsize=(10, 4))
    axes = fig.subplots(1, 2)
    sns.barplot(data=last, x="condition", y="ratio", ax=axes[0], color="#888888")
    axes[0].axhline(1.0, color="black", linewidth=0.8)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("best classical / best Bayesian median MSE")
    axes[0].set_title(f"after {int(last['trial'].max())} trials")
    for (condition, group) in comparison.assign(
        condition=[f"noise {n:g}, het. {h:g}" for n, h in
                   zip(comparison["protocol_noise_std"], comparison["network_readout_gain_log10_sd"])]
    ).groupby("condition"):
        axes[1].plot(group["trial"], group["ratio"], marker="o", label=condition)
    axes[1].axhline(1.0, color="black", linewidth=0.8)
    axes[1].set_xscale("symlog", linthresh=10)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("training trials")
    axes[1].set_ylabel("classical / Bayesian")
    axes[1].legend(fontsize=7)
    axes[0].tick_params(axis="x", labelsize=7)
    sns.despine(fig)
    fig.tight_layout()
    return fig


@styled
def protocols(tables: dict[str, pd.DataFrame]) -> Figure:
    """Learning curves under the trials and the continuous (FORCE-style) protocols.

    One panel per protocol kind, the best setting of each rule in each.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``protocols_summary`` and ``protocols_best`` (with the swept
        ``protocol_kind`` column).

    Returns
    -------
    matplotlib.figure.Figure
    """
    summary, best = tables["protocols_summary"], tables["protocols_best"]
    kinds = list(dict.fromkeys(summary["protocol_kind"]))
    fig = StyledFigure(figsize=(5.5 * len(kinds), 4))
    axes = fig.subplots(1, len(kinds), sharey=True, squeeze=False)
    rows = _best_rows(summary, best, ["variant", "protocol_kind"])
    for ax, kind in zip(axes[0], kinds):
        for rule, group in rows[rows["protocol_kind"] == kind].groupby("rule"):
            _curve(ax, group, RULE_COLORS[rule], f"{RULE_LABELS[rule]}, best rate {group['rate'].iloc[0]:g}")
        _setup_curve_axes(ax, f"{kind} protocol, no noise")
        ax.legend(fontsize=7)
    sns.despine(fig)
    fig.tight_layout()
    return fig


@styled
def forgetting(tables: dict[str, pd.DataFrame]) -> Figure:
    """The Bayesian rule with a forgetting time constant against none and the delta rule.

    Learning curves of the delta rule at its best rate and of the Bayesian rule at its
    best initial rate for each forgetting time constant (no forgetting included).

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``forgetting_summary``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    summary = tables["forgetting_summary"]
    last = summary["trial"].max()
    fig = StyledFigure(figsize=(6, 4))
    ax = fig.subplots()
    delta = summary[summary["rule"] == "delta"]
    best_delta = delta[delta["trial"] == last].sort_values("median")["rate"].iloc[0]
    _curve(ax, delta[delta["rate"] == best_delta], RULE_COLORS["delta"],
           f"{RULE_LABELS['delta']}, best rate {best_delta:g}")
    bayes = summary[summary["rule"] == "bayes"]
    bayes = bayes.assign(forgetting_tau=bayes["forgetting_tau"].fillna(0.0))  # 0: none
    taus = sorted(bayes["forgetting_tau"].unique())
    shades = sns.color_palette("Reds", len(taus) + 1)[1:]
    for shade, tau in zip(shades[::-1], taus):
        own = bayes[bayes["forgetting_tau"] == tau]
        rate = own[own["trial"] == last].sort_values("median")["rate"].iloc[0]
        label = "no forgetting" if tau == 0 else f"forgetting tau {tau / 1000:g} s"
        _curve(ax, own[own["rate"] == rate], shade, f"Bayesian, {label}, eta0 {rate:g}")
    _setup_curve_axes(ax, "forgetting: a floor on the per-synapse rate")
    ax.legend(fontsize=7)
    sns.despine(fig)
    fig.tight_layout()
    return fig


# --- facts: each figure's key numbers, for its caption ---------------------------------
#
# ``facts(function, tables)`` returns, for the figure drawn by ``function`` from the same
# ``tables``, a dict of plain Python values (numbers, strings, lists, dicts) that the
# caption template (workflow/report/<figure>.rst) quotes. The rules by which a figure
# picks what it shows (best rates, checkpoints, traced rates) are the figure's own.


def _published_medians() -> dict[str, dict[int, float]]:
    """The published medians by rule and trial count (``published.yaml``)."""
    from .stats import _published_trials, published_values

    readout = published_values()["readout"]
    return {rule: {trial: values[key]["mse"] for trial, values in _published_trials(readout).items()}
            for rule, key in (("delta", "classical"), ("bayes", "bayesian"))}


@styled
def paper(tables: dict[str, pd.DataFrame]) -> Figure:
    """The paper-protocol study against the published medians and our default protocol.

    Left: median test MSE with the interquartile range over runs against trials, each
    rule at its best rate, and the published medians after 500 and 1000 trials
    (Aitchison et al. 2021, Fig. 5) as open markers. Right: the fraction of runs below
    the first success threshold, the ``paper`` study solid, the ``main`` study dashed.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``paper_summary``, ``paper_best``, ``paper_distribution`` and optionally the
        same of ``main``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = StyledFigure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    best = _best_rows(tables["paper_summary"], tables["paper_best"])
    spread = _best_rows(tables["paper_distribution"], tables["paper_best"])
    published = _published_medians()
    for rule, group in best.groupby("rule"):
        group = group.sort_values("trial")
        rate = group["rate"].iloc[0]
        quartiles = spread[spread["rule"] == rule].pivot_table(index="trial", columns="statistic",
                                                               values="value").sort_index()
        left.plot(group["trial"], _finite(group["median"]), color=RULE_COLORS[rule], marker="o",
                  markersize=3, label=f"{RULE_LABELS[rule]} {rate:g}" + _diverged_note(group))
        left.fill_between(quartiles.index, _finite(quartiles["q25"]), _finite(quartiles["q75"]),
                          color=RULE_COLORS[rule], alpha=0.15, linewidth=0)
        points = published.get(rule, {})
        left.plot(list(points), list(points.values()), linestyle="none", marker="D",
                  markerfacecolor="none", color=RULE_COLORS[rule], label=f"published, {RULE_LABELS[rule]}")
    _setup_curve_axes(left, "paper protocol: median and quartiles")
    left.set_ylabel("test MSE (median, quartiles over runs)")
    left.legend(fontsize=7)
    thresholds = _thresholds(tables["paper_distribution"])
    name = f"below_{thresholds[0]:g}"
    for study, linestyle in (("paper", "-"), ("main", "--")):
        if f"{study}_distribution" not in tables:
            continue
        rows = _best_rows(tables[f"{study}_distribution"], tables[f"{study}_best"])
        rows = rows[rows["statistic"] == name]
        for rule, group in rows.groupby("rule"):
            group = group.sort_values("trial")
            right.plot(group["trial"], group["value"], color=RULE_COLORS[rule], linestyle=linestyle,
                       marker="o", markersize=3, label=f"{study}: {RULE_LABELS[rule]} {group['rate'].iloc[0]:g}")
            right.fill_between(group["trial"], group["low"], group["high"], color=RULE_COLORS[rule],
                               alpha=0.12, linewidth=0)
    right.axhline(0.5, color="0.5", linestyle=":", linewidth=0.8)
    right.set_xscale("symlog", linthresh=10)
    right.set_ylim(-0.02, 1.02)
    right.set_xlabel("training trials")
    right.set_ylabel(f"fraction of runs with test MSE < {thresholds[0]:g}")
    right.set_title("successful runs: paper protocol vs ours")
    right.legend(fontsize=7)
    sns.despine(fig)
    fig.tight_layout()
    return fig


# --- per-run error distributions (every study) -------------------------------------

def _study_of(tables: dict[str, pd.DataFrame], table: str) -> str:
    """The study whose ``<study>_<table>`` is among ``tables``."""
    suffix = f"_{table}"
    found = [key[: -len(suffix)] for key in tables if key.endswith(suffix)]
    if len(found) != 1:
        raise KeyError(f"expected one '<study>{suffix}' table, got {sorted(tables)}")
    return found[0]


def _variant_labels(best: pd.DataFrame) -> dict[str, str]:
    """``v0 -> "network_gain = 1.5"``: each variant named by its swept values."""
    swept = [c for c in best.columns if c.split("_", 1)[0] in ("network", "target", "protocol")]
    labels = {}
    for variant, rows in best.groupby("variant", sort=True):
        first = rows.iloc[0]
        labels[variant] = ", ".join(f"{c.split('_', 1)[1]} = {_plain(first[c])}" for c in swept)
    return labels


def _cdf_trials(trials, wanted=(100, 500, 1000)) -> list[int]:
    """Three checkpoints: 100, 500 and 1000 trials if recorded, else three spread over
    the recorded ones after the start."""
    trials = sorted(int(t) for t in trials)
    chosen = [t for t in wanted if t in trials]
    if len(chosen) == len(wanted):
        return chosen
    later = [t for t in trials if t > 0] or trials
    picks = [later[round(i * (len(later) - 1) / 2)] for i in range(3)]
    return sorted(set(picks))


def _best_runs(curves: pd.DataFrame, best: pd.DataFrame) -> pd.DataFrame:
    """The per-run rows of each rule's best setting (per variant), with ``score``: the
    test MSE, inf for a diverged run."""
    keys = ["variant", "rule", "rate", "forgetting_tau"]
    chosen = best.dropna(subset=["rate"])[keys].assign(
        forgetting_tau=lambda rows: rows["forgetting_tau"].fillna(0.0))
    runs = curves.assign(forgetting_tau=curves["forgetting_tau"].fillna(0.0)).merge(chosen, on=keys)
    return runs.assign(score=np.where(runs["diverged"], np.inf, runs["test_mse"]))


def _thresholds(distribution: pd.DataFrame) -> list[float]:
    names = [s for s in distribution["statistic"].unique() if s.startswith("below_")]
    return sorted((float(name.split("_", 1)[1]) for name in names), reverse=True)


@styled
def error_cdf(tables: dict[str, pd.DataFrame]) -> Figure:
    """Empirical CDF of the per-run test MSE at three checkpoints, best setting of each rule.

    One panel per checkpoint (100, 500 and 1000 trials when recorded) and one row per
    variant of the study. A diverged run counts as infinitely bad: the curve stops below
    1 by the fraction of diverged runs. The success thresholds are dashed.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``<study>_curves``, ``<study>_best`` and ``<study>_distribution``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    study = _study_of(tables, "curves")
    runs = _best_runs(tables[f"{study}_curves"], tables[f"{study}_best"])
    labels = _variant_labels(tables[f"{study}_best"])
    trials = _cdf_trials(runs["trial"].unique())
    thresholds = _thresholds(tables[f"{study}_distribution"])
    variants = sorted(labels)
    fig = StyledFigure(figsize=(3.6 * len(trials), 2.9 * len(variants) + 0.4))
    axes = fig.subplots(len(variants), len(trials), sharex=True, sharey=True, squeeze=False)
    finite = runs["score"][np.isfinite(runs["score"]) & (runs["score"] > 0)]
    low, high = (finite.min(), finite.max()) if len(finite) else (1e-4, 1.0)
    for row, variant in zip(axes, variants):
        for ax, trial in zip(row, trials):
            at = runs[(runs["variant"] == variant) & (runs["trial"] == trial)]
            for (rule, rate), group in at.groupby(["rule", "rate"], sort=True):
                scores = np.sort(group["score"].to_numpy())
                shown = scores[np.isfinite(scores)]
                fraction = np.arange(1, shown.size + 1) / scores.size
                diverged = scores.size - shown.size
                note = f", {diverged} diverged" if diverged else ""
                ax.step(shown, fraction, where="post", color=RULE_COLORS[rule],
                        label=f"{RULE_LABELS[rule]} {rate:g} ({scores.size} runs{note})")
            for threshold in thresholds:
                ax.axvline(threshold, color="0.5", linestyle="--", linewidth=0.8)
            ax.set_xscale("log")
            ax.set_xlim(min(low, min(thresholds, default=low)) / 2, high * 2)
            ax.set_ylim(0, 1)
            title = f"after {trial} trials"
            ax.set_title(f"{title}\n{labels[variant]}" if labels[variant] else title)
            ax.legend(fontsize=6, loc="upper left")
        row[0].set_ylabel("fraction of runs with test MSE <= x")
    for ax in axes[-1]:
        ax.set_xlabel("per-run test MSE")
    fig.suptitle(f"study '{study}': per-run test MSE, best setting of each rule")
    sns.despine(fig)
    fig.tight_layout()
    return fig


@styled
def success_fraction(tables: dict[str, pd.DataFrame]) -> Figure:
    """Fraction of runs below each success threshold against training trials.

    Each rule at its best setting (per variant), with the 95% bootstrap interval; one
    panel per threshold, one row per variant. Half of the runs is dotted: the published
    median sits where the Bayesian fraction crosses it.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``<study>_distribution`` and ``<study>_best``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    study = _study_of(tables, "distribution")
    distribution = tables[f"{study}_distribution"]
    best = tables[f"{study}_best"]
    labels = _variant_labels(best)
    thresholds = _thresholds(distribution)
    rows = _best_rows(distribution, best, ["variant"])
    variants = sorted(labels)
    fig = StyledFigure(figsize=(4.2 * len(thresholds), 3.0 * len(variants) + 0.4))
    axes = fig.subplots(len(variants), len(thresholds), sharex=True, sharey=True, squeeze=False)
    for row, variant in zip(axes, variants):
        for ax, threshold in zip(row, thresholds):
            name = f"below_{threshold:g}"
            picked = rows[(rows["variant"] == variant) & (rows["statistic"] == name)]
            for (rule, rate), group in picked.groupby(["rule", "rate"], sort=True):
                group = group.sort_values("trial")
                ax.plot(group["trial"], group["value"], color=RULE_COLORS[rule], marker="o",
                        markersize=3, label=f"{RULE_LABELS[rule]} {rate:g}")
                ax.fill_between(group["trial"], group["low"], group["high"], color=RULE_COLORS[rule],
                                alpha=0.2, linewidth=0)
            ax.axhline(0.5, color="0.5", linestyle=":", linewidth=0.8)
            ax.set_xscale("symlog", linthresh=10)
            ax.set_ylim(-0.02, 1.02)
            title = f"test MSE < {threshold:g}"
            ax.set_title(f"{title}\n{labels[variant]}" if labels[variant] else title)
            ax.legend(fontsize=6)
        row[0].set_ylabel("fraction of runs (95% CI)")
    for ax in axes[-1]:
        ax.set_xlabel("training trials")
    fig.suptitle(f"study '{study}': successful runs, best setting of each rule")
    sns.despine(fig)
    fig.tight_layout()
    return fig


def _number(value) -> float:
    return float(value) if value is not None and np.isfinite(value) else float("nan")


def _plain(value):
    """A numpy scalar as the Python value (for templates and comparisons in tests)."""
    return value.item() if isinstance(value, np.generic) else value


def _checkpoints(summary: pd.DataFrame) -> list[int]:
    return [int(t) for t in sorted(summary["trial"].unique())]


def _best_rule_rows(summary: pd.DataFrame, best: pd.DataFrame, by: list[str] = ()) -> list[dict]:
    """Each rule's best setting at the last checkpoint: rate, median and 95% interval."""
    rows = _best_rows(summary, best, list(by))
    out = []
    for key, group in rows.groupby([*by, "rule"], sort=True):
        key = key if isinstance(key, tuple) else (key,)
        at = group[group["trial"] == group["trial"].max()].iloc[0]
        out.append({**{name: _plain(v) for name, v in zip([*by, "rule"], key)}, "label": RULE_LABELS.get(at["rule"], at["rule"]),
                    "rate": float(at["rate"]), "trial": int(at["trial"]),
                    "median": _number(at["median"]), "low": _number(at["low"]),
                    "high": _number(at["high"]), "n_runs": int(at["n_runs"]),
                    "diverged_fraction": float(at["diverged_fraction"])})
    return out


def _ratio(rules: list[dict], baseline: str = "delta", challenger: str = "bayes") -> float:
    """Baseline / challenger median (above 1: the challenger, the Bayesian rule, is better)."""
    found = {row["rule"]: row["median"] for row in rules}
    if baseline not in found or challenger not in found or not found[challenger] > 0:
        return float("nan")
    return found[baseline] / found[challenger]


def example_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """The trial shown and each rule's rate and test MSE in ``example``."""
    panels = []
    sources = [("main", "random periodic target")]
    if "sines_traces" in tables and not tables["sines_traces"].empty:
        sources.append(("sines", "four sines"))
    for study, title in sources:
        traces = tables[f"{study}_traces"]
        best = tables.get(f"{study}_best")
        last = traces["trial"].max()
        shown = traces[(traces["trial"] == last) & (traces["target"] == 0) & (traces["phase"] == "test")]
        rules = []
        for rule, group in shown.groupby("rule"):
            rate = group["rate"].iloc[0]  # as the figure: the best rate when it was traced
            median = float("nan")
            if best is not None:
                pick = best[(best["rule"] == rule) & best["rate"].notna()]
                if not pick.empty and (group["rate"] == pick["rate"].iloc[0]).any():
                    rate = pick["rate"].iloc[0]
                    median = _number(pick["median"].iloc[0])
            one = group[(group["rate"] == rate) & group["forgetting_tau"].isna()]
            scored = one[one["target_value"].notna()]
            error = (scored["output"] - scored["target_value"]) ** 2
            rules.append({"rule": rule, "label": RULE_LABELS.get(rule, rule), "rate": float(rate),
                          "trace_mse": _number(error.mean()) if len(error) else float("nan"),
                          "median": median})
        panels.append({"study": study, "title": title, "trial": int(last), "rules": rules})
    return {"panels": panels, "has_sines": len(panels) > 1}


def learning_curves_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """Checkpoints, each rule's best rate and final median, the ratio, FORCE's subset."""
    summary = tables["main_summary"]
    rules = _best_rule_rows(summary, tables["main_best"])
    force = []
    if "force_summary" in tables:
        force = _best_rule_rows(tables["force_summary"], tables["force_best"])
    return {"checkpoints": _checkpoints(summary), "last": int(summary["trial"].max()),
            "rules": rules, "ratio": _ratio(rules),
            "n_pairs": max((row["n_runs"] for row in rules), default=0), "force": force}


def mse_vs_rate_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """Per checkpoint shown: each rule's best rate and median, exclusions, the ratio and
    the Bayesian rates that beat the best classical rate."""
    from .stats import _best_eligible

    summary = tables["main_summary"]
    summary = summary[summary["forgetting_tau"].isna()]  # no forgetting, as the figure
    snapshots = []
    for trial in _snapshot_trials(summary):
        at = summary[summary["trial"] == trial]
        rules = []
        for rule, group in at.groupby("rule"):
            chosen, excluded = _best_eligible(group)
            rates = sorted(float(r) for r in group["rate"])
            rules.append({"rule": rule, "label": RULE_LABELS.get(rule, rule),
                          "best_rate": float(chosen["rate"]) if chosen is not None else float("nan"),
                          "best_median": _number(chosen["median"]) if chosen is not None else float("nan"),
                          "n_rates": len(rates), "rate_low": rates[0], "rate_high": rates[-1],
                          "n_excluded": int(round(excluded * len(rates))),
                          "n_runs": int(group["n_runs"].max())})
        by_rule = {row["rule"]: row for row in rules}
        beating = []
        if "delta" in by_rule and "bayes" in by_rule:
            bayes = at[at["rule"] == "bayes"].sort_values("rate")
            beating = [float(r) for r, m in zip(bayes["rate"], bayes["median"])
                       if m < by_rule["delta"]["best_median"]]
        ratio = (by_rule["delta"]["best_median"] / by_rule["bayes"]["best_median"]
                 if {"delta", "bayes"} <= set(by_rule) and by_rule["bayes"]["best_median"] > 0
                 else float("nan"))
        snapshots.append({"trial": int(trial), "rules": rules, "ratio": ratio,
                          "bayes_beating": beating})
    return {"trials": [s["trial"] for s in snapshots], "snapshots": snapshots,
            "checkpoints": _checkpoints(summary), "last": int(summary["trial"].max()),
            "n_pairs": max((r["n_runs"] for s in snapshots for r in s["rules"]), default=0)}


def _swept_facts(summary: pd.DataFrame, best: pd.DataFrame, column: str) -> dict:
    """Each rule's best median at the last checkpoint per value of a swept parameter."""
    rows = _best_rule_rows(summary, best, ["variant", column])
    values = sorted({row[column] for row in rows})
    points = []
    for value in values:
        at = [row for row in rows if row[column] == value]
        points.append({"value": float(value), "rules": at, "ratio": _ratio(at)})
    per_rule = {}
    for row in rows:
        mine = per_rule.setdefault(row["rule"], {"rule": row["rule"], "label": row["label"],
                                                 "best_value": row[column], "best_median": row["median"]})
        if row["median"] < mine["best_median"]:
            mine.update(best_value=row[column], best_median=row["median"])
    return {"levels": [float(v) for v in values], "points": points,
            "best_value": list(per_rule.values()), "last": int(summary["trial"].max()),
            "n_pairs": max((row["n_runs"] for row in rows), default=0)}


def mse_vs_gain_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """Gains, each rule's best median per gain, and the gain where each rule does best."""
    return _swept_facts(tables["gain_summary"], tables["gain_best"], "network_gain")


def target_length_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """Target lengths, each rule's best median per length, and the ratio per length."""
    return _swept_facts(tables["length_summary"], tables["length_best"], "target_repeats")


def alpha_distribution_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """Initial rates shown; at the last checkpoint the median alpha_i, its spread in
    decades and the log-log slope of alpha_i against the readout gain (-2 expected)."""
    rates = tables["main_rates"]
    rates = rates[(rates["rule"] == "bayes") & rates["forgetting_tau"].isna() & ~rates["diverged"]]
    eta0s = sorted(rates["rate"].unique())
    shown = eta0s[:: max(1, len(eta0s) // 3)][:3]
    rates = rates[rates["rate"].isin(shown)]
    last = rates["trial"].max()
    at = rates[rates["trial"] == last]
    per_eta0 = []
    for eta0, group in at.groupby("rate"):
        log_alpha, log_gain = np.log10(group["alpha"]), np.log10(group["readout_gain"])
        slope = float(np.polyfit(log_gain, log_alpha, 1)[0]) if log_gain.nunique() > 1 else float("nan")
        per_eta0.append({"eta0": float(eta0), "median_alpha": float(group["alpha"].median()),
                         "decades": float(log_alpha.max() - log_alpha.min()),
                         "slope": slope, "n_synapses": len(group)})
    return {"eta0s": [float(e) for e in shown], "last": int(last) if len(at) else 0,
            "checkpoints": _checkpoints(rates), "per_eta0": per_eta0}


def ablation_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """Per condition at the last checkpoint: the classical/Bayesian ratio and win fraction."""
    comparison = tables["ablation_comparison"]
    last = comparison["trial"].max()
    conditions = []
    for _, row in comparison[comparison["trial"] == last].iterrows():
        conditions.append({"noise": float(row["protocol_noise_std"]),
                           "heterogeneity": float(row["network_readout_gain_log10_sd"]),
                           "ratio": _number(row["ratio"]),
                           "win_fraction": _number(row["bayes_win_fraction"]),
                           "n_pairs": int(row["n_pairs"])})
    conditions.sort(key=lambda c: (c["noise"], c["heterogeneity"]))
    full = [c for c in conditions if c["noise"] > 0 and c["heterogeneity"] > 0]
    bare = [c for c in conditions if c["noise"] == 0 and c["heterogeneity"] == 0]
    return {"last": int(last), "conditions": conditions,
            "largest": max(conditions, key=lambda c: np.nan_to_num(c["ratio"], nan=-np.inf), default=None),
            "both": full[0] if full else None, "neither": bare[0] if bare else None}


def protocols_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """Per protocol kind: each rule's best rate and median at the last checkpoint."""
    summary, best = tables["protocols_summary"], tables["protocols_best"]
    rows = _best_rule_rows(summary, best, ["variant", "protocol_kind"])
    kinds = list(dict.fromkeys(summary["protocol_kind"]))
    per_kind = []
    for kind in kinds:
        at = [row for row in rows if row["protocol_kind"] == kind]
        per_kind.append({"kind": kind, "rules": at, "ratio": _ratio(at)})
    return {"kinds": per_kind, "last": int(summary["trial"].max()),
            "n_pairs": max((row["n_runs"] for row in rows), default=0)}


def forgetting_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """The best delta rate and, per forgetting time constant, the best eta0 and medians."""
    summary = tables["forgetting_summary"]
    last = summary["trial"].max()
    at = summary[summary["trial"] == last]
    delta = at[at["rule"] == "delta"].sort_values("median")
    curves = []
    bayes = at[at["rule"] == "bayes"]
    bayes = bayes.assign(forgetting_tau=bayes["forgetting_tau"].fillna(0.0))  # 0: none
    for tau, own in bayes.groupby("forgetting_tau"):
        top = own.sort_values("median").iloc[0]
        curves.append({"tau_s": float(tau) / 1000.0, "forgetting": bool(tau > 0),
                       "eta0": float(top["rate"]), "median": _number(top["median"])})
    return {"last": int(last), "n_pairs": int(at["n_runs"].max()),
            "delta": ({"rate": float(delta["rate"].iloc[0]), "median": _number(delta["median"].iloc[0])}
                      if len(delta) else None),
            "bayes": curves}


def paper_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """Per rule of the paper study (and of main when present) at the trials the issue
    and the publication quote: median, quartiles and success fractions; the ratio."""
    published = _published_medians()
    studies = []
    for study in ("paper", "main"):
        if f"{study}_distribution" not in tables:
            continue
        _, rows = _distribution_rows({f"{study}_distribution": tables[f"{study}_distribution"],
                                      f"{study}_best": tables[f"{study}_best"]})
        trials = sorted({row["trial"] for row in rows})
        quoted = [t for t in (100, 300, 500, 700, 1000) if t in trials] or trials[-1:]
        by_trial = []
        for trial in quoted:
            at = {row["rule"]: row for row in rows if row["trial"] == trial}
            ratio = float("nan")
            if "delta" in at and "bayes" in at and at["bayes"]["q50"]["value"] > 0:
                ratio = at["delta"]["q50"]["value"] / at["bayes"]["q50"]["value"]
            by_trial.append({"trial": trial, "rules": [at[r] for r in sorted(at)], "ratio": ratio,
                             "published": {r: published[r].get(trial) for r in published}})
        studies.append({"study": study, "trials": quoted, "by_trial": by_trial})
    thresholds = _thresholds(tables["paper_distribution"])
    return {"studies": studies, "thresholds": thresholds,
            "names": [f"below_{t:g}" for t in thresholds]}


def _distribution_rows(tables: dict[str, pd.DataFrame]) -> tuple[str, list[dict]]:
    """Per variant, rule (best setting) and checkpoint: every distribution statistic."""
    study = _study_of(tables, "distribution")
    best = tables[f"{study}_best"]
    labels = _variant_labels(best)
    rows = _best_rows(tables[f"{study}_distribution"], best, ["variant"])
    out = []
    for (variant, rule, trial), group in rows.groupby(["variant", "rule", "trial"], sort=True):
        stats = group.set_index("statistic")
        out.append({"variant": variant, "label": labels.get(variant, ""), "rule": rule,
                    "rule_label": RULE_LABELS.get(rule, rule), "rate": float(group["rate"].iloc[0]),
                    "trial": int(trial), "n_runs": int(group["n_runs"].iloc[0]),
                    "diverged_fraction": float(group["diverged_fraction"].iloc[0]),
                    **{name: {"value": _number(r["value"]), "low": _number(r["low"]),
                              "high": _number(r["high"])} for name, r in stats.iterrows()}})
    return study, out


def error_cdf_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """The study, the checkpoints shown and, per variant and rule, the quartiles there."""
    study, rows = _distribution_rows(tables)
    trials = _cdf_trials({row["trial"] for row in rows})
    return {"study": study, "trials": trials,
            "thresholds": _thresholds(tables[f"{study}_distribution"]),
            "rows": [row for row in rows if row["trial"] in trials]}


def success_fraction_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """The study, its thresholds and, per variant and rule, the success fractions at the
    last checkpoint and the first checkpoint where more than half the runs succeed."""
    study, rows = _distribution_rows(tables)
    thresholds = _thresholds(tables[f"{study}_distribution"])
    last = max((row["trial"] for row in rows), default=0)
    final = []
    for row in rows:
        if row["trial"] != last:
            continue
        crossing = {}
        for threshold in thresholds:
            name = f"below_{threshold:g}"
            above_half = [r["trial"] for r in rows
                          if (r["variant"], r["rule"]) == (row["variant"], row["rule"])
                          and r[name]["value"] > 0.5]
            crossing[name] = min(above_half) if above_half else None
        final.append({**row, "half_crossed_at": crossing})
    return {"study": study, "last": last, "thresholds": thresholds,
            "names": [f"below_{t:g}" for t in thresholds], "rows": final}


FACTS = {
    "example": example_facts,
    "learning_curves": learning_curves_facts,
    "mse_vs_rate": mse_vs_rate_facts,
    "mse_vs_gain": mse_vs_gain_facts,
    "alpha_distribution": alpha_distribution_facts,
    "target_length": target_length_facts,
    "ablation": ablation_facts,
    "protocols": protocols_facts,
    "forgetting": forgetting_facts,
    "paper": paper_facts,
    "error_cdf": error_cdf_facts,
    "success_fraction": success_fraction_facts,
}


def facts(function: str, tables: dict[str, pd.DataFrame]) -> dict:
    """The key numbers of the figure drawn by ``function`` from ``tables``, for its caption
    (``synlearn.core.plotting.figure_facts`` over this module's ``FACTS``)."""
    return figure_facts(FACTS, function, tables)
