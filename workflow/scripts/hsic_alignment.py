from synlearn.core.io import log_to, write_table
from synlearn.hsic.pipeline import alignment_table, mnist_folder

log_to(snakemake.log[0])
section = snakemake.params.section
table = alignment_table(section, int(snakemake.wildcards.window), snakemake.params.base_seed,
                        mnist_folder(section.get("mnist")))
write_table(table, snakemake.output[0], code=snakemake.params.code)
