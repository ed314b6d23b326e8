from synlearn.core.io import log_to, read_all_complete, write_table
from synlearn.hsic.stats import memory_summary

log_to(snakemake.log[0])
# every seed's tables, whole: a missing, empty or truncated one stops the rule
nmse = read_all_complete(snakemake.input.nmse, snakemake.params.expected_rows)
write_table(nmse, snakemake.output.nmse, code=snakemake.params.code)
write_table(memory_summary(nmse), snakemake.output.summary, code=snakemake.params.code)
write_table(read_all_complete(snakemake.input.trace), snakemake.output.trace,
            code=snakemake.params.code)
