for _name in FIGURE_TABLES:
    if "main" not in STUDIES or REQUIRED_STUDY.get(_name, "main") not in STUDIES:
        continue
    FIGURES[_name] = list(FIGURE_TABLES[_name])

    rule:
        name:
            f"figure_{_name}"
        input:
            **figure_inputs(_name),
        output:
            png=report(
                f"{RESULTS}/figures/{_name}.png",
                caption=f"../report/{_name}.rst",
                category="Reservoir readout learning",
            ),
            pdf=f"{RESULTS}/figures/{_name}.pdf",
        log:
            f"{RESULTS}/logs/figures/{_name}.log",
        conda:
            "../envs/synlearn.yaml"
        params:
            function=_name.removeprefix("reservoir_"),
            code=CODE["plots"],
        script:
            "../scripts/plot_figure.py"
