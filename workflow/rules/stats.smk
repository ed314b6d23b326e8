rule reservoir_statistics:
    """Tidy tables of a study and its aggregates over network x target pairs."""
    input:
        curves=network_tables,
        traces=lambda wildcards: network_tables(wildcards, "traces"),
        rates=lambda wildcards: network_tables(wildcards, "rates"),
    output:
        curves=f"{RESULTS}/reservoir/{{study}}/curves.csv",
        traces=f"{RESULTS}/reservoir/{{study}}/traces.csv",
        rates=f"{RESULTS}/reservoir/{{study}}/rates.csv",
        summary=f"{RESULTS}/reservoir/{{study}}/summary.csv",
        best=f"{RESULTS}/reservoir/{{study}}/best.csv",
        comparison=f"{RESULTS}/reservoir/{{study}}/comparison.csv",
        sensitivity=f"{RESULTS}/reservoir/{{study}}/sensitivity.csv",
    log:
        f"{RESULTS}/logs/stats/{{study}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/reservoir/{{study}}/statistics.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        swept=lambda wildcards: swept_columns(wildcards.study),
        code=CODE["stats"],
    script:
        "../scripts/study_statistics.py"
