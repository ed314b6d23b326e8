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


RESULTS = "results"
SEED = config["seed"]

# Hashes of the code behind each step (Snakemake does not see src/ edits).
CODE = {
    "targets": code_hash("data/targets.py", "seeding.py", "pipeline.py"),
    "reservoir": code_hash(
        "kernels/reservoir.py",
        "experiments/reservoir.py",
        "networks.py",
        "seeding.py",
        "pipeline.py",
        "_jit.py",
    ),
    "stats": code_hash("stats.py", "pipeline.py"),
    "plots": code_hash("plots/reservoir.py"),
}

FIGURES = {}  # figure name -> the studies whose tables it reads; filled by figures.smk


def all_figures():
    return [
        f"{RESULTS}/figures/{name}.{ext}" for name in FIGURES for ext in ("png", "pdf")
    ]


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


# Each figure: the tables it reads, by study. A figure whose studies are not in the
# config is not built (a user may drop a study to save time).
FIGURE_TABLES = {
    "reservoir_example": {"main": ["traces", "best"], "sines": ["traces", "best"]},
    "reservoir_learning_curves": {
        "main": ["summary", "best"],
        "force": ["summary", "best"],
    },
    "reservoir_mse_vs_rate": {"main": ["summary"]},
    "reservoir_mse_vs_gain": {"gain": ["summary", "best"]},
    "reservoir_alpha_distribution": {"main": ["rates"]},
    "reservoir_target_length": {"length": ["summary", "best"]},
    "reservoir_ablation": {"ablation": ["comparison"]},
    "reservoir_protocols": {"protocols": ["summary", "best"]},
    "reservoir_forgetting": {"forgetting": ["summary"]},
}
REQUIRED_STUDY = {
    "reservoir_mse_vs_gain": "gain",
    "reservoir_target_length": "length",
    "reservoir_ablation": "ablation",
    "reservoir_protocols": "protocols",
    "reservoir_forgetting": "forgetting",
}


def figure_inputs(name):
    return {
        f"{study}_{table}": study_table(study, table)
        for study, tables in FIGURE_TABLES[name].items()
        if study in STUDIES
        for table in tables
    }
