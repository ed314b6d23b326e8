"""The ``hsic`` config section resolved into training jobs.

The section names its tasks once, each with the paper's settings (data set, hidden
widths, network kind, window, gamma, kernel widths, xi variant, optimiser), and its
studies: which tasks and rules a study trains, how many models, overrides of the task
settings (``set``) and a grid of settings to sweep (``sweep``). A point of a study's
sweep is a variant (``v0``, ``v1``, ...). A job trains ``models_per_job`` models of one
(study, variant, task, rule); the models of a setting differ in their initialisation
and, with ``vary_order``, in the order of the stream.

Every value is checked wherever it is written (a task, a study's ``set``, one point of
a sweep), against the schema of the key (``workflow/schemas/hsic.schema.yaml``), and
errors name the key as the user wrote it.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

from ..core.config import check_value
from ..core.errors import ConfigError
from .tasks import N_TRAIN

RULES = ("bio", "backprop")
DATASETS = ("linear", "xor", "digits", "mnist")
IMAGE_DATASETS = ("digits", "mnist")
# The task settings a study may override or sweep (every key of a task).
TASK_KEYS = ("dataset", "hidden", "network", "window", "gamma", "sigma_x", "sigma_y",
             "sigma_z", "variant", "optimizer", "lr", "scale_inputs_by_255",
             "backprop_lr", "backprop_batch_size")
BACKPROP_KEYS = ("dataset", "hidden", "scale_inputs_by_255", "backprop_lr",
                 "backprop_batch_size")


@dataclass(frozen=True)
class Job:
    """One training job: ``models`` models of one setting trained by one rule.

    A job is named by what it computes, not by the study that asks for it: two studies
    that ask for the same setting (the paper's default, say, as the main result and as
    one point of a sweep) share its jobs, which run once.

    Attributes
    ----------
    rule : {"bio", "backprop"}
    settings : dict
        The task's resolved settings (``TASK_KEYS``).
    epochs : int
    vary_order : bool
        Whether each model sees its own order of the stream.
    part, first_model, models : int
        Which slice of the setting's models (``first_model`` to
        ``first_model + models - 1``); the slices are ``models_per_job`` wide.
    """

    rule: str
    settings: dict
    epochs: int
    vary_order: bool
    part: int
    first_model: int
    models: int

    @property
    def digest(self) -> str:
        """12 hex digits of a hash of everything the job's numbers depend on."""
        identity = {"rule": self.rule, "settings": self.settings, "epochs": self.epochs,
                    "vary_order": self.vary_order, "first_model": self.first_model,
                    "models": self.models}
        text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def path(self) -> str:
        """The job's table below the results folder."""
        return f"hsic/runs/{self.digest}.csv"

    @property
    def rows(self) -> int:
        """Rows of the job's table: one per model and epoch (0 = untrained)."""
        return self.models * (self.epochs + 1)


@dataclass(frozen=True)
class Setting:
    """What a study trains at one sweep point for one task and rule: its jobs.

    Attributes
    ----------
    study, variant, task, rule : str
    swept : dict
        The swept keys and this variant's values.
    jobs : tuple of Job
    """

    study: str
    variant: str
    task: str
    rule: str
    swept: dict
    jobs: tuple

    def columns(self) -> dict[str, Any]:
        """Columns that identify the setting in tidy tables."""
        first = self.jobs[0].settings
        return {"study": self.study, "variant": self.variant, "task": self.task,
                "dataset": first["dataset"], "network": first["network"], "rule": self.rule,
                **self.swept}


def backprop_settings(settings: dict) -> dict:
    """What back-prop's numbers depend on: the data, the architecture (a rate MLP) and its
    own optimiser settings, so that settings differing only in the bio rule's keys share
    one back-prop job."""
    return {**{key: settings[key] for key in BACKPROP_KEYS}, "network": "rate"}


def _schema_of(schema: dict | None, key: str) -> dict | None:
    if schema is None:
        return None
    return schema["$defs"]["task"]["properties"][key]


def _check_task_value(key: str, value, schema: dict | None, where: str) -> None:
    if key not in TASK_KEYS:
        raise ConfigError(f"{where}: unknown task setting {key!r}; settings: "
                          f"{', '.join(TASK_KEYS)}")
    if schema is not None:
        check_value(value, _schema_of(schema, key), schema, where)


def _check_settings(settings: dict, where: str, mnist_configured: bool) -> None:
    """Cross-field rules of one task's resolved settings; ``where`` names their origin."""
    if settings["dataset"] == "mnist" and not mnist_configured:
        raise ConfigError(f"{where}.dataset: 'mnist' needs the hsic.mnist section (a folder "
                          f"of IDX files or a download); without it, use 'digits'")
    if settings["network"] != "rate" and settings["dataset"] in IMAGE_DATASETS:
        raise ConfigError(f"{where}.network: the {settings['network']} network is for the "
                          f"small tasks (linear, xor); image tasks use 'rate', as published")
    if settings["scale_inputs_by_255"] and settings["dataset"] in IMAGE_DATASETS:
        raise ConfigError(f"{where}.scale_inputs_by_255: only the small tasks (linear, xor) "
                          f"have this flag; image inputs are mapped to [-1, 1]")


@functools.lru_cache(maxsize=None)
def _digits_sizes() -> tuple[int, int]:
    """Training and test images of the digits split (``core.datasets.digits_train_test``)."""
    from ..core.datasets import digits_train_test

    train, test = digits_train_test()
    return train.labels.size, test.labels.size


def _train_size(dataset: str) -> int | None:
    """Training samples of the built-in data sets (None: MNIST, not known at parse time)."""
    if dataset == "digits":
        return _digits_sizes()[0]
    return N_TRAIN if dataset in ("linear", "xor") else None


def resolve_settings(section: dict, schema: dict | None = None) -> list[Setting]:
    """Every setting of every study of the ``hsic`` section, in config order.

    Parameters
    ----------
    section : dict
        The ``hsic`` section of the config.
    schema : dict, optional
        The family's schema; with it, every study override and swept value is checked
        against the schema of its key.

    Returns
    -------
    list of Setting

    Raises
    ------
    ConfigError
        Naming the key as the user wrote it, e.g.
        ``hsic.studies.window.sweep["window"][0]: 1 is less than the minimum of 2``.
    """
    tasks = section["tasks"]
    mnist_configured = section.get("mnist") is not None
    per_job = int(section["models_per_job"])
    resolved = []
    for study, spec in section["studies"].items():
        where = f"hsic.studies.{study}"
        unknown = [t for t in spec["tasks"] if t not in tasks]
        if unknown:
            raise ConfigError(f"{where}.tasks: unknown task {unknown[0]!r}; tasks: "
                              f"{', '.join(tasks)}")
        overrides = dict(spec.get("set") or {})
        for key, value in overrides.items():
            _check_task_value(key, value, schema, f"{where}.set.{key}")
        sweep = dict(spec.get("sweep") or {})
        for key, values in sweep.items():
            if key not in TASK_KEYS:
                raise ConfigError(f'{where}.sweep["{key}"]: {key!r} cannot be swept; '
                                  f'sweepable: {", ".join(TASK_KEYS)}')
            if not isinstance(values, list) or not values:
                raise ConfigError(f'{where}.sweep["{key}"]: a sweep is a non-empty list of '
                                  f'values, got {values!r}')
            for index, value in enumerate(values):
                _check_task_value(key, value, schema, f'{where}.sweep["{key}"][{index}]')
        models = int(spec.get("models", section["models"]))
        epochs = int(spec.get("epochs", section["epochs"]))
        keys = list(sweep)
        for index, point in enumerate(itertools.product(*(sweep[k] for k in keys))):
            swept = dict(zip(keys, point))
            for task in spec["tasks"]:
                settings = {**copy.deepcopy(tasks[task]), **overrides, **swept}
                origin = (f"{where} (task {task!r}"
                          + (f", sweep point {index}" if keys else "") + ")")
                _check_settings(settings, origin, mnist_configured)
                n_train = _train_size(settings["dataset"])
                if n_train is not None and settings["window"] > n_train:
                    raise ConfigError(f"{origin}.window: {settings['window']} exceeds the "
                                      f"{n_train} training samples")
                for rule in spec["rules"]:
                    used = settings if rule == "bio" else backprop_settings(settings)
                    jobs = tuple(
                        Job(rule, used, epochs, bool(section["vary_order"]), part,
                            part * per_job, min(per_job, models - part * per_job))
                        for part in range(math.ceil(models / per_job)))
                    resolved.append(Setting(study, f"v{index}", task, rule, swept, jobs))
    return resolved


def unique_jobs(settings: list[Setting]) -> dict[str, Job]:
    """Every distinct job of ``settings`` by its digest, in first-use order."""
    return {job.digest: job for setting in settings for job in setting.jobs}


def study_settings(settings: list[Setting], study: str) -> list[Setting]:
    """The settings of one study, in ``resolve_settings`` order."""
    return [setting for setting in settings if setting.study == study]


def studies(settings: list[Setting]) -> list[str]:
    """The studies, in config order."""
    return list(dict.fromkeys(setting.study for setting in settings))


def swept_columns(settings: list[Setting], study: str) -> list[str]:
    """The table columns of the settings a study sweeps."""
    return sorted({key for setting in study_settings(settings, study) for key in setting.swept})


def check_config(section: dict, schema: dict) -> None:
    """Check the ``hsic`` section whole, before any job.

    Every study's settings (``resolve_settings``), the alignment study's task and windows, and
    the MNIST folder: without a ``download``, the four IDX files must be there now, of
    the right sizes (``synlearn.core.datasets.check_mnist_folder``), so a wrong path
    stops the run at parse time with the path and the expected files.

    Raises
    ------
    ConfigError
    """
    resolved = resolve_settings(section, schema)
    alignment = section["alignment"]
    task = alignment["task"]
    if task not in section["tasks"]:
        raise ConfigError(f"hsic.alignment.task: unknown task {task!r}; tasks: "
                          f"{', '.join(section['tasks'])}")
    settings = section["tasks"][task]
    _check_settings(settings, f"hsic.tasks.{task}", section.get("mnist") is not None)
    if settings["network"] != "rate":
        raise ConfigError(f"hsic.alignment.task: the alignment is measured on a rate MLP; "
                          f"task {task!r} has network {settings['network']!r}")
    n_train = _train_size(settings["dataset"])
    for index, window in enumerate(alignment["windows"]):
        if n_train is not None and window > n_train:
            raise ConfigError(f"hsic.alignment.windows[{index}]: {window} exceeds the "
                              f"{n_train} training samples of task {task!r}")
    memory = section["memory"]
    if memory["window"] > min(memory["n_train"], memory["n_test"]):
        raise ConfigError(f"hsic.memory.window: a window of {memory['window']} needs at least "
                          f"as many training and held-out images (n_train "
                          f"{memory['n_train']}, n_test {memory['n_test']})")
    available = _digits_sizes()[1]
    if memory["n_train"] + memory["n_test"] > available:
        raise ConfigError(f"hsic.memory: n_train + n_test = "
                          f"{memory['n_train'] + memory['n_test']} exceeds the {available} test "
                          f"images of the digits split the reservoir reads")
    closed = section["closed_loop"]
    for index, name in enumerate(closed["tasks"]):
        if name not in section["tasks"]:
            raise ConfigError(f"hsic.closed_loop.tasks[{index}]: unknown task {name!r}; "
                              f"tasks: {', '.join(section['tasks'])}")
        _check_settings({**section["tasks"][name], "network": "rate"},
                        f"hsic.tasks.{name}", section.get("mnist") is not None)
    mnist = section.get("mnist")
    uses_mnist = any(job.settings["dataset"] == "mnist" for setting in resolved
                     for job in setting.jobs) or settings["dataset"] == "mnist" or \
        any(section["tasks"][name]["dataset"] == "mnist" for name in closed["tasks"])
    if mnist is not None and mnist.get("download") is None and uses_mnist:
        from ..core.datasets import check_mnist_folder

        try:
            check_mnist_folder(mnist["folder"])
        except ConfigError as error:
            raise ConfigError(f"hsic.mnist.folder: {error}") from None
