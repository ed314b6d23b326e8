from synlearn.core.io import log_to, write_table
from synlearn.synapse.pipeline import summary_table

log_to(snakemake.log[0])
seed_index = int(snakemake.wildcards.seed)
table = summary_table(
    snakemake.params.config, snakemake.wildcards.feedback, seed_index, snakemake.params.base_seed
)
write_table(table, snakemake.output[0], code=snakemake.params.code)
