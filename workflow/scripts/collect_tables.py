from synlearn.core.io import log_to, read_all_complete, write_table

log_to(snakemake.log[0])
table = read_all_complete(snakemake.input)
write_table(table, snakemake.output[0], code=snakemake.params.code)
