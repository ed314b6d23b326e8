from synlearn.core.io import log_to, read_tables, write_table

log_to(snakemake.log[0])
write_table(read_tables(snakemake.input), snakemake.output[0])
