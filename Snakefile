"""synlearn: normative local learning rules in recurrent and spiking networks.

`snakemake --cores 8` reproduces every figure; `snakemake --configfile
config/quick.yaml --cores 2` does the same on a small grid in minutes; `snakemake
results/figures/<name>.png` rebuilds one figure.
"""

import os

from snakemake.utils import min_version

min_version("8.10")

# One thread per job: parallelism comes from jobs side by side, and BLAS or Numba
# thread pools in every job would oversubscribe the cores.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                  "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")


# The paper-scale default, unless a whole config is given with --configfile (Snakemake
# would otherwise deep-merge the two, leaking the default's study sizes into quick runs).
if "reservoir" not in config:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/targets.smk"
include: "workflow/rules/reservoir.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        all_figures(),
    default_target: True
