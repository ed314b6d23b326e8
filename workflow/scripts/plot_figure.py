import importlib

from synlearn.io import atomic_path, log_to, read_table

log_to(snakemake.log[0])
tables = {name: read_table(path) for name, path in snakemake.input.items()}
module = importlib.import_module(f"synlearn.plots.{snakemake.params.module}")
figure = getattr(module, snakemake.params.function)(tables)
for key in ("png", "pdf"):
    with atomic_path(snakemake.output[key]) as tmp:
        figure.savefig(tmp, dpi=150, format=key)
