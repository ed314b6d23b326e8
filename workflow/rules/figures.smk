# Each figure: the tables it reads, by study. A figure whose studies are not in the
# config is not built (a user may drop a study to save time).
FIGURE_TABLES = {
    "reservoir_example": {"main": ["traces", "best"], "sines": ["traces", "best"]},
    "reservoir_learning_curves": {"main": ["summary", "best"], "force": ["summary", "best"]},
    "reservoir_mse_vs_rate": {"main": ["summary"]},
    "reservoir_mse_vs_gain": {"gain": ["summary", "best"]},
    "reservoir_alpha_distribution": {"main": ["rates"]},
    "reservoir_target_length": {"length": ["summary", "best"]},
    "reservoir_ablation": {"ablation": ["comparison"]},
    "reservoir_protocols": {"protocols": ["summary", "best"]},
    "reservoir_forgetting": {"forgetting": ["summary"]},
}
REQUIRED_STUDY = {
    "reservoir_mse_vs_gain": "gain",
    "reservoir_target_length": "length",
    "reservoir_ablation": "ablation",
    "reservoir_protocols": "protocols",
    "reservoir_forgetting": "forgetting",
}


def figure_inputs(name):
    return {
        f"{study}_{table}": study_table(study, table)
        for study, tables in FIGURE_TABLES[name].items()
        if study in STUDIES
        for table in tables
    }


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
            png=f"{RESULTS}/figures/{_name}.png",
            pdf=f"{RESULTS}/figures/{_name}.pdf",
        params:
            function=_name.removeprefix("reservoir_"),
            code=CODE["plots"],
        log:
            f"{RESULTS}/logs/figures/{_name}.log",
        script:
            "../scripts/plot_figure.py"
