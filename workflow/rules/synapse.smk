rule compile_synapse_kernels:
    """Compile and cache the synapse kernels once, so parallel jobs do not all compile."""
    output:
        touch(f"{RESULTS}/.synapse-kernels-compiled-{CODE['synapse']}"),
    log:
        f"{RESULTS}/logs/compile_synapse_kernels.log",
    benchmark:
        f"{RESULTS}/benchmarks/synapse/compile.tsv"
    conda:
        "../envs/synlearn.yaml"
    script:
        "../scripts/compile_synapse_kernels.py"


rule synapse_summary:
    """MSE and coverage of the Bayesian synapse and all classical rates, one seed."""
    input:
        rules.compile_synapse_kernels.output,
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
        code=CODE["synapse"],
    script:
        "../scripts/synapse_run.py"


rule synapse_timeseries:
    """A few synapses' true weight and posterior through time (figure a)."""
    input:
        rules.compile_synapse_kernels.output,
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
        code=CODE["synapse"],
    script:
        "../scripts/synapse_run.py"


rule synapse_rates:
    """Per synapse: rate, normalised variability and learning rate (figure c)."""
    input:
        rules.compile_synapse_kernels.output,
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
        code=CODE["synapse"],
    script:
        "../scripts/synapse_run.py"


rule synapse_statistics:
    """All seeds and feedback types in tidy tables, and the Bayesian/classical comparison."""
    input:
        summaries=synapse_summaries,
        timeseries=synapse_tables("timeseries"),
        rates=synapse_tables("rates"),
    output:
        summary=f"{RESULTS}/synapse/summary.csv",
        timeseries=f"{RESULTS}/synapse/timeseries.csv",
        rates=f"{RESULTS}/synapse/rates.csv",
        comparison=f"{RESULTS}/synapse/comparison.csv",
    log:
        f"{RESULTS}/logs/stats/synapse.log",
    benchmark:
        f"{RESULTS}/benchmarks/synapse/statistics.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        code=CODE["stats"],
    script:
        "../scripts/synapse_statistics.py"
