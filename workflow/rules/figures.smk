for _family in CONFIGURED:
    for _figure in _family.figures:

        rule:
            name:
                f"figure_{_figure.name}"
            input:
                **{key: f"{RESULTS}/{path}" for key, path in _figure.tables.items()},
            output:
                png=report(
                    f"{RESULTS}/figures/{_figure.name}.png",
                    caption=f"../report/{_figure.name}.rst",
                    category=_family.title,
                ),
                pdf=f"{RESULTS}/figures/{_figure.name}.pdf",
            log:
                f"{RESULTS}/logs/figures/{_figure.name}.log",
            benchmark:
                f"{RESULTS}/benchmarks/{_family.name}/figures/{_figure.name}.tsv"
            group:
                "post"  # on a cluster, batched with the statistics (see profiles/slurm)
            conda:
                "../envs/synlearn.yaml"
            params:
                family=_family.name,
                function=_figure.function,
                code=code_of("plot_figure.py", f"synlearn.{_family.name}.plots"),
            script:
                "../scripts/plot_figure.py"
