for _family in CONFIGURED:
    for _figure in _family.figures:

        rule:
            name:
                f"figure_{_figure.name}"
            input:
                **{key: f"{RESULTS}/{path}" for key, path in _figure.tables.items()},
                caption_template=caption_template(_figure.template),
            output:
                # The caption is rendered by this rule, after drawing, with the run's
                # numbers; the report reads it as a source file, hence the absolute path.
                png=report(
                    f"{RESULTS}/figures/{_figure.name}.png",
                    caption=os.path.abspath(rendered_caption(_figure.name)),
                    category=_family.title,
                    subcategory="Figures",
                    labels={"figure": _figure.name},
                ),
                pdf=f"{RESULTS}/figures/{_figure.name}.pdf",
                caption=rendered_caption(_figure.name),
            log:
                # named like the benchmark file (the CPU record beside it pairs with that)
                f"{RESULTS}/logs/{_family.name}/figures/{_figure.name}.log",
            benchmark:
                f"{RESULTS}/benchmarks/{_family.name}/figures/{_figure.name}.tsv"
            group:
                "post"  # on a cluster, batched with the statistics (see profiles/slurm)
            conda:
                "../envs/synlearn.yaml"
            params:
                family=_family.name,
                function=_figure.function,
                tables=list(_figure.tables),
                section=config[_family.name],
                published=published_values(_family.name),
                code=code_of("plot_figure.py", f"synlearn.{_family.name}.plots"),
            script:
                "../scripts/plot_figure.py"
