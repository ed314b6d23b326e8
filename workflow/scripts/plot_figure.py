import importlib

from synlearn.core.io import atomic_path, log_to, read_table

# No creation date in the files, so that a figure is byte-identical across runs.
METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None, "ModDate": None}}

log_to(snakemake.log[0])
tables = {name: read_table(path) for name, path in snakemake.input.items()}
plots = importlib.import_module(f"synlearn.{snakemake.params.family}.plots")
figure = getattr(plots, snakemake.params.function)(tables)
for key in ("png", "pdf"):
    with atomic_path(snakemake.output[key]) as tmp:
        figure.savefig(tmp, dpi=150, format=key, metadata=METADATA[key])
