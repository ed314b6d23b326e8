for _name, _module in built_figures().items():
    FIGURES[_name] = _module

    rule:
        name:
            f"figure_{_name}"
        input:
            **figure_inputs(_name),
        output:
            png=report(
                f"{RESULTS}/figures/{_name}.png",
                caption=f"../report/{_name}.rst",
                category=(
                    "Reservoir readout learning"
                    if _module == "reservoir"
                    else "Single-synapse Bayesian filtering"
                ),
            ),
            pdf=f"{RESULTS}/figures/{_name}.pdf",
        log:
            f"{RESULTS}/logs/figures/{_name}.log",
        benchmark:
            f"{RESULTS}/benchmarks/{_module}/figures/{_name}.tsv"
        conda:
            "../envs/synlearn.yaml"
        params:
            module=_module,
            function=_name.removeprefix(f"{_module}_"),
            code=CODE["plots"],
        script:
            "../scripts/plot_figure.py"
