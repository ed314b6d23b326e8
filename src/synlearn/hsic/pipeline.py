"""The steps of the HSIC workflow (Daruwalla & Lipasti 2024), config to tables.

Each function is what one Snakemake rule does. Every random draw comes from a stream
addressed by the config's seed and the run's identity (``synlearn.core.seeding``):

- the data of a task (the linear task's boundary and points, XOR's corners and noise)
  by its data set, so every study and rule sees the same data;
- a model's initial weights by data set and model index, so the bio rule and
  back-prop start model k from the same weights, in every study;
- the order of the stream by data set (and model index with ``vary_order``): as
  published, the models of a setting see the same order.

The digits split is ``synlearn.core.datasets.digits_train_test`` (fixed, stratified,
1438 / 359); MNIST is its standard 60000 / 10000 split.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..core import seeding
from ..core.datasets import check_mnist_folder, digits_train_test, load_mnist
from . import leaky, memory
from .layers import make_mlp
from .objective import VARIANTS, gaussian_kernel, global_signal, signal_coefficients
from .optim import SGD, AdamW
from .studies import DATASETS, Job
from .tasks import Task, image_task, linear_task, xor_task
from .training import BioRule, History, train_backprop, train_bio

# Purposes of the family's random streams (see synlearn.core.seeding; reservoir 0-3,
# synapse 4).
TASK_STREAM, INIT_STREAM, ORDER_STREAM, ALIGNMENT_STREAM = 5, 6, 7, 8

TRAINING_COLUMNS = ("model", "epoch", "train_accuracy", "test_accuracy", "diverged")


MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte")


def mnist_folder(mnist: dict | None) -> str | None:
    """The folder of the MNIST files of the config's ``hsic.mnist`` section, or None."""
    return None if mnist is None else str(mnist["folder"])


def mnist_files(mnist: dict | None) -> list[str]:
    """The MNIST files a job reads: the downloads' targets, or the files in the folder.

    Without a ``download``, the folder is checked (``check_mnist_folder``), so a
    missing or wrong file stops the workflow at parse time naming the path and the
    expected files.
    """
    if mnist is None:
        return []
    if mnist.get("download") is not None:
        return [os.path.join(mnist["folder"], f"{name}.gz") for name in MNIST_FILES]
    return [str(path) for path in check_mnist_folder(mnist["folder"]).values()]


def data_files(settings: dict, mnist: dict | None) -> list[str]:
    """The files a job on a task's settings reads: the MNIST files for ``dataset: mnist``."""
    return mnist_files(mnist) if settings["dataset"] == "mnist" else []


def make_task(settings: dict, base_seed: int, mnist_folder: str | None = None) -> Task:
    """The train/test data of a task's settings.

    Parameters
    ----------
    settings : dict
        A task's resolved settings (``dataset``, ``scale_inputs_by_255``).
    base_seed : int
    mnist_folder : str, optional
        The folder of the MNIST IDX files, for ``dataset: mnist``.
    """
    dataset = settings["dataset"]
    if dataset in ("linear", "xor"):
        rng = seeding.generator(base_seed, TASK_STREAM, DATASETS.index(dataset))
        make = linear_task if dataset == "linear" else xor_task
        return make(rng, scale_inputs_by_255=bool(settings["scale_inputs_by_255"]))
    if dataset == "digits":
        train, test = digits_train_test()
    elif dataset == "mnist":
        if mnist_folder is None:
            raise ValueError("dataset 'mnist' needs the folder of the MNIST files")
        train, test = load_mnist(mnist_folder)
    else:
        raise ValueError(f"unknown data set {dataset!r}; expected one of {DATASETS}")
    return image_task(train.images, train.labels, test.images, test.labels)


def sizes_of(settings: dict, task: Task) -> tuple[int, ...]:
    """``(d_in, hidden..., classes)`` of a task's network."""
    return (task.train.inputs.shape[1], *(int(h) for h in settings["hidden"]),
            task.train.targets.shape[1])


def bio_rule(settings: dict) -> BioRule:
    return BioRule(settings["variant"], float(settings["gamma"]), float(settings["sigma_x"]),
                   float(settings["sigma_y"]), float(settings["sigma_z"]))


def optimizer_of(name: str, lr: float):
    """AdamW with the paper's settings, or plain SGD (the strictly local option)."""
    return AdamW(float(lr)) if name == "adamw" else SGD(float(lr))


def _streams(job: Job, base_seed: int, model: int):
    dataset = DATASETS.index(job.settings["dataset"])
    init = seeding.generator(base_seed, INIT_STREAM, dataset, model)
    order = seeding.generator(base_seed, ORDER_STREAM, dataset, model if job.vary_order else 0)
    return init, order


def train_model(job: Job, task: Task, base_seed: int, model: int) -> History:
    """Train model ``model`` of a job's setting; return its history.

    A model diverged when a parameter became non-finite (``History.diverged_at``); its
    accuracies from then on are NaN.
    """
    settings = job.settings
    init, order = _streams(job, base_seed, model)
    network = make_mlp(sizes_of(settings, task), init)
    if job.rule == "backprop":
        history = train_backprop(network, AdamW(float(settings["backprop_lr"])), task,
                                 int(settings["backprop_batch_size"]), job.epochs, order)
    else:
        optimizer = optimizer_of(settings["optimizer"], settings["lr"])
        rule, window = bio_rule(settings), int(settings["window"])
        kind = settings["network"]
        if kind == "rate":
            history = train_bio(network, optimizer, task, rule, window, job.epochs, order)
        else:
            train = leaky.train_leaky if kind == "leaky" else leaky.train_spiking
            history = train(network, optimizer, task, rule, window, job.epochs, order)
    return history


def training_table(job: Job, base_seed: int, mnist_folder: str | None = None) -> pd.DataFrame:
    """Accuracy per epoch of every model of one job (a tidy table).

    Returns
    -------
    pandas.DataFrame
        ``TRAINING_COLUMNS``, one row per model and epoch, epoch 0 the untrained
        model. A job is shared by every study that asks for its setting, so its table
        names no study (``labelled_runs`` adds them).
    """
    task = make_task(job.settings, base_seed, mnist_folder)
    parts = []
    for model in range(job.first_model, job.first_model + job.models):
        history = train_model(job, task, base_seed, model)
        epochs = np.arange(job.epochs + 1)
        parts.append(pd.DataFrame({
            "model": model, "epoch": epochs, "train_accuracy": history.train_accuracy,
            "test_accuracy": history.test_accuracy,
            "diverged": (history.diverged_at >= 0) & (epochs >= history.diverged_at)}))
    return pd.concat(parts, ignore_index=True)


def labelled_runs(settings, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One study's job tables, each labelled with its setting's columns.

    Parameters
    ----------
    settings : list of Setting
        The study's settings (``synlearn.hsic.studies.study_settings``).
    tables : dict
        Job digest -> its ``training_table``.
    """
    parts = []
    for setting in settings:
        for job in setting.jobs:
            table = tables[job.digest].copy()
            for index, (key, value) in enumerate(setting.columns().items()):
                table.insert(index, key, value)
            parts.append(table)
    return pd.concat(parts, ignore_index=True)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm > 0.0 else np.nan


def window_alignment(network, task: Task, settings: dict, window: int, starts) -> pd.DataFrame:
    """Cosine of each xi variant with the exact gradient, per hidden layer and window.

    The windows are ``task.train`` rows ``[start, start + window)`` for each start;
    the exact variant is ``d[HSIC(X, Z) - gamma HSIC(Y, Z)] / dz_N`` (see
    ``synlearn.hsic.objective``), so its own cosine is 1 by construction and is
    omitted.
    """
    rows = []
    for start in starts:
        part = slice(int(start), int(start) + window)
        inputs, targets = task.train.inputs[part], task.train.targets[part]
        k_x = gaussian_kernel(inputs, settings["sigma_x"])
        k_y = gaussian_kernel(targets, settings["sigma_y"])
        outputs = network.forward(inputs)[0]
        beta = {v: signal_coefficients(k_x, k_y, settings["gamma"], v) for v in VARIANTS}
        for layer, z in enumerate(outputs[:-1]):
            exact = global_signal(z, beta["exact"], settings["sigma_z"])
            for variant in VARIANTS:
                if variant != "exact":
                    signal = global_signal(z, beta[variant], settings["sigma_z"])
                    rows.append((int(start), layer, variant, _cosine(signal, exact)))
    return pd.DataFrame(rows, columns=["start", "layer", "xi_variant", "cosine"])


def alignment_table(section: dict, window: int, base_seed: int,
                    mnist_folder: str | None = None) -> pd.DataFrame:
    """The alignment of the published xi variants with the exact gradient at one window.

    For each model: windows spread evenly over a reshuffled training stream, through
    the untrained network and again after ``trained_epochs`` epochs of the bio rule
    with the task's own variant. One row per model, state, layer and variant: the mean
    cosine over the windows and the fraction of windows where it is positive.

    Parameters
    ----------
    section : dict
        The ``hsic`` section (``alignment``: task, models, windows_per_model,
        trained_epochs; and the task's settings).
    window : int
        B.
    base_seed : int
    """
    spec = section["alignment"]
    settings = {**section["tasks"][spec["task"]], "window": window}
    task = make_task(settings, base_seed, mnist_folder)
    n = task.train.labels.size
    starts = np.linspace(0, n - window, int(spec["windows_per_model"])).round().astype(int)
    dataset = DATASETS.index(settings["dataset"])
    parts = []
    for model in range(int(spec["models"])):
        network = make_mlp(sizes_of(settings, task),
                           seeding.generator(base_seed, INIT_STREAM, dataset, model))
        stream = seeding.generator(base_seed, ALIGNMENT_STREAM, dataset, window, model)
        for state in ("untrained", "trained"):
            if state == "trained":
                train_bio(network, optimizer_of(settings["optimizer"], settings["lr"]), task,
                          bio_rule(settings), window, int(spec["trained_epochs"]), stream)
            order = stream.permutation(n)
            shuffled = Task(type(task.train)(*(a[order] for a in task.train)), task.test)
            cosines = window_alignment(network, shuffled, settings, window, starts)
            summary = (cosines.groupby(["layer", "xi_variant"], sort=True)["cosine"]
                       .agg(mean_cosine="mean", positive_fraction=lambda c: float((c > 0).mean()))
                       .reset_index())
            summary.insert(0, "state", state)
            summary.insert(0, "model", model)
            parts.append(summary)
    table = pd.concat(parts, ignore_index=True)
    table.insert(0, "window", window)
    table.insert(0, "task", spec["task"])
    return table


def compile_kernels() -> None:
    """Run every HSIC kernel once on a tiny problem so Numba compiles and caches them."""
    rng = np.random.default_rng(0)
    task = linear_task(rng, n_samples=20, n_train=10)
    for variant in VARIANTS:
        train_bio(make_mlp((2, 3, 2), rng), AdamW(1e-3), task,
                  BioRule(variant), 4, 1, rng)
    train_bio(make_mlp((2, 3, 2), rng), SGD(1e-3), task, BioRule(), 4, 1, rng)
    train_backprop(make_mlp((2, 3, 2), rng), AdamW(1e-3), task, 1, 1, rng)
    train_backprop(make_mlp((2, 3, 2), rng), AdamW(1e-3), task, 3, 1, rng)
    for train in (leaky.train_leaky, leaky.train_spiking):
        for optimizer in (AdamW(1e-3), SGD(1e-3)):
            train(make_mlp((2, 3, 2), rng), optimizer, task, BioRule(), 4, 1, rng)
    tiny = memory.ReservoirSettings(n_units=20)
    memory.train_bio_closed_loop(make_mlp((2, 3, 2), rng), AdamW(1e-3), task, BioRule(), 4, 1,
                                 rng, tiny)
    small = memory.MemoryProtocol(epochs=1, n_train=10, n_test=10)
    for mask in (False, True):
        memory.memory_experiment(rng, tiny._replace(published_mask=mask), small)


# ------------------------------------------------------------ the working memory

MEMORY_STREAM, CLOSED_LOOP_STREAM = 9, 10
MASKS = ("fixed", "published")
MEMORY_COLUMNS = ("mask", "seed", "readout", "features", "ridge", "split", "nmse")
SIGNALS = ("window", "reservoir", "tracking", "memoryless")


def memory_settings(spec: dict, mask: str, n_units: int | None = None) -> memory.ReservoirSettings:
    """The reservoir of the ``hsic.memory`` (or ``closed_loop``) section, with a mask."""
    if mask not in MASKS:
        raise ValueError(f"unknown mask {mask!r}; expected one of {MASKS}")
    return memory.ReservoirSettings(
        n_units=int(n_units if n_units is not None else spec["n_units"]),
        published_mask=mask == "published",
        learning_rate=float(spec.get("learning_rate", 5e-4)))


def memory_protocol(spec: dict) -> memory.MemoryProtocol:
    return memory.MemoryProtocol(
        window=int(spec["window"]), gamma=float(spec["gamma"]), sigma=float(spec["sigma"]),
        variant=spec["variant"], epochs=int(spec["epochs"]), n_train=int(spec["n_train"]),
        n_test=int(spec["n_test"]))


def memory_tables(spec: dict, mask: str, seed: int, base_seed: int
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the working memory holds, for one mask and seed (``synlearn.hsic.memory``).

    Returns
    -------
    nmse : DataFrame
        ``MEMORY_COLUMNS``: the frozen LMS readout on held-out streams and in the last
        training epoch (``readout`` ``lms``; ``lms_before_sample`` is the readout as it
        was before each training sample), on the reservoir's state (``features``
        ``reservoir``) or, for the memoryless control, on the current sample's input
        (``input``); and the offline ridge readouts of both for every penalty.
    trace : DataFrame
        The first ``trace_samples`` scored held-out samples (those with a full window):
        per sample (``position`` in the held-out stream) and output dimension,
        ``target`` (xi), ``reservoir`` and ``memoryless`` (outputs averaged over the
        scored steps).
    """
    settings, protocol = memory_settings(spec, mask), memory_protocol(spec)
    key = (base_seed, MEMORY_STREAM, MASKS.index(mask), seed)
    result = memory.memory_experiment(seeding.generator(*key), settings, protocol)
    ridges = [float(r) for r in spec["ridge"]]
    fits = memory.ridge_memory_nmse(seeding.generator(*key), settings, protocol, ridge=ridges)
    rows = [("lms", "reservoir", np.nan, "test", result.test_nmse),
            ("lms", "reservoir", np.nan, "train", result.train_nmse),
            ("lms_before_sample", "reservoir", np.nan, "train", result.train_prequential_nmse),
            ("lms", "input", np.nan, "test", result.control_test_nmse),
            ("lms", "input", np.nan, "train", result.control_train_nmse)]
    for ridge, fit in zip(ridges, fits):
        rows += [("ridge", "reservoir", ridge, "test", fit.reservoir_test_nmse),
                 ("ridge", "reservoir", ridge, "train", fit.reservoir_train_nmse),
                 ("ridge", "input", ridge, "test", fit.input_test_nmse),
                 ("ridge", "input", ridge, "train", fit.input_train_nmse)]
    nmse = pd.DataFrame([(mask, seed, *row) for row in rows], columns=list(MEMORY_COLUMNS))
    shown = np.flatnonzero(result.test_full)[:int(spec["trace_samples"])]
    targets = result.test_targets[shown]
    positions, outputs = np.meshgrid(shown, np.arange(targets.shape[1]), indexing="ij")
    trace = pd.DataFrame({
        "mask": mask, "seed": seed, "position": positions.ravel(), "output": outputs.ravel(),
        "target": targets.ravel(), "reservoir": result.test_estimates[shown].ravel(),
        "memoryless": result.control_test_estimates[shown].ravel()})
    return nmse, trace


def closed_loop_table(section: dict, task_name: str, signal: str, base_seed: int,
                      mnist_folder: str | None = None) -> pd.DataFrame:
    """The bio rule with each hidden layer's xi from an estimator instead of the window.

    ``signal``: ``window`` (the exact window xi of the task's variant, the reference),
    ``reservoir`` (a working memory per hidden layer, its readout before each sample's
    updates: ``memory.ReservoirSignal`` ``prediction``), ``tracking`` (the same
    readout while it learns toward the teacher, an upper bound) or ``memoryless`` (LMS
    on the current sample's input alone). The network is the task's rate MLP (the
    closed loop has no leaky version); model k starts from the same weights and sees
    the same stream order under every signal; the estimators are drawn from their own
    stream.

    Returns
    -------
    DataFrame
        ``task``, ``signal`` and ``TRAINING_COLUMNS``, plus ``estimate_nmse`` and
        ``estimate_cosine`` (over the whole training, of the estimates against the
        window xi; NaN for ``window``).
    """
    if signal not in SIGNALS:
        raise ValueError(f"unknown signal {signal!r}; expected one of {SIGNALS}")
    spec = section["closed_loop"]
    settings = {**section["tasks"][task_name], "network": "rate"}
    task = make_task(settings, base_seed, mnist_folder)
    dataset = DATASETS.index(settings["dataset"])
    reservoir = memory_settings(spec, "fixed", spec["n_units"])
    epochs, window, rule = int(spec["epochs"]), int(settings["window"]), bio_rule(settings)
    parts = []
    for model in range(int(spec["models"])):
        network = make_mlp(sizes_of(settings, task),
                           seeding.generator(base_seed, INIT_STREAM, dataset, model))
        order = seeding.generator(base_seed, ORDER_STREAM, dataset, model)
        optimizer = optimizer_of(settings["optimizer"], settings["lr"])
        quality = (np.nan, np.nan)
        if signal == "window":
            history = train_bio(network, optimizer, task, rule, window, epochs, order)
        else:
            draws = seeding.generator(base_seed, CLOSED_LOOP_STREAM, dataset, model)
            n_classes = task.train.targets.shape[1]
            if signal == "memoryless":
                signals = tuple(memory.MemorylessSignal(network.sizes[0] + n_classes + width,
                                                        width, reservoir)
                                for width in network.sizes[1:-1])
            else:
                estimate = "prediction" if signal == "reservoir" else "tracking"
                signals = memory.reservoir_signals(network, n_classes, draws, reservoir, estimate)
            history = memory.train_bio_closed_loop(network, optimizer, task, rule, window,
                                                   epochs, order, reservoir, signals=signals)
            counts = np.array([s.count for s in signals], dtype=np.float64)
            quality = tuple(float(np.average([getattr(s, name) for s in signals], weights=counts))
                            for name in ("normalised_mse", "mean_cosine"))
        epochs_index = np.arange(epochs + 1)
        parts.append(pd.DataFrame({
            "task": task_name, "signal": signal, "model": model, "epoch": epochs_index,
            "train_accuracy": history.train_accuracy, "test_accuracy": history.test_accuracy,
            "diverged": (history.diverged_at >= 0) & (epochs_index >= history.diverged_at),
            "estimate_nmse": quality[0], "estimate_cosine": quality[1]}))
    return pd.concat(parts, ignore_index=True)
