from synlearn.core.io import log_to, write_table
from synlearn.spiking.pipeline import raster_table

log_to(snakemake.log[0])
table = raster_table(snakemake.params.section, snakemake.params.base_seed)
write_table(table, snakemake.output[0], code=snakemake.params.code)
