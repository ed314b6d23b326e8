"""Figures of the HSIC experiments (Daruwalla & Lipasti 2024, Figs. 3-6).

Each figure function takes a mapping of tables (the study summaries of
``synlearn.hsic.stats.accuracy_summary`` and the alignment table) and returns a
``matplotlib.figure.Figure`` built without pyplot; the style is that of every family
(``synlearn.core.plotting``). ``facts`` gives each figure's key numbers for its
caption.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..core.plotting import StyledFigure, figure_facts, styled
from .stats import final_accuracy

RULE_STYLE = {"bio": ("bio rule (HSIC)", "tab:red"), "backprop": ("back-prop", "tab:blue")}
TASK_TITLES = {"linear": "Linear", "xor": "XOR", "digits": "Digits (8x8)", "mnist": "MNIST"}
PALETTE = ("tab:red", "tab:orange", "tab:purple", "tab:green", "tab:brown", "tab:gray")


def _title(task: str, dataset: str) -> str:
    return TASK_TITLES.get(task, TASK_TITLES.get(dataset, task))


def _tasks(summary: pd.DataFrame, datasets) -> list[tuple[str, str]]:
    pairs = summary[["task", "dataset"]].drop_duplicates()
    return [(t, d) for t, d in pairs.itertuples(index=False) if d in datasets]


def _accuracy_panels(summary: pd.DataFrame, datasets, what: str) -> Figure:
    """Test (solid) and training (dashed) accuracy against epoch, one panel per task,
    one colour per rule, mean +- sd over models."""
    tasks = _tasks(summary, datasets)
    fig = StyledFigure(figsize=(4.2 * max(len(tasks), 1), 3.4), layout="constrained")
    axes = fig.subplots(1, max(len(tasks), 1), squeeze=False)[0]
    if not tasks:
        axes[0].text(0.5, 0.5, f"no {what} task in this run", ha="center", va="center")
        axes[0].set_axis_off()
        return fig
    for ax, (task, dataset) in zip(axes, tasks):
        part = summary[summary["task"] == task]
        for rule, group in part.groupby("rule", sort=False):
            label, colour = RULE_STYLE.get(rule, (rule, "black"))
            group = group.sort_values("epoch")
            ax.plot(group["epoch"], group["test_mean"], color=colour, label=f"{label}, test")
            ax.fill_between(group["epoch"], group["test_mean"] - group["test_sd"].fillna(0),
                            group["test_mean"] + group["test_sd"].fillna(0), color=colour,
                            alpha=0.2, linewidth=0)
            ax.plot(group["epoch"], group["train_mean"], color=colour, linestyle="--",
                    label=f"{label}, train")
        n_models = int(part["n_models"].max())
        ax.set_title(f"{_title(task, dataset)} ({n_models} models)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy (mean +- sd)")
        ax.set_ylim(0.0, 1.02)
    axes[0].legend(frameon=False, fontsize="small", loc="lower right")
    return fig


@styled
def small_tasks(tables: dict[str, pd.DataFrame]) -> Figure:
    """Linear and XOR: accuracy against epoch, bio rule vs back-prop (Fig. 3 of the paper).

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``summary``: the ``main`` study's ``accuracy_summary``.
    """
    return _accuracy_panels(tables["summary"], ("linear", "xor"), "small")


@styled
def image_task(tables: dict[str, pd.DataFrame]) -> Figure:
    """Digits (and MNIST when configured): accuracy against epoch, bio vs back-prop
    (Fig. 4 of the paper, on MNIST).

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``summary``: the ``main`` study's ``accuracy_summary``.
    """
    return _accuracy_panels(tables["summary"], ("digits", "mnist"), "image")


def _final_bars(final: pd.DataFrame, key: str, ylabel: str = "final test accuracy") -> Figure:
    """Final test accuracy per task (groups) and value of ``key`` (bars), mean +- sd."""
    tasks = list(dict.fromkeys(final["task"]))
    values = list(dict.fromkeys(final[key]))
    width = 3.6 + 0.6 * len(tasks) * max(len(values), 1)
    fig = StyledFigure(figsize=(width, 3.4), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / max(len(values), 1)  # of a bar, in task units
    for index, value in enumerate(values):
        part = final[final[key] == value].set_index("task").reindex(tasks)
        positions = np.arange(len(tasks)) + (index - (len(values) - 1) / 2) * width
        ax.bar(positions, part["test_mean"], width, yerr=part["test_sd"].fillna(0),
               color=PALETTE[index % len(PALETTE)], label=str(value), capsize=2)
    datasets = final.drop_duplicates("task").set_index("task")["dataset"]
    ax.set_xticks(np.arange(len(tasks)), [_title(t, datasets[t]) for t in tasks])
    ax.set_ylabel(ylabel)
    ax.set_ylim(0.0, 1.05)
    # beside the axes: bars of accuracies near 1 leave no free corner inside
    ax.legend(title=key.replace("_", " "), frameon=False, fontsize="small", loc="upper left",
              bbox_to_anchor=(1.0, 1.0))
    return fig


@styled
def networks(tables: dict[str, pd.DataFrame]) -> Figure:
    """Final test accuracy of the rate MLP, the leaky integrators and the spiking network.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``summary``: the ``networks`` study's ``accuracy_summary``.
    """
    return _final_bars(final_accuracy(tables["summary"]), "network")


@styled
def variants(tables: dict[str, pd.DataFrame]) -> Figure:
    """Final test accuracy per xi variant (release, revised, exact gradient).

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``summary``: the ``variants`` study's ``accuracy_summary``.
    """
    return _final_bars(final_accuracy(tables["summary"]), "variant")


@styled
def as_published(tables: dict[str, pd.DataFrame]) -> Figure:
    """Final test accuracy with the inputs as given and divided by 255, as published.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``summary``: the ``as_published`` study's ``accuracy_summary``.
    """
    return _final_bars(final_accuracy(tables["summary"]), "scale_inputs_by_255")


@styled
def window(tables: dict[str, pd.DataFrame]) -> Figure:
    """Final training and test accuracy against the window B (Fig. 6 of the paper).

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``summary``: the ``window`` study's ``accuracy_summary``.
    """
    final = final_accuracy(tables["summary"])
    tasks = list(dict.fromkeys(final["task"]))
    fig = StyledFigure(figsize=(4.2 * len(tasks), 3.4), layout="constrained")
    axes = fig.subplots(1, len(tasks), squeeze=False)[0]
    for ax, task in zip(axes, tasks):
        part = final[final["task"] == task].sort_values("window")
        for column, label, style in (("train", "train", "--"), ("test", "test", "-")):
            ax.errorbar(part["window"], part[f"{column}_mean"], yerr=part[f"{column}_sd"].fillna(0),
                        linestyle=style, marker="o", color="tab:red", label=label, capsize=2)
        ax.set_xscale("log", base=2)
        ax.set_xticks(part["window"], [str(int(b)) for b in part["window"]])
        ax.set_xlabel("window B (samples)")
        ax.set_ylabel("final accuracy (mean +- sd)")
        ax.set_title(_title(task, part["dataset"].iloc[0]))
    axes[0].legend(frameon=False)
    return fig


@styled
def alignment(tables: dict[str, pd.DataFrame]) -> Figure:
    """Cosine of the published xi variants with the exact gradient against the window.

    One panel per network state (untrained, after training), one line per variant and
    layer, mean +- sd over models of each model's mean cosine over its windows.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``alignment``: the concatenated ``alignment_table`` outputs.
    """
    table = tables["alignment"]
    states = list(dict.fromkeys(table["state"]))
    fig = StyledFigure(figsize=(4.2 * len(states), 3.4), layout="constrained")
    axes = fig.subplots(1, len(states), squeeze=False, sharey=True)[0]
    styles = ("-", "--", ":", "-.")
    for ax, state in zip(axes, states):
        part = table[table["state"] == state]
        grouped = part.groupby(["xi_variant", "layer", "window"])["mean_cosine"]
        stats = grouped.agg(["mean", "std"]).reset_index()
        for v_index, (variant, by_variant) in enumerate(stats.groupby("xi_variant", sort=True)):
            for layer, line in by_variant.groupby("layer"):
                ax.errorbar(line["window"], line["mean"], yerr=line["std"].fillna(0),
                            color=PALETTE[v_index], linestyle=styles[int(layer) % len(styles)],
                            marker="o", capsize=2, label=f"{variant}, layer {int(layer) + 1}")
        ax.axhline(0.0, color="black", linewidth=0.5)
        ax.set_xscale("log", base=2)
        windows = sorted(part["window"].unique())
        ax.set_xticks(windows, [str(int(b)) for b in windows])
        ax.set_xlabel("window B (samples)")
        ax.set_title(f"{state} network")
    axes[0].set_ylabel("cosine with the exact gradient")
    axes[0].legend(frameon=False, fontsize="small")
    return fig


MASK_TITLES = {"fixed": "10% mask (ours)", "published": "90% mask (as published)"}
SIGNAL_TITLES = {"window": "window xi (exact window)", "reservoir": "reservoir",
                 "tracking": "reservoir, learning readout", "memoryless": "memoryless LMS"}


@styled
def memory(tables: dict[str, pd.DataFrame]) -> Figure:
    """The working memory on held-out streams: xi against the frozen reservoir's and the
    memoryless control's outputs (one output dimension, the first seed), per mask, and
    the held-out NMSE of every readout (mean +- sd over seeds, log scale).

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``trace`` and ``summary`` of the memory statistics.
    """
    trace, summary = tables["trace"], tables["summary"]
    masks = list(dict.fromkeys(trace["mask"]))
    fig = StyledFigure(figsize=(4.0 * (len(masks) + 1), 3.4), layout="constrained")
    axes = fig.subplots(1, len(masks) + 1, squeeze=False)[0]
    for ax, mask in zip(axes, masks):
        part = trace[(trace["mask"] == mask) & (trace["seed"] == trace["seed"].min())
                     & (trace["output"] == 0)].sort_values("position")
        ax.plot(part["position"], part["target"], color="black", label="target xi")
        ax.plot(part["position"], part["reservoir"], color="tab:red", label="reservoir (frozen)")
        ax.plot(part["position"], part["memoryless"], color="tab:blue", linestyle="--",
                label="memoryless control")
        ax.set_xlabel("held-out sample")
        ax.set_ylabel("xi, output 1")
        ax.set_title(MASK_TITLES.get(mask, mask))
    axes[0].legend(frameon=False, fontsize="small")
    ax = axes[-1]
    test = summary[summary["split"] == "test"]
    bars = _memory_bars(test)
    labels = list(dict.fromkeys(label for label, _, _, _ in bars))
    width = 0.8 / max(len(masks), 1)
    for index, mask in enumerate(masks):
        values = {label: (mean, sd) for label, m, mean, sd in bars if m == mask}
        positions = np.arange(len(labels)) + (index - (len(masks) - 1) / 2) * width
        ax.bar(positions, [values.get(label, (np.nan, 0))[0] for label in labels], width,
               yerr=[values.get(label, (0, 0))[1] for label in labels], capsize=2,
               color=PALETTE[index], label=MASK_TITLES.get(mask, mask))
    ax.axhline(1.0, color="black", linewidth=0.5)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(labels)), labels, rotation=30, ha="right")
    ax.set_ylabel("held-out NMSE (1: the mean xi)")
    ax.legend(frameon=False, fontsize="small")
    return fig


def _memory_bars(test: pd.DataFrame) -> list[tuple[str, str, float, float]]:
    """(label, mask, mean, sd) of each readout's held-out NMSE; ridge at its best penalty."""
    bars = []
    for mask, part in test.groupby("mask", sort=False):
        for readout, features, label in (("lms", "reservoir", "LMS on reservoir"),
                                         ("lms", "input", "LMS on input"),
                                         ("ridge", "reservoir", "best ridge on reservoir"),
                                         ("ridge", "input", "best ridge on input")):
            rows = part[(part["readout"] == readout) & (part["features"] == features)]
            if rows.empty:
                continue
            best = rows.loc[rows["nmse_mean"].idxmin()]
            bars.append((label, mask, float(best["nmse_mean"]),
                         float(0.0 if pd.isna(best["nmse_sd"]) else best["nmse_sd"])))
    return bars


@styled
def closed_loop(tables: dict[str, pd.DataFrame]) -> Figure:
    """Final test accuracy with xi from the window, a reservoir or the memoryless control.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``summary``: the closed loop's ``accuracy_summary`` over task and signal.
    """
    final = final_accuracy(tables["summary"]).assign(dataset=lambda t: t["task"])
    return _final_bars(final.replace({"signal": SIGNAL_TITLES}), "signal")


# ------------------------------------------------------------------ caption facts


def _final_rows(summary: pd.DataFrame, keys) -> list[dict]:
    final = final_accuracy(summary)
    rows = []
    for record in final.to_dict("records"):
        row = {key: record[key] for key in keys}
        row.update(title=_title(record["task"], record["dataset"]), epochs=int(record["epoch"]),
                   n_models=int(record["n_models"]), n_diverged=int(record["n_diverged"]),
                   test_mean=float(record["test_mean"]), test_sd=float(record["test_sd"]),
                   train_mean=float(record["train_mean"]), train_sd=float(record["train_sd"]))
        rows.append(row)
    return rows


def accuracy_facts(tables: dict[str, pd.DataFrame], datasets) -> dict:
    summary = tables["summary"]
    summary = summary[summary["dataset"].isin(datasets)]
    return {"final": _final_rows(summary, ("task", "dataset", "network", "rule"))}


def swept_facts(tables: dict[str, pd.DataFrame], key: str) -> dict:
    return {"final": _final_rows(tables["summary"], ("task", "dataset", "rule", key))}


def alignment_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """Per state, variant, layer and window: mean cosine and positive fraction over models."""
    table = tables["alignment"]
    grouped = table.groupby(["state", "xi_variant", "layer", "window"], sort=True)
    stats = grouped.agg(cosine=("mean_cosine", "mean"),
                        positive=("positive_fraction", "mean"),
                        n_models=("model", "nunique")).reset_index()
    return {"task": str(table["task"].iloc[0]),
            "rows": [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                     for r in stats.to_dict("records")]}


def memory_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """Per mask: held-out NMSE of each readout (ridge at its best penalty), the in-sample
    NMSE of the learning readout and of the readout before each sample, and seeds."""
    summary = tables["summary"]
    masks = []
    for mask, part in summary.groupby("mask", sort=False):
        def value(readout, features, split):
            rows = part[(part["readout"] == readout) & (part["features"] == features)
                        & (part["split"] == split)]
            return float(rows["nmse_mean"].min()) if len(rows) else float("nan")

        ridge = part[(part["readout"] == "ridge") & (part["split"] == "test")
                     & (part["features"] == "reservoir")]
        masks.append({
            "mask": mask, "title": MASK_TITLES.get(mask, mask),
            "n_seeds": int(part["n_seeds"].max()),
            "test_reservoir": value("lms", "reservoir", "test"),
            "test_control": value("lms", "input", "test"),
            "train_tracking": value("lms", "reservoir", "train"),
            "train_before_sample": value("lms_before_sample", "reservoir", "train"),
            "ridge_reservoir": value("ridge", "reservoir", "test"),
            "ridge_input": value("ridge", "input", "test"),
            "best_ridge": float(ridge.loc[ridge["nmse_mean"].idxmin(), "ridge"])
            if len(ridge) else float("nan")})
    return {"masks": masks}


def closed_loop_facts(tables: dict[str, pd.DataFrame]) -> dict:
    """Per task and signal: final test accuracy, and how close the estimates were to xi."""
    final = final_accuracy(tables["summary"])
    rows = []
    for record in final.to_dict("records"):
        rows.append({"task": record["task"], "title": _title(record["task"], record["task"]),
                     "signal": record["signal"],
                     "signal_title": SIGNAL_TITLES.get(record["signal"], record["signal"]),
                     "epochs": int(record["epoch"]), "n_models": int(record["n_models"]),
                     "test_mean": float(record["test_mean"]),
                     "test_sd": float(record["test_sd"]),
                     "estimate_nmse": float(record["estimate_nmse"]),
                     "estimate_cosine": float(record["estimate_cosine"])})
    return {"final": rows}


FACTS = {
    "memory": memory_facts,
    "closed_loop": closed_loop_facts,
    "small_tasks": lambda tables: accuracy_facts(tables, ("linear", "xor")),
    "image_task": lambda tables: accuracy_facts(tables, ("digits", "mnist")),
    "networks": lambda tables: swept_facts(tables, "network"),
    "variants": lambda tables: swept_facts(tables, "variant"),
    "as_published": lambda tables: swept_facts(tables, "scale_inputs_by_255"),
    "window": lambda tables: swept_facts(tables, "window"),
    "alignment": alignment_facts,
}


def facts(function: str, tables: dict[str, pd.DataFrame]) -> dict:
    """The key numbers of the figure drawn by ``function`` from ``tables``, for its caption
    (``synlearn.core.plotting.figure_facts`` over this module's ``FACTS``)."""
    return figure_facts(FACTS, function, tables)
