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


def closure(*modules):
    from synlearn.core.io import PACKAGE_ROOT, _module_closure

    return {path.relative_to(PACKAGE_ROOT).as_posix() if path.is_relative_to(PACKAGE_ROOT)
            else path.name for path in _module_closure(modules)}


def test_code_hash_follows_the_imports_of_the_entry_module():
    training = closure("synlearn.reservoir.pipeline")
    # studies.py shapes every run; it was once missing from a hand-kept list
    assert {"reservoir/pipeline.py", "reservoir/studies.py", "reservoir/protocol.py",
            "reservoir/kernels.py", "reservoir/network.py", "core/jit.py",
            "reservoir/__init__.py"} <= training
    assert "reservoir/plots.py" not in training and "reservoir/stats.py" not in training
    assert not any(name.startswith("synapse/") for name in training)
    assert "__init__.py" not in training  # the family list: adding a family reruns nothing


def test_code_hash_of_a_script_covers_what_it_imports():
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "workflow/scripts/reservoir_train.py"
    files = closure(str(script))
    assert {"reservoir_train.py", "core/io.py", "reservoir/pipeline.py",
            "reservoir/kernels.py"} <= files
    assert code_hash(str(script)) != code_hash("synlearn.reservoir.pipeline")


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_outputs_get_the_permissions_of_a_plain_write(tmp_path, umask, mode):
    import os
    import stat

    previous = os.umask(umask)
    try:
        write_table(pd.DataFrame({"x": [1]}), tmp_path / "table.csv")
        (tmp_path / "plain.csv").write_text("x\n1\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "table.csv").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "plain.csv").stat().st_mode) == mode
