"""The benchmarks cannot rot: each case file runs on a tiny problem and prints its floors.

The case files are scripts (``python benchmarks/<family>.py``), so they run in a
subprocess, as a user runs them; the shared harness is also checked in-process.
"""

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"


def run_case(name: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(BENCHMARKS / name), *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (f"{name} {' '.join(args)} exited {result.returncode}:\n"
                                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def row(output: str, label: str) -> list[str]:
    """The cells after the label of every table line that starts with ``label``."""
    lines = [line.strip() for line in output.splitlines() if line.strip().startswith(label)]
    assert lines, f"no row {label!r} in:\n{output}"
    return [re.split(r"\s{2,}", line)[1:] for line in lines]


@pytest.fixture(scope="module")
def harness():
    spec = importlib.util.spec_from_file_location("harness", BENCHMARKS / "harness.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["harness"] = module  # dataclasses resolve annotations through sys.modules
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("harness", None)


def test_harness_imports_no_family():
    tree = ast.parse((BENCHMARKS / "harness.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert not {name for name in imported if name.split(".")[0] == "synlearn"}


def test_harness_medians_and_ratios_come_from_the_same_rounds(harness):
    calls = []

    def prepare(key):
        def prepare_n(n):
            return lambda: calls.append((key, n))
        return prepare_n

    cases = [harness.Case("a", prepare("a")), harness.Case("b", prepare("b"), per_unit=2.0)]
    results = harness.measure(cases, seconds=1e-4, rounds=5, seed=0)
    assert all(len(case.samples) == 5 for case in cases)
    assert results["a"] > 0 and results["b"] > 0 and results.spread("a") >= 0
    # Every round times every case once, in a shuffled order.
    timed = [key for key, n in calls[-10:]]
    assert sorted(timed) == ["a"] * 5 + ["b"] * 5
    text = harness.floor_table(
        [harness.Row("the floor", 2e-6), harness.Row("a kernel", 3e-6, target=("F", 1.5))],
        {"F": 2e-6})
    assert row(text, "the floor")[0][:3] == ["2", "-", "1.00"]
    assert row(text, "a kernel")[0] == ["3", "-", "1.50", "x F <= 1.5: met"]


def test_reservoir_case_prints_its_floors():
    out = run_case("reservoir.py", "--quick", "--sizes", "64", "--batches", "1", "16",
                   "--rounds", "2", "--seconds", "0.005")
    floor = row(out, "floor F = the faster")[0]
    assert floor[0] != "-" and floor[2] == "1.00"  # us, spread, x F
    assert row(out, "kernels.recurrent_input, batch 1")
    if importlib.util.find_spec("scipy") is not None:
        assert row(out, "SciPy CSR J @ r")
    assert row(out, "dense J @ r (NumPy BLAS gemv")
    assert row(out, "floor R: P @ s")[0][2] == "1.00"
    for label in ("delta run, per step", "bayes run, per step", "kernels.rls_update alone",
                  "of which tanh alone (kernels.tanh)", "math.tanh instead",
                  "whole step (run_trials"):
        assert row(out, label)
    assert "== N = 64: batches" in out and "== projected CPU time of config.yaml" in out
    assert re.search(r"total: \d+\.\d\d CPU h", out)


def test_synapse_case_prints_its_floors():
    out = run_case("synapse.py", "--quick", "--rounds", "2", "--seconds", "0.02")
    for feedback in ("linear", "cerebellar", "rl"):
        assert f"== {feedback}:" in out
    assert all(cells[2] == "1.00" for cells in row(out, "floor W:"))  # ms, spread, x W
    assert all(cells[3] == "1.00" for cells in row(out, "floor Wd:"))
    assert len(row(out, "event-driven kernel")) == 3 and len(row(out, "dense twin, 32")) == 3
    assert re.search(r"projected default .* \d+ CPU s", out)


def test_hsic_case_prints_its_floors_and_peers():
    out = run_case("hsic.py", "--quick", "--tasks", "digits", "--rounds", "2",
                   "--seconds", "0.005")
    assert "== digits 64-128-64-10: bio rule, window B = 8" in out

    def positive(cell):
        return 0 < float(cell) < float("inf")

    floor = row(out, "floor F = the faster")[0]
    assert positive(floor[0]) and floor[2] == "1.00"  # us/step, spread, x F
    assert row(out, "floor Fb: forward and backward")[0][2] == "1.00"
    for label in ("bio step: bio_window_step", "F1: products", "F2: products",
                  "of which window kernels (Numba", "back-prop step: backprop_gradients"):
        assert positive(row(out, label)[0][0]), label
    share = re.search(r"window-kernel share of the bio step, digits 64-128-64-10: (\d+)%", out)
    assert share and 0 < int(share.group(1)) < 100
    bio, backprop = row(out, "digits 64-128-64-10")  # the samples/s table
    assert bio[0] == "bio, B = 8" and backprop[0] == "back-prop, 6"
    assert all(positive(cells[1]) and positive(cells[2]) for cells in (bio, backprop))
    if importlib.util.find_spec("torch") is not None:
        assert positive(row(out, "PyTorch peer P: the bio step")[0][0])
        assert positive(row(out, "PyTorch peer Pb:")[0][0])
        assert re.search(r"gradients against the package's .*: bio \S+, back-prop \S+", out)
    else:
        assert "PyTorch peer rows skipped" in out
    assert re.search(r"= \d+ window steps x \d+ us = \d+ CPU s", out)


def test_readouts_case_prints_the_library_against_the_pipeline_kernels():
    out = run_case("readouts.py", "--quick", "--sizes", "60", "--batches", "1")
    for rule in ("delta", "bayes", "rls"):
        (cells,) = row(out, f"{rule} N=60 B=1")
        step, block = float(cells[2]), float(cells[4].split()[0])
        assert 0 < step < float("inf") and 0 < block < float("inf")
        assert float(cells[3]) == pytest.approx(step / float(cells[0].split()[0]), rel=0.02)


def test_spiking_case_prints_its_floors():
    out = run_case("spiking.py", "--quick", "--hidden", "10", "--samples", "20")
    events = row(out, "floor E = event-driven input")[0]
    assert events[2] == "1.00"  # ns, spread, x E, x F
    dense = row(out, "floor F = the faster dense phi @ W")[0]
    assert dense[3] == "1.00" and float(dense[2]) > 1.0  # the sparse input beats the dense one
    for label in ("wake simulation: run_wake, K = 1", "sleep simulation: run_sleep",
                  "simulation + learning: train_batches", "run_wake with K = 20 in one call"):
        assert 0 < float(row(out, label)[0][0]) < float("inf"), label
    assert re.search(r"batching gain \d+\.\d\dx", out)


def test_hsic_conv_case_prints_its_floors():
    out = run_case("hsic_conv.py", "--quick", "--widths", "4,8")
    assert "== CNN 3-4-8-10, 32x32x3" in out
    assert row(out, "floor F (its products)")[0][2] == "1.00"  # ms, spread, x F, x Fb
    assert row(out, "floor Fb (its products)")[0][3] == "1.00"
    for label in ("bio step (B = 8)", "back-prop step (16)"):
        assert 0 < float(row(out, label)[0][0]) < float("inf"), label
    assert re.search(r"projection 4-8 bio: .* 50 epochs \d+\.\d CPU h per model", out)
