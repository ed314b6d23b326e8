import pandas as pd
import pytest

from synlearn.core.io import atomic_path, code_hash, read_table, read_tables, write_table


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_tables_round_trip_at_full_precision(tmp_path):
    table = pd.DataFrame({"x": [0.1 + 0.2, 1 / 3], "flag": [True, False]})
    write_table(table, tmp_path / "a.csv")
    pd.testing.assert_frame_equal(read_table(tmp_path / "a.csv"), table)
    write_table(pd.DataFrame(), tmp_path / "empty.csv")
    assert read_table(tmp_path / "empty.csv").empty
    both = read_tables([tmp_path / "a.csv", tmp_path / "empty.csv", tmp_path / "a.csv"])
    assert len(both) == 4


def test_code_hash_depends_on_the_named_code():
    assert code_hash("reservoir") == code_hash("reservoir")
    assert code_hash("reservoir") != code_hash("reservoir/stats.py")
    assert len(code_hash("reservoir", "core/io.py")) == 12
    assert code_hash("synlearn.reservoir.pipeline") != code_hash("synlearn.synapse.pipeline")
