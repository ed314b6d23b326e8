from synlearn import check_config, configured_families
from synlearn.core.errors import ConfigError
from synlearn.core.io import code_hash

try:
    check_config(
        config,
        Path(workflow.basedir) / "workflow/schemas",
        source=", ".join(map(str, workflow.configfiles)) or "config",
    )
except ConfigError as error:
    raise WorkflowError(f"invalid config: {error}") from None

RESULTS = "results"
SEED = config["seed"]

# The families whose section is present in the config, with their declared figures.
CONFIGURED = configured_families(config)


def code_of(script, *modules):
    """Hash of a rule's script and of every package module it imports (and ``modules``,
    for what it imports by name at run time): Snakemake does not see edits to src/."""
    return code_hash(
        os.path.join(workflow.basedir, "workflow/scripts", script), *modules
    )


def compiled(family):
    """The marker a family's compute rules wait for: its kernels are in Numba's cache."""
    return f"{RESULTS}/.compiled/{family}"


def in_results(paths):
    return [f"{RESULTS}/{path}" for path in paths]


def all_figures():
    return [
        f"{RESULTS}/figures/{figure.name}.{ext}"
        for family in CONFIGURED
        for figure in family.figures
        for ext in ("png", "pdf")
    ]
