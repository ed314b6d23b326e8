from synlearn.io import atomic_path, log_to, read_table
from synlearn.plots import reservoir

log_to(snakemake.log[0])
tables = {name: read_table(path) for name, path in snakemake.input.items()}
figure = getattr(reservoir, snakemake.params.function)(tables)
for key in ("png", "pdf"):
    with atomic_path(snakemake.output[key]) as tmp:
        figure.savefig(tmp, dpi=150, format=key)
