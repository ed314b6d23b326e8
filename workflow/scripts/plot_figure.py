import importlib
from pathlib import Path

from synlearn.core.io import atomic_path, log_to, read_table
from synlearn.core.plotting import render_caption

# No creation date in the files, so that a figure is byte-identical across runs.
METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None, "ModDate": None}}

log_to(snakemake.log[0])
tables = {name: read_table(snakemake.input[name]) for name in snakemake.params.tables}
plots = importlib.import_module(f"synlearn.{snakemake.params.family}.plots")
figure = getattr(plots, snakemake.params.function)(tables)
for key in ("png", "pdf"):
    with atomic_path(snakemake.output[key]) as tmp:
        figure.savefig(tmp, dpi=150, format=key, metadata=METADATA[key])

# The caption: the figure's template with this run's numbers (from the same tables).
caption = render_caption(
    Path(snakemake.input.caption_template).read_text(),
    plots.facts(snakemake.params.function, tables),
    snakemake.params.section,
    snakemake.params.published,
)
with atomic_path(snakemake.output.caption) as tmp:
    tmp.write_text(caption)
