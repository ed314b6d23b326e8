"""Statistics of the HSIC experiments: accuracy over models, and ours vs published.

A study's runs table (``synlearn.hsic.pipeline.labelled_runs``) has one row per
setting, model and epoch. ``accuracy_summary`` reduces it over models: mean and
standard deviation of the training and test accuracy per setting and epoch, as the
paper's figures show them (30 models, mean and sd). A model whose parameters became
non-finite is a diverged run: from that epoch on its accuracies are NaN, it is counted
(``n_diverged``, per epoch) and left out of that epoch's mean and sd.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SETTING_COLUMNS = ["study", "variant", "task", "rule"]
SUMMARY_MEASURES = ("epoch", "n_models", "n_diverged", "train_mean", "train_sd", "test_mean",
                    "test_sd")
PUBLISHED_COLUMNS = ["quantity", "task", "ours", "published", "ratio_ours_over_published",
                     "statistic", "source", "note"]


def setting_columns(runs: pd.DataFrame) -> list[str]:
    """The columns that identify a setting: study, variant, task, rule and the swept keys."""
    measured = {"model", "epoch", "train_accuracy", "test_accuracy", "diverged"}
    return [c for c in runs.columns if c not in measured]


def accuracy_summary(runs: pd.DataFrame, keys: list[str] | None = None) -> pd.DataFrame:
    """Mean and sd over models of the accuracies, per setting and epoch.

    Parameters
    ----------
    runs : DataFrame
        A study's runs (``labelled_runs``).
    keys : list of str, optional
        The columns that identify a setting (default ``setting_columns(runs)``); any
        other column beyond the measured ones is averaged over the models.

    Returns
    -------
    DataFrame
        The setting columns, ``epoch``, ``n_models``, ``n_diverged``,
        ``train_mean``, ``train_sd``, ``test_mean``, ``test_sd`` (sd with ``ddof=1``;
        NaN for one model).
    """
    keys = setting_columns(runs) if keys is None else list(keys)
    averaged = {column: (column, "mean") for column in setting_columns(runs)
                if column not in keys}
    grouped = runs.groupby(keys + ["epoch"], sort=False, dropna=False)
    summary = grouped.agg(n_models=("model", "nunique"), n_diverged=("diverged", "sum"),
                          train_mean=("train_accuracy", "mean"),
                          train_sd=("train_accuracy", "std"),
                          test_mean=("test_accuracy", "mean"),
                          test_sd=("test_accuracy", "std"), **averaged).reset_index()
    summary["n_diverged"] = summary["n_diverged"].astype(int)
    return summary


def final_accuracy(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``accuracy_summary`` at each setting's last epoch."""
    keys = [c for c in summary.columns if c not in SUMMARY_MEASURES]
    last = summary.groupby(keys, sort=False, dropna=False)["epoch"].transform("max")
    return summary[summary["epoch"] == last].reset_index(drop=True)


def published_values() -> dict:
    """The published headline values of this family (``published.yaml``, with sources)."""
    from importlib.resources import files

    import yaml

    return yaml.safe_load((files(__package__) / "published.yaml").read_text())


def published_comparison(tables: dict[str, pd.DataFrame], published: dict | None = None
                         ) -> pd.DataFrame:
    """This run's final test accuracies beside the published ones (Daruwalla & Lipasti 2024).

    From the ``main`` study's summary: the bio rule's final test accuracy on the
    linear and XOR tasks, and the bio rule's and back-prop's on the image task. The
    published image values are MNIST's; with the default config the image task is the
    8x8 digits, which ``note`` says.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``summary``: the ``main`` study's ``accuracy_summary``, with a ``dataset`` column.
    published : dict, optional
        Default ``published_values()``.

    Returns
    -------
    DataFrame
        Columns ``PUBLISHED_COLUMNS``.
    """
    published = published_values() if published is None else published
    final = final_accuracy(tables["summary"])
    source = f"{published['paper']}; {published['source']}"
    rows = []

    def add(quantity, dataset, rule, value, image=False):
        mine = final[(final["dataset"] == dataset) & (final["rule"] == rule)]
        if image and mine.empty:
            mine = final[(final["dataset"] == "digits") & (final["rule"] == rule)]
        if mine.empty:
            ours, note, statistic = np.nan, f"n/a: this run has no {dataset} {rule} setting", ""
        else:
            row = mine.iloc[0]
            ours = float(row["test_mean"])
            statistic = (f"test accuracy after {int(row['epoch'])} epochs, mean over "
                         f"{int(row['n_models'])} models")
            note = ("ours on the 8x8 digits (64 inputs), published on MNIST"
                    if row["dataset"] != dataset else "")
        rows.append((quantity, dataset, ours, float(value), ours / float(value), statistic,
                     source, note))

    tasks = published["tasks"]
    add("bio rule test accuracy", "linear", "bio", tasks["linear"]["bio_hsic_test_accuracy"])
    add("bio rule test accuracy", "xor", "bio", tasks["xor"]["bio_hsic_test_accuracy"])
    add("bio rule test accuracy", "mnist", "bio", tasks["mnist"]["bio_hsic_test_accuracy"], True)
    add("back-prop test accuracy", "mnist", "backprop",
        tasks["mnist"]["backprop_test_accuracy"], True)
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)


def memory_summary(nmse: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd and count over seeds of each readout's NMSE, per mask, split and ridge.

    Parameters
    ----------
    nmse : DataFrame
        Every seed's ``synlearn.hsic.pipeline.memory_tables`` NMSE table.

    Returns
    -------
    DataFrame
        ``mask``, ``readout``, ``features``, ``ridge``, ``split``, ``n_seeds``,
        ``nmse_mean``, ``nmse_sd``.
    """
    keys = ["mask", "readout", "features", "ridge", "split"]
    return (nmse.groupby(keys, sort=False, dropna=False)["nmse"]
            .agg(n_seeds="count", nmse_mean="mean", nmse_sd="std").reset_index())
