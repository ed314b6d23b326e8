from synlearn.core.io import log_to, write_table
from synlearn.hsic.pipeline import closed_loop_table, mnist_folder

log_to(snakemake.log[0])
section = snakemake.params.section
table = closed_loop_table(section, snakemake.wildcards.task, snakemake.wildcards.signal,
                          snakemake.params.base_seed, mnist_folder(section.get("mnist")))
write_table(table, snakemake.output[0], code=snakemake.params.code)
