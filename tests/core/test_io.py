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


def test_read_complete_names_the_file_of_a_missing_empty_or_truncated_table(tmp_path):
    from synlearn.core.errors import IncompleteResultError
    from synlearn.core.io import read_all_complete, read_complete

    table = pd.DataFrame({"network": [0, 0, 1], "test_mse": [0.1, 0.2, 0.3]})
    whole = tmp_path / "whole.csv"
    write_table(table, whole)
    pd.testing.assert_frame_equal(read_complete(whole, 3), table)
    (tmp_path / "empty.csv").write_text("")
    text = whole.read_text()
    (tmp_path / "cut.csv").write_text(text[: text.rindex("\n", 0, len(text) - 1) + 4])
    (tmp_path / "short.csv").write_text(text.rsplit("\n", 2)[0] + "\n")
    cases = {"missing.csv": "missing", "empty.csv": "empty", "cut.csv": "truncated",
             "short.csv": "2 rows, expected 3"}
    for name, problem in cases.items():
        with pytest.raises(IncompleteResultError, match=f"{tmp_path / name}: {problem}"):
            read_complete(tmp_path / name, 3)
    with pytest.raises(IncompleteResultError, match="empty.csv: empty"):
        read_all_complete([whole, tmp_path / "empty.csv"], [3, 3])
    assert len(read_all_complete([whole, whole], [3, 3])) == 6


def test_every_table_has_a_provenance_sidecar_with_the_versions(tmp_path):
    import json
    import platform

    import numba
    import numpy

    import synlearn
    from synlearn.core.io import provenance_path

    write_table(pd.DataFrame({"x": [0.1, 1 / 3]}), tmp_path / "curves.csv")
    sidecar = json.loads(provenance_path(tmp_path / "curves.csv").read_text())
    assert sidecar == {"table": "curves.csv", "rows": 2, "python": platform.python_version(),
                       "numpy": numpy.__version__, "numba": numba.__version__,
                       "pandas": pd.__version__, "synlearn": synlearn.__version__}
    assert (tmp_path / "curves.csv").read_text() == "x\n0.1\n0.3333333333333333\n"  # shortest exact
