"""The pipeline's tables: deterministic per seed, whatever the other seeds of a job."""

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from synlearn.core.errors import ConfigError
from synlearn.spiking import pipeline, studies

QUICK = yaml.safe_load((Path(__file__).parents[2] / "config/quick.yaml").read_text())["spiking"]


@pytest.fixture(scope="module")
def section():
    section = copy.deepcopy(QUICK)
    section["stairs"].update(batches=20, checkpoints=2, n_test=1, samples=5)
    section["maze"].update(learn_s=4.0, switch_every_s=2.0, visits=2, probe_every_s=2.0,
                           slow_tau_s=1.0, trajectory_batches=5)
    studies.check_config(section)
    return section


def test_a_seed_gives_the_same_numbers_alone_or_with_others(section):
    point = studies.centre(section)
    both = pipeline.stairs_table(section, "baseline", point._replace(seeds=2), 3)
    alone = pipeline.stairs_table(section, "baseline", point._replace(seeds=1), 3)
    pd.testing.assert_frame_equal(both[both["seed"] == 0], alone)
    assert list(both.columns) == list(pipeline.STAIRS_COLUMNS)
    assert not both["diverged"].any() and len(both) == 2 * 2
    assert not both.loc[both["seed"] == 1, "log_likelihood"].equals(
        alone["log_likelihood"].reset_index(drop=True))


def test_maze_tables_follow_the_protocol(section):
    rooms = pipeline.layout_table(section, 3)
    assert len(rooms) == 2 * 16 * 64
    changed = rooms.pivot_table(index=["room", "pixel"], columns="maze", values="intensity")
    differing = changed[changed["target"] != changed["control"]].index.get_level_values("room")
    assert set(differing) <= set(section["maze"]["replaced_rooms"])
    batches, probe = pipeline.maze_tables(section, rooms, 1, 3)
    again, _ = pipeline.maze_tables(section, rooms, 1, 3)
    pd.testing.assert_frame_equal(batches, again)
    assert list(batches["maze"].unique()) == ["target", "control"]
    assert len(batches) == 20 + 2 * 10
    assert batches.loc[batches["maze"] == "target", "replaced"].sum() == 0
    moves = np.diff(batches["room"].to_numpy())
    rows, cols = np.divmod(batches["room"].to_numpy(), 4)
    steps = np.abs(np.diff(rows)) + np.abs(np.diff(cols))
    assert set(steps[moves != 0]) <= {1}
    assert batches["free_energy"].notna().all()
    np.testing.assert_allclose(batches["novelty"], batches["free_energy"] - batches["baseline"])
    # the probes: every room of both mazes at 0 s and every 2 s
    assert len(probe) == 2 * 16 * (1 + 40 // 10)
    common = probe[~probe["room"].isin(section["maze"]["replaced_rooms"])]
    paired = common.pivot_table(index=["probe", "room"], columns="maze", values="free_energy")
    np.testing.assert_array_equal(paired["target"], paired["control"])


def test_check_config_names_the_key(section):
    bad = copy.deepcopy(section)
    bad["stairs"]["sensitivity"]["factors"] = [0.5, 2.0]
    with pytest.raises(ConfigError, match=r"spiking.stairs.sensitivity.factors: .* must contain 1"):
        studies.check_config(bad)
    bad = copy.deepcopy(section)
    bad["maze"]["trajectory_batches"] = 1000
    with pytest.raises(ConfigError, match="spiking.maze.trajectory_batches"):
        studies.check_config(bad)
    bad = copy.deepcopy(section)
    bad["maze"].update(images="mnist", n_visible=784, mnist_folder="/nonexistent")
    with pytest.raises(ConfigError, match="spiking.maze.mnist_folder: "):
        studies.check_config(bad)
