from pathlib import Path

from snakemake.utils import validate

from synlearn.errors import ConfigError
from synlearn.io import code_hash
from synlearn.studies import resolve_studies

validate(config, "../schemas/config.schema.yaml")

try:
    STUDIES = resolve_studies(config["reservoir"])
except ConfigError as error:
    raise WorkflowError(f"invalid config: {error}") from None

wildcard_constraints:
    study=r"[A-Za-z][A-Za-z0-9_]*",
    variant=r"v\d+",
    network=r"\d+",


RESULTS = "results"
SEED = config["seed"]

# Hashes of the code each compute rule depends on: Snakemake does not see src/ edits.
CODE = {
    "targets": code_hash("data", "seeding.py", "studies.py", "pipeline.py"),
    "reservoir": code_hash("kernels", "experiments", "networks.py", "seeding.py",
                           "studies.py", "pipeline.py", "_jit.py"),
    "stats": code_hash("stats.py", "pipeline.py"),
    "plots": code_hash("plots"),
}

FIGURES = {}  # figure name -> the studies whose tables it reads; filled by figures.smk


def all_figures():
    return [f"{RESULTS}/figures/{name}.{ext}" for name in FIGURES for ext in ("png", "pdf")]


def variant_of(wildcards):
    for variant in STUDIES[wildcards.study]:
        if variant.name == wildcards.variant:
            return variant
    raise WorkflowError(f"no variant {wildcards.variant} in study {wildcards.study}")


def network_tables(wildcards, table="curves"):
    return [
        f"{RESULTS}/reservoir/{wildcards.study}/{v.name}/network{n}/{table}.csv"
        for v in STUDIES[wildcards.study]
        for n in range(v.networks)
    ]


def swept_columns(study):
    variants = STUDIES[study]
    return sorted({key.replace(".", "_") for v in variants for key in v.swept})


def study_table(study, table):
    return f"{RESULTS}/reservoir/{study}/{table}.csv"
