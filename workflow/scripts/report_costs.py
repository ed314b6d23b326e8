from synlearn.core.costs import tabulate_costs
from synlearn.core.io import atomic_path, log_to

log_to(snakemake.log[0])
table = tabulate_costs(snakemake.params.folder, snakemake.params.patterns)
# Timings, like the benchmark files it sums: a TSV beside them, not a result table.
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, sep="\t", index=False, float_format="%.2f")
