from pathlib import Path

from snakemake.utils import validate

from synlearn.errors import ConfigError
from synlearn.io import code_hash
from synlearn.studies import find_variant, resolve_studies

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
    "stats": code_hash("stats.py"),
    "synapse": code_hash(
        "kernels/synapse.py",
        "experiments/synapse.py",
        "synapse_pipeline.py",
        "seeding.py",
        "_jit.py",
    ),
    "plots": code_hash("plots"),
}

FIGURES = {}  # figure name -> the studies whose tables it reads; filled by figures.smk


def all_figures():
    return [
        f"{RESULTS}/figures/{name}.{ext}" for name in FIGURES for ext in ("png", "pdf")
    ]


def variant_of(wildcards):
    try:
        return find_variant(STUDIES, wildcards.study, wildcards.variant)
    except KeyError as error:
        raise WorkflowError(str(error)) from None


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


SYNAPSE = config.get("synapse")
SYNAPSE_FIGURE_TABLES = {
    "synapse_timeseries": ["timeseries"],
    "synapse_mse_vs_eta": ["summary"],
    "synapse_rate_dependence": ["rates"],
}


def figure_inputs(name):
    """The tables a figure reads, by the name its plot function receives them under."""
    if name in SYNAPSE_FIGURE_TABLES:
        return {t: f"{RESULTS}/synapse/{t}.csv" for t in SYNAPSE_FIGURE_TABLES[name]}
    return {
        f"{study}_{table}": study_table(study, table)
        for study, tables in FIGURE_TABLES[name].items()
        if study in STUDIES
        for table in tables
    }


def built_figures():
    """Figures whose studies are configured, with the plot module that draws them."""
    figures = {}
    if "main" in STUDIES:
        for name in FIGURE_TABLES:
            if REQUIRED_STUDY.get(name, "main") in STUDIES:
                figures[name] = "reservoir"
    if SYNAPSE:
        figures.update({name: "synapse" for name in SYNAPSE_FIGURE_TABLES})
    return figures


def synapse_summaries(wildcards):
    return [
        f"{RESULTS}/synapse/{feedback}/seed{seed}/summary.csv"
        for feedback in SYNAPSE["feedbacks"]
        for seed in range(SYNAPSE["seeds"])
    ]


def synapse_tables(kind):
    return [
        f"{RESULTS}/synapse/{feedback}/{kind}.csv" for feedback in SYNAPSE["feedbacks"]
    ]
