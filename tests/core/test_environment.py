"""pyproject.toml, environment.yml and the rules' conda env declare the same stack."""

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


def test_environment_yml_has_every_runtime_and_extra_dependency():
    meta = project()
    conda, pip = conda_entries(ROOT / "environment.yml")
    wanted = requirement_names(meta["dependencies"])
    for extra in ("workflow", "test"):
        wanted |= requirement_names(meta["optional-dependencies"][extra])
    pip_names = requirement_names(p for p in pip if not p.startswith("-e"))
    missing = wanted - conda - pip_names
    assert not missing, f"in pyproject.toml but not environment.yml: {sorted(missing)}"
    assert "python>=3.11" in (ROOT / "environment.yml").read_text()
    assert meta["requires-python"] == ">=3.11"
    assert any(p.startswith("-e .[") for p in pip), "environment.yml must install the package"
    assert requirement_names(meta["optional-dependencies"]["slurm"]) - {"snakemake"} <= pip_names


def test_rule_environment_has_the_runtime_dependencies():
    conda, _ = conda_entries(ROOT / "workflow/envs/synlearn.yaml")
    runtime = requirement_names(project()["dependencies"])
    assert runtime | {"python"} == conda


def test_minimum_versions_agree():
    pins = {}
    for req in project()["dependencies"]:
        name, _, version = req.partition(">=")
        pins[name.lower()] = version
    text = (ROOT / "environment.yml").read_text() + (ROOT / "workflow/envs/synlearn.yaml").read_text()
    for name, version in pins.items():
        for found in re.findall(rf"- {re.escape(name)}>=([\d.]+)", text):
            assert found == version, f"{name}: pyproject >= {version}, conda file >= {found}"
