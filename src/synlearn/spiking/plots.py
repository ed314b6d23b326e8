"""Figures of the spiking experiments (Jimenez Rezende & Gerstner 2014).

Each figure function takes a mapping of tables (``synlearn.spiking.stats`` outputs and
the pipeline's layout and raster tables) and returns a ``matplotlib.figure.Figure``
built without pyplot, in the style of every family (``synlearn.core.plotting``).
``facts`` gives each figure's key numbers for its caption.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..core.plotting import StyledFigure, figure_facts, styled

RULE_STYLE = {"baseline": ("baseline rule (F - F_bar)", "tab:red"),
              "naive": ("naive rule (F)", "tab:blue")}
MAZE_STYLE = {"target": ("target maze", "tab:green"), "control": ("control maze", "tab:purple")}


def _centre(summary: pd.DataFrame) -> pd.DataFrame:
    """The default setting's rows: both learning-rate factors 1."""
    return summary[(summary["mu_M_factor"] == 1.0) & (summary["mu_Q_factor"] == 1.0)]


@styled
def learning_curves(tables: dict[str, pd.DataFrame]) -> Figure:
    """Held-out log-likelihood (importance sampling) against training batches, baseline vs
    naive rule at the default rates, mean +- sd over seeds; mean IS standard error as
    error bars.

    Parameters
    ----------
    tables : dict
        ``summary``: ``stats.stairs_summary``.
    """
    summary = _centre(tables["summary"])
    fig = StyledFigure(figsize=(5.2, 3.6), layout="constrained")
    ax = fig.subplots()
    for rule, part in summary.groupby("rule", sort=False):
        label, colour = RULE_STYLE.get(rule, (rule, "black"))
        part = part.sort_values("batch")
        diverged = int(part["n_diverged"].max())
        ax.errorbar(part["batch"], part["ll_mean"], yerr=part["ll_se_mean"].fillna(0),
                    color=colour, marker="o", capsize=2,
                    label=f"{label}" + (f", {diverged} diverged" if diverged else ""))
        ax.fill_between(part["batch"], part["ll_mean"] - part["ll_sd"].fillna(0),
                        part["ll_mean"] + part["ll_sd"].fillna(0), color=colour, alpha=0.2,
                        linewidth=0)
    ax.set_xlabel("training batches (200 ms each)")
    ax.set_ylabel("held-out log p(x_V) (nats per raster)")
    ax.legend(frameon=False, fontsize="small", loc="lower right")
    return fig


@styled
def rasters(tables: dict[str, pd.DataFrame]) -> Figure:
    """Stairs data, the hidden activity Q infers from it, and a sleep sample of M.

    Parameters
    ----------
    tables : dict
        ``rasters``: ``pipeline.raster_table``.
    """
    table = tables["rasters"]
    panels = (("data", "visible", "data (visible)"), ("inferred", "hidden", "hidden, inferred by Q"),
              ("sleep", "visible", "sleep: visible, from M"),
              ("sleep", "hidden", "sleep: hidden, from M"))
    fig = StyledFigure(figsize=(6.4, 7.0), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True)
    colours = ("tab:red", "tab:green", "tab:blue")
    for ax, (panel, layer, title) in zip(axes, panels):
        part = table[(table["panel"] == panel) & (table["layer"] == layer)]
        if panel != "sleep" and part["block"].notna().any():
            c = [colours[int(b) % 3] for b in part["block"]]
        else:
            c = "black"
        ax.scatter(part["time_ms"], part["neuron"], s=2, c=c, marker="|")
        ax.set_ylabel(f"{layer} neuron")
        ax.set_title(title, fontsize="small")
    axes[-1].set_xlabel("time (ms)")
    return fig


@styled
def sensitivity(tables: dict[str, pd.DataFrame]) -> Figure:
    """Final held-out log-likelihood over the learning-rate grid, one panel per rule;
    diverged or excluded points marked, each rule's best point boxed.

    Parameters
    ----------
    tables : dict
        ``sensitivity``: ``stats.sensitivity``.
    """
    table = tables["sensitivity"]
    rules = list(dict.fromkeys(table["rule"]))
    fig = StyledFigure(figsize=(4.2 * len(rules), 3.6), layout="constrained")
    axes = fig.subplots(1, len(rules), squeeze=False)[0]
    finite = table["ll_mean"][np.isfinite(table["ll_mean"])]
    vmin, vmax = (finite.min(), finite.max()) if len(finite) else (0, 1)
    for ax, rule in zip(axes, rules):
        part = table[table["rule"] == rule]
        m = sorted(part["mu_M_factor"].unique())
        q = sorted(part["mu_Q_factor"].unique())
        grid = np.full((len(m), len(q)), np.nan)
        for row in part.itertuples():
            grid[m.index(row.mu_M_factor), q.index(row.mu_Q_factor)] = row.ll_mean
        image = ax.imshow(grid, origin="lower", cmap="viridis", vmin=vmin, vmax=vmax)
        for row in part.itertuples():
            i, j = m.index(row.mu_M_factor), q.index(row.mu_Q_factor)
            text = "diverged" if not np.isfinite(row.ll_mean) else f"{row.ll_mean:.0f}"
            if row.n_diverged and np.isfinite(row.ll_mean):
                text += f"\n{row.n_diverged}/{row.n_seeds} div."
            ax.text(j, i, text, ha="center", va="center", fontsize="x-small",
                    color="white" if not np.isfinite(row.ll_mean) else "black")
            if row.best:
                ax.add_patch(_box(j, i))
        ax.set_xticks(range(len(q)), [f"x{f:.3g}" for f in q])
        ax.set_yticks(range(len(m)), [f"x{f:.3g}" for f in m])
        ax.set_xlabel("mu_Q factor")
        ax.set_ylabel("mu_M factor")
        ax.set_title(RULE_STYLE.get(rule, (rule,))[0], fontsize="small")
    fig.colorbar(image, ax=axes[-1], label="final held-out log p (nats)")
    return fig


def _box(j, i):
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2)


@styled
def maze_free_energy(tables: dict[str, pd.DataFrame]) -> Figure:
    """F_bar in the target and the control maze over training: the probes' mean F over
    the rooms of each maze (weights frozen; mean +- sd over seeds), and the walker's slow
    averages of F in each maze (seed 0); shaded: the control maze's visits.

    Parameters
    ----------
    tables : dict
        ``probe`` and ``batches`` of the maze statistics.
    """
    probe, batches = tables["probe"], tables["batches"]
    fig = StyledFigure(figsize=(6.4, 5.4), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    per_seed = probe.groupby(["maze", "seed", "time_s"])["free_energy"].mean().reset_index()
    for name, part in per_seed.groupby("maze", sort=False):
        label, colour = MAZE_STYLE.get(name, (name, "black"))
        stats = part.groupby("time_s")["free_energy"].agg(["mean", "std"]).reset_index()
        top.plot(stats["time_s"], stats["mean"], color=colour, marker=".", label=label)
        top.fill_between(stats["time_s"], stats["mean"] - stats["std"].fillna(0),
                         stats["mean"] + stats["std"].fillna(0), color=colour, alpha=0.2,
                         linewidth=0)
    top.set_ylabel("probe F, mean over rooms\n(nats per batch)")
    top.legend(frameon=False, fontsize="small")
    first = batches[batches["seed"] == batches["seed"].min()]
    for name, column in (("target", "slow_target"), ("control", "slow_control")):
        label, colour = MAZE_STYLE[name]
        bottom.plot(first["time_s"], first[column], color=colour, label=f"slow F_bar, {label}")
    for ax in (top, bottom):
        for _, visit in first[first["maze"] == "control"].groupby("visit"):
            ax.axvspan(visit["time_s"].min(), visit["time_s"].max(), color="0.9", zorder=0)
    bottom.set_xlabel("time (s)")
    bottom.set_ylabel("slow average of F\n(nats per batch)")
    bottom.legend(frameon=False, fontsize="small")
    return fig


@styled
def maze_novelty(tables: dict[str, pd.DataFrame]) -> Figure:
    """The novelty ``F - F_bar`` along a trajectory through the control maze: the path
    on the map of rooms (digit images, replaced rooms outlined, points coloured by
    novelty), and the novelty against time (replaced-room batches marked).

    Parameters
    ----------
    tables : dict
        ``trajectory`` (``stats.trajectory``) and ``rooms`` (``pipeline.layout_table``).
    """
    path, rooms = tables["trajectory"], tables["rooms"]
    control = rooms[rooms["maze"] == "control"]
    n_rows, n_cols = int(control["row"].max()) + 1, int(control["col"].max()) + 1
    side = int(round(math.sqrt(control["pixel"].max() + 1)))
    mosaic = np.zeros((n_rows * side, n_cols * side))
    for room, part in control.groupby("room"):
        r, c = divmod(int(room), n_cols)
        mosaic[r * side:(r + 1) * side, c * side:(c + 1) * side] = \
            part.sort_values("pixel")["intensity"].to_numpy().reshape(side, side)
    fig = StyledFigure(figsize=(9.0, 4.0), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.4))
    left.imshow(mosaic, cmap="gray_r", extent=(0, n_cols, n_rows, 0))
    for room in control.loc[control["replaced"], "room"].unique():
        r, c = divmod(int(room), n_cols)
        left.add_patch(_outline(c, r))
    if len(path):
        r, c = np.divmod(path["room"].to_numpy(), n_cols)
        jitter = np.random.default_rng(0).uniform(-0.25, 0.25, (2, len(path)))
        x, y = c + 0.5 + jitter[0], r + 0.5 + jitter[1]
        left.plot(x, y, color="tab:orange", linewidth=0.8, alpha=0.7)
        points = left.scatter(x, y, c=path["novelty"], cmap="coolwarm", s=14, zorder=3)
        fig.colorbar(points, ax=left, label="novelty F - F_bar (nats)", shrink=0.8)
        right.plot(path["time_s"], path["novelty"], color="black", linewidth=0.8)
        hits = path[path["replaced"]]
        right.scatter(hits["time_s"], hits["novelty"], color="tab:red", s=12, zorder=3,
                      label="in a replaced room")
        right.axhline(0.0, color="0.5", linewidth=0.5)
        right.legend(frameon=False, fontsize="small")
    left.set_xticks([])
    left.set_yticks([])
    left.set_title("control maze (replaced rooms in red)", fontsize="small")
    right.set_xlabel("time (s)")
    right.set_ylabel("novelty F - F_bar (nats per batch)")
    return fig


def _outline(c, r):
    from matplotlib.patches import Rectangle

    return Rectangle((c, r), 1, 1, fill=False, edgecolor="tab:red", linewidth=2)


@styled
def novelty_statistics(tables: dict[str, pd.DataFrame]) -> Figure:
    """Per seed and over seeds (mean, 95 % t interval): the F_bar separation between the
    mazes, the ROC AUC of the novelty for replaced rooms, and the variance ratio of the
    weight changes in novel over familiar rooms.

    Parameters
    ----------
    tables : dict
        ``novelty`` (per seed) and ``summary`` (``stats.novelty_summary``).
    """
    novelty, summary = tables["novelty"], tables["summary"].set_index("statistic")
    panels = (("probe_separation", "F_bar(control) - F_bar(target)\n(nats per batch)", 0.0),
              ("auc", "ROC AUC, replaced rooms", 0.5),
              ("variance_ratio_Q", "variance ratio novel / familiar", 1.0))
    fig = StyledFigure(figsize=(9.0, 3.4), layout="constrained")
    axes = fig.subplots(1, len(panels))
    for ax, (column, label, reference) in zip(axes, panels):
        values = novelty[column].to_numpy(float)
        ax.scatter(np.zeros_like(values) + np.linspace(-0.1, 0.1, values.size), values,
                   color="0.4", s=14, label="seeds")
        row = summary.loc[column]
        ax.errorbar([0.35], [row["mean"]], yerr=[[row["mean"] - row["ci_low"]],
                                                 [row["ci_high"] - row["mean"]]]
                    if np.isfinite(row["ci_low"]) else None, color="tab:red", marker="o",
                    capsize=3, label="mean, 95% CI")
        if column == "variance_ratio_Q":
            m = summary.loc["variance_ratio_M"]
            ax.scatter(np.zeros(len(novelty)) + 0.7, novelty["variance_ratio_M"], color="tab:blue",
                       s=14, label="generative M")
            ax.scatter([0.7], [m["mean"]], color="tab:blue", marker="D", s=30)
            ax.set_xticks([0.0, 0.7], ["inference Q", "generative M"])
        else:
            ax.set_xticks([])
        ax.axhline(reference, color="black", linewidth=0.5)
        ax.set_ylabel(label)
        ax.set_xlim(-0.4, 1.0)
    axes[0].legend(frameon=False, fontsize="small")
    return fig


# ------------------------------------------------------------------ caption facts


def _float(value) -> float:
    return float(value) if value is not None and np.isfinite(value) else float("nan")


def learning_curves_facts(tables) -> dict:
    summary = _centre(tables["summary"])
    last = summary[summary["batch"] == summary["batch"].max()]
    rules = [{"rule": r.rule, "title": RULE_STYLE.get(r.rule, (r.rule,))[0],
              "ll_mean": _float(r.ll_mean), "ll_sd": _float(r.ll_sd),
              "se": _float(r.ll_se_mean), "ess": _float(r.ess_mean),
              "n_seeds": int(r.n_seeds), "n_diverged": int(r.n_diverged)}
             for r in last.itertuples()]
    first = summary[summary["batch"] == summary["batch"].min()]["ll_mean"]
    return {"batches": int(summary["batch"].max()), "rules": rules,
            "untrained": _float(first.mean()) if len(first) else float("nan"),
            "mu_M": float(summary["mu_M"].iloc[0]), "mu_Q": float(summary["mu_Q"].iloc[0])}


def rasters_facts(tables) -> dict:
    table = tables["rasters"]
    length = float(table["time_ms"].max()) + 1 if len(table) else 0.0
    counts = table.groupby(["panel", "layer"]).size()

    def rate(panel, layer, n):
        return float(counts.get((panel, layer), 0)) / n / (length * 1e-3) if length else math.nan

    n_visible = int(table.loc[table["layer"] == "visible", "neuron"].max()) + 1
    n_hidden = int(table.loc[table["layer"] == "hidden", "neuron"].max()) + 1
    return {"length_ms": length, "n_visible": n_visible, "n_hidden": n_hidden,
            "data_hz": rate("data", "visible", n_visible),
            "inferred_hz": rate("inferred", "hidden", n_hidden),
            "sleep_visible_hz": rate("sleep", "visible", n_visible),
            "sleep_hidden_hz": rate("sleep", "hidden", n_hidden)}


def sensitivity_facts(tables) -> dict:
    table = tables["sensitivity"]
    rules = []
    for rule, part in table.groupby("rule", sort=False):
        best = part[part["best"]]
        rules.append({"rule": rule, "title": RULE_STYLE.get(rule, (rule,))[0],
                      "n_points": len(part), "n_excluded": int(part["excluded"].sum()),
                      "excluded_fraction": float(part["excluded"].mean()),
                      "best_mu_M": float(best["mu_M"].iloc[0]) if len(best) else float("nan"),
                      "best_mu_Q": float(best["mu_Q"].iloc[0]) if len(best) else float("nan"),
                      "best_ll": float(best["ll_mean"].iloc[0]) if len(best) else float("nan")})
    return {"rules": rules, "batches": int(table["batch"].max()),
            "factors": sorted(float(f) for f in table["mu_M_factor"].unique())}


def maze_free_energy_facts(tables) -> dict:
    probe = tables["probe"]
    means = probe.groupby(["probe", "maze"])["free_energy"].mean().unstack()
    diff = (means.get("control") - means.get("target")) if len(means) else pd.Series(dtype=float)
    times = probe.groupby("probe")["time_s"].first()
    return {"start_difference": _float(diff.iloc[0]) if len(diff) else float("nan"),
            "end_difference": _float(diff.iloc[-1]) if len(diff) else float("nan"),
            "largest_difference": _float(diff.max()) if len(diff) else float("nan"),
            "largest_at_s": float(times[diff.idxmax()]) if len(diff) else float("nan"),
            "n_seeds": int(probe["seed"].nunique()), "n_probes": int(probe["probe"].nunique())}


def maze_novelty_facts(tables) -> dict:
    path = tables["trajectory"]
    novel = path[path["replaced"]]["novelty"]
    familiar = path[~path["replaced"]]["novelty"]
    return {"n_batches": len(path), "n_novel": len(novel),
            "novel_mean": _float(novel.mean()) if len(novel) else float("nan"),
            "familiar_mean": _float(familiar.mean()) if len(familiar) else float("nan"),
            "familiar_sd": _float(familiar.std()) if len(familiar) > 1 else float("nan"),
            "replaced": sorted(int(r) for r in tables["rooms"].loc[tables["rooms"]["replaced"],
                                                                  "room"].unique())}


def novelty_statistics_facts(tables) -> dict:
    summary = tables["summary"].set_index("statistic")
    out = {}
    for name in summary.index:
        row = summary.loc[name]
        out[name] = {"mean": _float(row["mean"]), "low": _float(row["ci_low"]),
                     "high": _float(row["ci_high"]), "n_seeds": int(row["n_seeds"])}
    out["n_diverged"] = int(summary["n_diverged"].iloc[0])
    return out


FACTS = {
    "learning_curves": learning_curves_facts,
    "rasters": rasters_facts,
    "sensitivity": sensitivity_facts,
    "maze_free_energy": maze_free_energy_facts,
    "maze_novelty": maze_novelty_facts,
    "novelty_statistics": novelty_statistics_facts,
}


def facts(function: str, tables: dict[str, pd.DataFrame]) -> dict:
    """The key numbers of the figure drawn by ``function`` from ``tables``, for its caption
    (``synlearn.core.plotting.figure_facts`` over this module's ``FACTS``)."""
    return figure_facts(FACTS, function, tables)
