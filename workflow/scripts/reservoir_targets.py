from synlearn.core.io import log_to, write_table
from synlearn.reservoir.pipeline import make_targets

log_to(snakemake.log[0])
targets = make_targets(snakemake.params.variant, snakemake.params.seed)
write_table(targets, snakemake.output[0], code=snakemake.params.code)
