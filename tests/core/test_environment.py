"""pyproject.toml, constraints.txt, environment.yml and the rules' conda env agree."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def requirement_names(requirements):
    return {re.split(r"[<>=!~ \[;]", req, maxsplit=1)[0].strip().lower() for req in requirements}


def conda_entries(path):
    spec = yaml.safe_load(path.read_text())
    conda = {re.split(r"[<>=! ]", d, maxsplit=1)[0].lower() for d in spec["dependencies"] if isinstance(d, str)}
    pip = [entry for d in spec["dependencies"] if isinstance(d, dict) for entry in d.get("pip", [])]
    return conda, pip


def project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def constraints():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt pins exact versions, got {line!r}"
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_environment_yml_has_every_runtime_and_extra_dependency():
    meta = project()
    conda, pip = conda_entries(ROOT / "environment.yml")
    wanted = requirement_names(meta["dependencies"])
    for extra in ("workflow", "test", "slurm"):
        wanted |= requirement_names(meta["optional-dependencies"][extra])
    pip_names = requirement_names(p for p in pip if not p.startswith("-e"))
    missing = wanted - conda - pip_names
    assert not missing, f"in pyproject.toml but not environment.yml: {sorted(missing)}"
    assert "python>=3.11" in (ROOT / "environment.yml").read_text()
    assert meta["requires-python"] == ">=3.11"
    assert any(p.startswith("-e .[") for p in pip), "environment.yml must install the package"
    # Snakemake's own install instructions: conda-forge, then bioconda
    channels = yaml.safe_load((ROOT / "environment.yml").read_text())["channels"]
    assert channels[:2] == ["conda-forge", "bioconda"]


def test_constraints_pin_every_dependency_within_its_range():
    meta = project()
    pins = constraints()
    wanted = list(meta["dependencies"]) + [r for extra in ("workflow", "test", "slurm")
                                           for r in meta["optional-dependencies"][extra]]
    for requirement in wanted:
        name, _, minimum = requirement.partition(">=")
        name = name.strip().lower()
        assert name in pins, f"{name} is not pinned in constraints.txt"
        found = tuple(int(p) for p in re.findall(r"\d+", pins[name])[:3])
        needed = tuple(int(p) for p in re.findall(r"\d+", minimum)[:3])
        assert found >= needed, f"{name}: pinned {pins[name]} below the minimum {minimum}"
    assert "synlearn" not in pins


def test_rule_environment_pins_the_runtime_dependencies_as_constraints_does():
    spec = yaml.safe_load((ROOT / "workflow/envs/synlearn.yaml").read_text())
    conda = dict(entry.split("=", 1) for entry in spec["dependencies"])
    runtime = requirement_names(project()["dependencies"])
    assert set(conda) == runtime | {"python"}
    pins = constraints()
    for name in runtime:
        assert conda[name] == pins[name], f"{name}: rule env {conda[name]}, constraints {pins[name]}"
    assert spec["channels"][:2] == ["conda-forge", "bioconda"]


def test_the_ci_and_the_readme_install_the_constrained_versions():
    run = (ROOT / ".ci/run").read_text()
    assert "-c constraints.txt" in run


def test_license_citation_and_authors():
    meta = project()
    assert meta["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert meta["authors"] and all(author.get("name") for author in meta["authors"])
    assert meta["urls"]
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["license"] == "MIT"
    assert citation["version"] == meta["version"] and citation["authors"]
    assert {ref["doi"] for ref in citation["references"]} == {
        url.removeprefix("https://doi.org/") for url in meta["urls"].values()}
