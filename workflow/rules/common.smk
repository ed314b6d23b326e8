import importlib

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


def caption_template(figure):
    """The caption template of a figure: workflow/report/<figure>.rst (Jinja2)."""
    return os.path.join(workflow.basedir, "workflow/report", f"{figure}.rst")


def rendered_caption(figure):
    """The caption that the figure's rule renders, with this run's numbers."""
    return f"{RESULTS}/figures/{figure}.caption.rst"


def published_values(family):
    """A family's published values with their sources (its published.yaml), or {}."""
    stats = importlib.import_module(f"synlearn.{family}.stats")
    return getattr(stats, "published_values", dict)()


def published_table(family):
    """The family's table of this run's numbers beside the published ones."""
    return f"{RESULTS}/{family}/published_comparison.csv"


def has_published_table(family):
    """Whether the family's rules file defines <family>_published_comparison."""
    return any(
        defined.name == f"{family}_published_comparison" for defined in workflow.rules
    )


def costs_table(family):
    """The family's compute cost per rule: timings, so beside its benchmark folder."""
    return f"{RESULTS}/benchmarks/{family}_costs.tsv"


def family_outputs(family):
    """A family's figures (PNG, PDF, rendered caption) and its published table."""
    figures = next(f.figures for f in CONFIGURED if f.name == family)
    paths = [
        path
        for figure in figures
        for path in (
            f"{RESULTS}/figures/{figure.name}.png",
            f"{RESULTS}/figures/{figure.name}.pdf",
            rendered_caption(figure.name),
        )
    ]
    return paths + ([published_table(family)] if has_published_table(family) else [])


def benchmark_patterns():
    """Rule name -> regular expression of its benchmark file, for every rule with one."""
    return {
        defined.name: defined.benchmark.regex().pattern
        for defined in workflow.rules
        if defined.benchmark is not None and not callable(defined.benchmark)
    }


def all_figures():
    """Everything the report shows: every figure with its caption, and per family the
    published comparison and the compute cost table."""
    return [
        path
        for family in CONFIGURED
        for path in (*family_outputs(family.name), costs_table(family.name))
    ]
