from synlearn.core.io import log_to, read_all_complete, write_table
from synlearn.spiking.stats import sensitivity, stairs_summary

log_to(snakemake.log[0])
# every job's table, whole: a missing, empty or truncated one stops the rule
curves = read_all_complete(snakemake.input, snakemake.params.expected_rows)
summary = stairs_summary(curves)
write_table(curves, snakemake.output.curves, code=snakemake.params.code)
write_table(summary, snakemake.output.summary, code=snakemake.params.code)
write_table(sensitivity(summary), snakemake.output.sensitivity,
            code=snakemake.params.code)
