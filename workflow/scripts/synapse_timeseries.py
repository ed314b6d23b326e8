from synlearn.core.io import log_to, write_table
from synlearn.synapse.pipeline import timeseries_table

log_to(snakemake.log[0])
table = timeseries_table(
    snakemake.params.config, snakemake.wildcards.feedback, snakemake.params.base_seed
)
write_table(table, snakemake.output[0], code=snakemake.params.code)
