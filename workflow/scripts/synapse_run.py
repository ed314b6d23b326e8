from synlearn import synapse_pipeline
from synlearn.io import log_to, write_table

log_to(snakemake.log[0])
config, seed = snakemake.params.config, snakemake.params.base_seed
feedback = snakemake.wildcards.feedback
if snakemake.rule == "synapse_summary":
    table = synapse_pipeline.summary_table(config, feedback, int(snakemake.wildcards.seed), seed)
elif snakemake.rule == "synapse_timeseries":
    table = synapse_pipeline.timeseries_table(config, feedback, seed)
else:
    table = synapse_pipeline.rate_table(config, feedback, seed)
write_table(table, snakemake.output[0])
