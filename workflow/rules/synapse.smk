from synlearn.synapse import TITLE as SYNAPSE_TITLE
from synlearn.synapse.pipeline import (
    FEEDBACKS,
    expected_summary_rows,
    feedback_paths,
    summary_paths,
)

SYNAPSE = config["synapse"]


wildcard_constraints:
    feedback="|".join(FEEDBACKS),
    seed=r"\d+",


rule synapse_summary:
    """MSE and coverage of the Bayesian synapse and all classical rates, one seed."""
    input:
        compiled("synapse"),
    output:
        f"{RESULTS}/synapse/{{feedback}}/seed{{seed}}/summary.csv",
    log:
        f"{RESULTS}/logs/synapse/{{feedback}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/synapse/{{feedback}}/seed{{seed}}.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        config=SYNAPSE,
        base_seed=SEED,
        code=code_of("synapse_summary.py"),
    script:
        "../scripts/synapse_summary.py"


rule synapse_timeseries:
    """A few synapses' true weight and posterior through time (figure a)."""
    input:
        compiled("synapse"),
    output:
        f"{RESULTS}/synapse/{{feedback}}/timeseries.csv",
    log:
        f"{RESULTS}/logs/synapse/{{feedback}}/timeseries.log",
    benchmark:
        f"{RESULTS}/benchmarks/synapse/{{feedback}}/timeseries.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        config=SYNAPSE,
        base_seed=SEED,
        code=code_of("synapse_timeseries.py"),
    script:
        "../scripts/synapse_timeseries.py"


rule synapse_rates:
    """Per synapse: rate, normalised variability and learning rate (figure c)."""
    input:
        compiled("synapse"),
    output:
        f"{RESULTS}/synapse/{{feedback}}/rates.csv",
    log:
        f"{RESULTS}/logs/synapse/{{feedback}}/rates.log",
    benchmark:
        f"{RESULTS}/benchmarks/synapse/{{feedback}}/rates.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        config=SYNAPSE,
        base_seed=SEED,
        code=code_of("synapse_rates.py"),
    script:
        "../scripts/synapse_rates.py"


rule synapse_statistics:
    """Every seed's summary in one table, and the Bayesian/classical comparison."""
    input:
        in_results(summary_paths(SYNAPSE)),
    output:
        summary=f"{RESULTS}/synapse/summary.csv",
        comparison=report(
            f"{RESULTS}/synapse/comparison.csv",
            caption="../report/synapse_comparison.rst",
            category=SYNAPSE_TITLE,
            subcategory="Statistics tables",
            labels={"table": "comparison"},
        ),
    log:
        f"{RESULTS}/logs/synapse/statistics.log",
    benchmark:
        f"{RESULTS}/benchmarks/synapse/statistics.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        expected_rows=expected_summary_rows(SYNAPSE),
        code=code_of("synapse_statistics.py"),
    script:
        "../scripts/synapse_statistics.py"


rule synapse_collect:
    """One per-feedback table (timeseries or rates) of every feedback type, in one table."""
    input:
        lambda wildcards: in_results(feedback_paths(SYNAPSE, wildcards.table)),
    output:
        f"{RESULTS}/synapse/{{table}}.csv",
    log:
        f"{RESULTS}/logs/synapse/collect_{{table}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/synapse/collect_{{table}}.tsv"
    wildcard_constraints:
        table="timeseries|rates",
    conda:
        "../envs/synlearn.yaml"
    params:
        code=code_of("collect_tables.py"),
    script:
        "../scripts/collect_tables.py"


rule synapse_published_comparison:
    """Bayesian and best classical MSE, best eta and coverage per feedback beside the published values."""
    input:
        comparison=f"{RESULTS}/synapse/comparison.csv",
    output:
        report(
            published_table("synapse"),
            caption="../report/synapse_published_comparison.rst",
            category=SYNAPSE_TITLE,
            subcategory="Ours vs published",
            labels={"table": "published_comparison"},
        ),
    log:
        f"{RESULTS}/logs/synapse/published_comparison.log",
    benchmark:
        f"{RESULTS}/benchmarks/synapse/published_comparison.tsv"
    group:
        "post"  # on a cluster, batched with the statistics (see profiles/slurm)
    conda:
        "../envs/synlearn.yaml"
    params:
        family="synapse",
        published=published_values("synapse"),
        code=code_of("published_comparison.py", "synlearn.synapse.stats"),
    script:
        "../scripts/published_comparison.py"
