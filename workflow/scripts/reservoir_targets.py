from synlearn.core.io import log_to, write_table
from synlearn.reservoir.pipeline import make_targets

log_to(snakemake.log[0])
write_table(make_targets(snakemake.params.variant, snakemake.params.seed), snakemake.output[0])
