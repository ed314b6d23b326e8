from synlearn.core.io import log_to, write_table
from synlearn.hsic.pipeline import mnist_folder, training_table

log_to(snakemake.log[0])
table = training_table(snakemake.params.job, snakemake.params.base_seed,
                       mnist_folder(snakemake.params.mnist))
write_table(table, snakemake.output[0], code=snakemake.params.code)
