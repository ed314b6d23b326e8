from synlearn.core.io import log_to, read_tables, write_table
from synlearn.synapse.stats import synapse_comparison

log_to(snakemake.log[0])
summary = read_tables(snakemake.input.summaries)
write_table(summary, snakemake.output.summary)
write_table(read_tables(snakemake.input.timeseries), snakemake.output.timeseries)
write_table(read_tables(snakemake.input.rates), snakemake.output.rates)
write_table(synapse_comparison(summary), snakemake.output.comparison)
