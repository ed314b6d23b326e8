from synlearn.core.io import log_to, read_tables, write_table
from synlearn.reservoir.stats import study_statistics

log_to(snakemake.log[0])
curves = read_tables(snakemake.input.curves)
write_table(curves, snakemake.output.curves)
write_table(read_tables(snakemake.input.traces), snakemake.output.traces)
write_table(read_tables(snakemake.input.rates), snakemake.output.rates)
for name, table in study_statistics(curves, list(snakemake.params.swept)).items():
    write_table(table, snakemake.output[name])
