from synlearn.core.io import log_to, read_tables, write_table
from synlearn.synapse.stats import synapse_comparison

log_to(snakemake.log[0])
summary = read_tables(snakemake.input)
write_table(summary, snakemake.output.summary)
write_table(synapse_comparison(summary), snakemake.output.comparison)
