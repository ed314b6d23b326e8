from synlearn.synapse.pipeline import FEEDBACKS, feedback_paths, summary_paths

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
    """All seeds and feedback types in tidy tables, and the Bayesian/classical comparison."""
    input:
        summaries=in_results(summary_paths(SYNAPSE)),
        timeseries=in_results(feedback_paths(SYNAPSE, "timeseries")),
        rates=in_results(feedback_paths(SYNAPSE, "rates")),
    output:
        summary=f"{RESULTS}/synapse/summary.csv",
        timeseries=f"{RESULTS}/synapse/timeseries.csv",
        rates=f"{RESULTS}/synapse/rates.csv",
        comparison=f"{RESULTS}/synapse/comparison.csv",
    log:
        f"{RESULTS}/logs/synapse/statistics.log",
    benchmark:
        f"{RESULTS}/benchmarks/synapse/statistics.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        code=code_of("synapse_statistics.py"),
    script:
        "../scripts/synapse_statistics.py"
