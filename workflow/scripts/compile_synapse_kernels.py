from synlearn.io import log_to
from synlearn.synapse_pipeline import compile_kernels

log_to(snakemake.log[0])
compile_kernels()
