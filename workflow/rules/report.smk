rule report_costs:
    """CPU seconds and peak memory per rule of a family, from its benchmark files."""
    input:
        # the family's last outputs, so that every other job of it has written its
        # benchmark file when this one reads the folder
        lambda wildcards: family_outputs(wildcards.family),
    output:
        report(
            costs_table("{family}"),
            caption="../report/compute_costs.rst",
            category=lambda wildcards: next(
                f.title for f in CONFIGURED if f.name == wildcards.family
            ),
            subcategory="Compute cost",
            labels={"table": "compute_costs"},
        ),
    log:
        # named like the benchmark file (the CPU record beside it pairs with that)
        f"{RESULTS}/logs/report/{{family}}_costs.log",
    benchmark:
        # outside the family's folder, which this job reads
        f"{RESULTS}/benchmarks/report/{{family}}_costs.tsv"
    group:
        "post"  # on a cluster, batched with the figures (see profiles/slurm)
    conda:
        "../envs/synlearn.yaml"
    params:
        folder=lambda wildcards: f"{RESULTS}/benchmarks/{wildcards.family}",
        patterns=lambda wildcards: benchmark_patterns(),
        code=code_of("report_costs.py"),
    script:
        "../scripts/report_costs.py"
