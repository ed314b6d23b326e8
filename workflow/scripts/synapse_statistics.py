from synlearn.core.io import log_to, read_all_complete, write_table
from synlearn.synapse.stats import synapse_comparison

log_to(snakemake.log[0])
# every seed's summary, whole: a missing, empty or truncated one stops the rule
summary = read_all_complete(snakemake.input, snakemake.params.expected_rows)
write_table(summary, snakemake.output.summary, code=snakemake.params.code)
write_table(synapse_comparison(summary), snakemake.output.comparison, code=snakemake.params.code)
