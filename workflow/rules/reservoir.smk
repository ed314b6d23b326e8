from synlearn.reservoir import TITLE as RESERVOIR_TITLE
from synlearn.reservoir.stats import PUBLISHED_STUDIES, SUCCESS_THRESHOLDS
from synlearn.reservoir.studies import (
    expected_curve_rows,
    find_variant,
    network_tables,
    resolve_studies,
    swept_columns,
)

try:
    STUDIES = resolve_studies(config["reservoir"])
except ConfigError as error:
    raise WorkflowError(f"invalid config: {error}") from None


wildcard_constraints:
    study=r"[A-Za-z][A-Za-z0-9_]*",
    variant=r"v\d+",
    network=r"\d+",


rule reservoir_targets:
    """One period of every target signal of a study variant."""
    output:
        f"{RESULTS}/reservoir/{{study}}/{{variant}}/targets.csv",
    log:
        f"{RESULTS}/logs/reservoir/{{study}}/{{variant}}/targets.log",
    benchmark:
        f"{RESULTS}/benchmarks/reservoir/{{study}}/{{variant}}/targets.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        variant=lambda wildcards: find_variant(
            STUDIES, wildcards.study, wildcards.variant
        ),
        seed=SEED,
        code=code_of("reservoir_targets.py"),
    script:
        "../scripts/reservoir_targets.py"


rule reservoir_train:
    """Every target x rule setting of one network, batched in one kernel call."""
    input:
        targets=f"{RESULTS}/reservoir/{{study}}/{{variant}}/targets.csv",
        compiled=compiled("reservoir"),
    output:
        curves=f"{RESULTS}/reservoir/{{study}}/{{variant}}/network{{network}}/curves.csv",
        traces=f"{RESULTS}/reservoir/{{study}}/{{variant}}/network{{network}}/traces.csv",
        rates=f"{RESULTS}/reservoir/{{study}}/{{variant}}/network{{network}}/rates.csv",
    log:
        f"{RESULTS}/logs/reservoir/{{study}}/{{variant}}/network{{network}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/reservoir/{{study}}/{{variant}}/network{{network}}.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        variant=lambda wildcards: find_variant(
            STUDIES, wildcards.study, wildcards.variant
        ),
        seed=SEED,
        code=code_of("reservoir_train.py"),
    script:
        "../scripts/reservoir_train.py"


rule reservoir_statistics:
    """Tidy tables of a study and its aggregates over network x target pairs."""
    input:
        curves=lambda wildcards: in_results(
            network_tables(STUDIES, wildcards.study, "curves")
        ),
        traces=lambda wildcards: in_results(
            network_tables(STUDIES, wildcards.study, "traces")
        ),
        rates=lambda wildcards: in_results(
            network_tables(STUDIES, wildcards.study, "rates")
        ),
    output:
        curves=f"{RESULTS}/reservoir/{{study}}/curves.csv",
        traces=f"{RESULTS}/reservoir/{{study}}/traces.csv",
        rates=f"{RESULTS}/reservoir/{{study}}/rates.csv",
        summary=f"{RESULTS}/reservoir/{{study}}/summary.csv",
        best=report(
            f"{RESULTS}/reservoir/{{study}}/best.csv",
            caption="../report/reservoir_best.rst",
            category=RESERVOIR_TITLE,
            subcategory="Statistics tables",
            labels={"study": "{study}", "table": "best"},
        ),
        comparison=report(
            f"{RESULTS}/reservoir/{{study}}/comparison.csv",
            caption="../report/reservoir_comparison.rst",
            category=RESERVOIR_TITLE,
            subcategory="Statistics tables",
            labels={"study": "{study}", "table": "comparison"},
        ),
        sensitivity=f"{RESULTS}/reservoir/{{study}}/sensitivity.csv",
        distribution=report(
            f"{RESULTS}/reservoir/{{study}}/distribution.csv",
            caption="../report/reservoir_distribution.rst",
            category=RESERVOIR_TITLE,
            subcategory="Statistics tables",
            labels={"study": "{study}", "table": "distribution"},
        ),
    log:
        f"{RESULTS}/logs/reservoir/{{study}}/statistics.log",
    benchmark:
        f"{RESULTS}/benchmarks/reservoir/{{study}}/statistics.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        swept=lambda wildcards: swept_columns(STUDIES, wildcards.study),
        expected_rows=lambda wildcards: expected_curve_rows(STUDIES, wildcards.study),
        thresholds=config["reservoir"].get(
            "success_thresholds", list(SUCCESS_THRESHOLDS)
        ),
        code=code_of("reservoir_statistics.py"),
    script:
        "../scripts/reservoir_statistics.py"


# This run's headline numbers beside the published ones (Aitchison et al. 2021, Fig. 5),
# from the main study and, when configured, the paper-protocol study.
if "main" in STUDIES:

    rule reservoir_published_comparison:
        """The best classical and Bayesian MSE and their ratio beside the published values."""
        input:
            **{
                f"{study}_{table}": f"{RESULTS}/reservoir/{study}/{table}.csv"
                for study in PUBLISHED_STUDIES
                if study in STUDIES
                for table in ("comparison", "best")
            },
        output:
            report(
                published_table("reservoir"),
                caption="../report/reservoir_published_comparison.rst",
                category=RESERVOIR_TITLE,
                subcategory="Ours vs published",
                labels={"table": "published_comparison"},
            ),
        log:
            f"{RESULTS}/logs/reservoir/published_comparison.log",
        benchmark:
            f"{RESULTS}/benchmarks/reservoir/published_comparison.tsv"
        group:
            "post"  # on a cluster, batched with the statistics (see profiles/slurm)
        conda:
            "../envs/synlearn.yaml"
        params:
            family="reservoir",
            published=published_values("reservoir"),
            code=code_of("published_comparison.py", "synlearn.reservoir.stats"),
        script:
            "../scripts/published_comparison.py"
