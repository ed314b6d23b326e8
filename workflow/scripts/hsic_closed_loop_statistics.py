from synlearn.core.io import log_to, read_all_complete, write_table
from synlearn.hsic.stats import accuracy_summary

log_to(snakemake.log[0])
# every job's table, whole: a missing, empty or truncated one stops the rule
runs = read_all_complete(snakemake.input, snakemake.params.expected_rows)
write_table(runs, snakemake.output.runs, code=snakemake.params.code)
write_table(accuracy_summary(runs, ["task", "signal"]), snakemake.output.summary,
            code=snakemake.params.code)
