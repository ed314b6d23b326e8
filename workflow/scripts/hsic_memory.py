from synlearn.core.io import log_to, write_table
from synlearn.hsic.pipeline import memory_tables

log_to(snakemake.log[0])
nmse, trace = memory_tables(snakemake.params.spec, snakemake.wildcards.mask,
                            int(snakemake.wildcards.seed), snakemake.params.base_seed)
write_table(nmse, snakemake.output.nmse, code=snakemake.params.code)
write_table(trace, snakemake.output.trace, code=snakemake.params.code)
