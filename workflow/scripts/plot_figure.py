import importlib
from pathlib import Path

import jinja2

from synlearn.core.io import atomic_path, log_to, read_table

# No creation date in the files, so that a figure is byte-identical across runs.
METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None, "ModDate": None}}

log_to(snakemake.log[0])
tables = {name: read_table(snakemake.input[name]) for name in snakemake.params.tables}
plots = importlib.import_module(f"synlearn.{snakemake.params.family}.plots")
figure = getattr(plots, snakemake.params.function)(tables)
for key in ("png", "pdf"):
    with atomic_path(snakemake.output[key]) as tmp:
        figure.savefig(tmp, dpi=150, format=key, metadata=METADATA[key])

# The caption: the figure's template with this run's numbers (from the same tables), the
# family's config section and its published values. An unknown name fails the job.
environment = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True,
                                 lstrip_blocks=True, keep_trailing_newline=True)
# numbers to `digits` significant digits; a number the run does not have is "n/a"
environment.filters["g"] = lambda value, digits=3: (
    "n/a" if value is None or value != value else f"{value:.{digits}g}")
template = environment.from_string(Path(snakemake.input.caption_template).read_text())
caption = template.render(
    facts=plots.facts(snakemake.params.function, tables),
    config=snakemake.params.section,
    published=snakemake.params.published,
)
with atomic_path(snakemake.output.caption) as tmp:
    tmp.write_text(caption)
