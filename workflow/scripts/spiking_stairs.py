from synlearn.core.io import log_to, write_table
from synlearn.spiking.pipeline import stairs_table

log_to(snakemake.log[0])
table = stairs_table(snakemake.params.section, snakemake.wildcards.rule, snakemake.params.point,
                     snakemake.params.base_seed)
write_table(table, snakemake.output[0], code=snakemake.params.code)
