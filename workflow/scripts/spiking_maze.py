from synlearn.core.io import log_to, read_complete, write_table
from synlearn.spiking.pipeline import maze_tables

log_to(snakemake.log[0])
rooms = read_complete(snakemake.input.rooms)
batches, probe = maze_tables(snakemake.params.section, rooms, int(snakemake.wildcards.seed),
                             snakemake.params.base_seed)
write_table(batches, snakemake.output.batches, code=snakemake.params.code)
write_table(probe, snakemake.output.probe, code=snakemake.params.code)
