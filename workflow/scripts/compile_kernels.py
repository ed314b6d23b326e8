import importlib

from synlearn.core.io import log_to

log_to(snakemake.log[0])
importlib.import_module(f"synlearn.{snakemake.wildcards.family}").compile_kernels()
