import importlib

from synlearn.core.io import log_to, read_table, write_table

log_to(snakemake.log[0])
tables = {name: read_table(path) for name, path in snakemake.input.items()}
stats = importlib.import_module(f"synlearn.{snakemake.params.family}.stats")
table = stats.published_comparison(tables, snakemake.params.published)
write_table(table, snakemake.output[0], code=snakemake.params.code)
