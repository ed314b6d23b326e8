import pandas as pd

from synlearn.core.io import log_to, write_table
from synlearn.reservoir.pipeline import run_network, targets_array

log_to(snakemake.log[0])
targets = targets_array(pd.read_csv(snakemake.input.targets))
tables = run_network(
    snakemake.params.variant,
    int(snakemake.wildcards.network),
    snakemake.params.seed,
    targets,
    code=snakemake.params.code,
)
for name, table in tables.items():
    write_table(table, snakemake.output[name], code=snakemake.params.code)
