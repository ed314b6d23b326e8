rule reservoir_targets:
    """One period of every target signal of a study variant."""
    output:
        f"{RESULTS}/reservoir/{{study}}/{{variant}}/targets.csv",
    log:
        f"{RESULTS}/logs/targets/{{study}}/{{variant}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/reservoir/{{study}}/{{variant}}/targets.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        variant=variant_of,
        seed=SEED,
        code=CODE["targets"],
    script:
        "../scripts/make_targets.py"
