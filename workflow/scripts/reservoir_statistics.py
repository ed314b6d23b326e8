from synlearn.core.io import log_to, read_all_complete, read_tables, write_table
from synlearn.reservoir.stats import study_statistics

log_to(snakemake.log[0])
code = snakemake.params.code
# every network job's curves, whole: a missing, empty or truncated one stops the rule
curves = read_all_complete(snakemake.input.curves, snakemake.params.expected_rows)
write_table(curves, snakemake.output.curves, code=code)
# traces and rates are recorded for network 0 only: the other jobs' tables are empty
write_table(read_tables(snakemake.input.traces), snakemake.output.traces, code=code)
write_table(read_tables(snakemake.input.rates), snakemake.output.rates, code=code)
for name, table in study_statistics(curves, list(snakemake.params.swept),
                                       snakemake.params.thresholds).items():
    write_table(table, snakemake.output[name], code=code)
