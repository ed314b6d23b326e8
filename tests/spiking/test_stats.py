"""Statistics on small synthetic tables with known answers, and the figures built from
small real tables."""

import numpy as np
import pandas as pd
import pytest

from synlearn.spiking import plots, stats


def test_auc_known_answers():
    assert stats.auc([3, 4, 5], [True, True, True]) != stats.auc([3, 4, 5], [True, True, True])
    assert stats.auc([1, 2, 3, 4], [False, False, True, True]) == 1.0
    assert stats.auc([1, 2, 3, 4], [True, True, False, False]) == 0.0
    assert stats.auc([1, 1, 1, 1], [True, False, True, False]) == 0.5  # ties count half
    assert stats.auc([1, 3, 2, 4], [False, False, True, True]) == 0.75
    assert stats.auc([np.nan, 3, 2, 4], [True, False, True, True]) == 0.5


def test_mean_interval_is_the_t_interval():
    mean, low, high, n = stats.mean_interval([1.0, 2.0, 3.0, np.nan])
    assert (mean, n) == (2.0, 3)
    assert high - mean == pytest.approx(4.302652729911275 * 1.0 / np.sqrt(3))
    assert low == pytest.approx(2 * mean - high)


def maze_batches(shift=20.0):
    """2 seeds: 10 learning batches, then control (visit 1) and target (visit 2) visits of
    10 batches; F = 100 in familiar rooms, 100 + shift in the replaced room 5."""
    rows = []
    for seed in (0, 1):
        b = 0
        for visit, (phase, name) in enumerate((("learn", "target"), ("alternate", "control"),
                                               ("alternate", "target"))):
            for k in range(10):
                room = 5 if k % 2 else 0
                replaced = name == "control" and room == 5
                f = 100.0 + (shift if replaced else 0.0) + seed
                rows.append({"seed": seed, "batch": b, "time_s": 0.2 * (b + 1), "phase": phase,
                             "visit": visit, "maze": name, "room": room, "replaced": replaced,
                             "free_energy": f, "baseline": 100.0 + seed, "novelty": f - 100 - seed,
                             "slow_target": 100.0, "slow_control": np.nan,
                             "dw_M": 2.0 if replaced else 1.0, "dw_Q": 3.0 if replaced else 1.0,
                             "diverged": False})
                b += 1
    return pd.DataFrame(rows)


def maze_probe():
    rows = []
    for seed in (0, 1):
        for probe, time_s in ((0, 0.0), (1, 2.0), (2, 6.0)):
            for name in ("target", "control"):
                for room in (0, 5):
                    replaced = name == "control" and room == 5
                    rows.append({"seed": seed, "probe": probe, "time_s": time_s, "maze": name,
                                 "room": room, "replaced": replaced,
                                 "free_energy": 50.0 + (8.0 * probe if replaced else 0.0)})
    return stats.probe_end_of_learning(pd.DataFrame(rows), 2.0)


def test_novelty_statistics_known_answers():
    novelty = stats.seed_novelty(maze_batches(), maze_probe())
    assert list(novelty["seed"]) == [0, 1]
    row = novelty.iloc[0]
    assert row["auc"] == 1.0 and row["auc_first_visit"] == 1.0
    assert row["separation"] == pytest.approx(10.0)  # half the control batches +20
    assert row["probe_separation"] == pytest.approx(4.0)  # probe 1 (end of learning): 8 / 2 rooms
    assert row["variance_ratio_M"] == pytest.approx(4.0)  # (2 / 1) ** 2
    assert row["variance_ratio_Q"] == pytest.approx(9.0)
    assert (row["n_novel"], row["n_familiar"]) == (5, 5)  # room 5 in either maze
    assert row["auc_all_rooms"] == 1.0
    summary = stats.novelty_summary(novelty).set_index("statistic")
    assert summary.loc["auc", "mean"] == 1.0 and summary.loc["auc", "n_seeds"] == 2
    assert summary.loc["separation", "ci_low"] == pytest.approx(10.0)  # no spread over seeds
    path = stats.trajectory(maze_batches(), 4)
    assert len(path) == 4 and (path["maze"] == "control").all() and path["replaced"].any()


def stairs_curves():
    rows = []
    for rule, level in (("baseline", -500.0), ("naive", -600.0)):
        for point, (a, b) in {"p0": (1.0, 1.0), "p1": (1.0, 3.0)}.items():
            for seed in (0, 1):
                for batch in (0, 10):
                    diverged = rule == "naive" and point == "p1" and batch == 10
                    ll = np.nan if diverged else level + batch + seed + (5 if point == "p1" else 0)
                    rows.append({"rule": rule, "point": point, "mu_M_factor": a,
                                 "mu_Q_factor": b, "mu_M": 1e-3 * a, "mu_Q": 1e-5 * b,
                                 "seed": seed, "batch": batch, "log_likelihood": ll,
                                 "log_likelihood_se": 0.5, "ess": 3.0,
                                 "train_free_energy": 500.0, "diverged": diverged})
    return pd.DataFrame(rows)


def test_stairs_summary_sensitivity_and_published_comparison():
    summary = stats.stairs_summary(stairs_curves())
    final = summary[summary["batch"] == 10].set_index(["rule", "point"])
    assert final.loc[("baseline", "p0"), "ll_mean"] == pytest.approx(-489.5)
    assert final.loc[("naive", "p1"), "n_diverged"] == 2
    table = stats.sensitivity(summary).set_index(
        ["rule", "point"])
    assert table.loc[("baseline", "p1"), "best"] and not table.loc[("baseline", "p0"), "best"]
    assert table.loc[("naive", "p1"), "excluded"] and table.loc[("naive", "p0"), "best"]
    assert table.loc[("naive", "p0"), "excluded_fraction"] == 0.5
    novelty = stats.seed_novelty(maze_batches(), maze_probe())
    published = stats.published_comparison({
        "sensitivity": table.reset_index(), "novelty_summary": stats.novelty_summary(novelty),
        "probe": maze_probe()})
    assert list(published.columns) == stats.PUBLISHED_COLUMNS
    assert published["ours"].iloc[0] == pytest.approx(100.0)
    assert list(published["holds"]) == ["yes"] * 4  # the seeds agree: a zero-width interval
    assert published["source"].str.contains("Jimenez Rezende & Gerstner 2014").all()


def test_figures_build_from_small_tables_and_have_facts(tmp_path):
    from synlearn.spiking import pipeline
    import yaml
    from pathlib import Path

    section = yaml.safe_load((Path(__file__).parents[2] / "config/quick.yaml").read_text())["spiking"]
    rooms = pipeline.layout_table(section, 0)
    summary = stats.stairs_summary(stairs_curves())
    sensitivity = stats.sensitivity(summary)
    batches, probe = maze_batches(), maze_probe()
    novelty = stats.seed_novelty(batches, probe)
    rasters = pd.DataFrame({"panel": ["data", "inferred", "sleep", "sleep"],
                            "time_ms": [1.0, 2.0, 3.0, 4.0], "neuron": [0, 1, 2, 3],
                            "layer": ["visible", "hidden", "visible", "hidden"],
                            "block": [0.0, 1.0, np.nan, np.nan]})
    calls = {"learning_curves": {"summary": summary}, "rasters": {"rasters": rasters},
             "sensitivity": {"sensitivity": sensitivity},
             "maze_free_energy": {"probe": probe, "batches": batches},
             "maze_novelty": {"trajectory": stats.trajectory(batches, 6), "rooms": rooms},
             "novelty_statistics": {"novelty": novelty,
                                    "summary": stats.novelty_summary(novelty)}}
    for function, tables in calls.items():
        figure = getattr(plots, function)(tables)
        figure.savefig(tmp_path / f"{function}.png", dpi=50)
        assert (tmp_path / f"{function}.png").stat().st_size > 2000
        assert plots.facts(function, tables)
    assert plots.facts("novelty_statistics", calls["novelty_statistics"])["auc"]["mean"] == 1.0
