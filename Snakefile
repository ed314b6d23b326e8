"""synlearn: normative local learning rules in recurrent and spiking networks.

`snakemake --cores 8` reproduces every figure; `snakemake --configfile
config/quick.yaml --cores 2` does the same on a small grid in minutes; `snakemake
results/figures/<name>.png` rebuilds one figure.
"""

import os
import sys

from snakemake.utils import min_version

min_version("8.10")

# One thread per job: parallelism comes from jobs side by side, and BLAS or Numba
# thread pools in every job would oversubscribe the cores.
for _variable in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
):
    os.environ.setdefault(_variable, "1")

# The package in src/ is what every job imports, installed or not (and inside
# --use-conda environments, which hold only its dependencies).
_SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, _SRC)
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        [_SRC] + [p for p in os.getenv("PYTHONPATH", "").split(os.pathsep) if p]
    )
)


# The paper-scale default, unless a config is given with --configfile (Snakemake would
# otherwise deep-merge the two, leaking the default's study sizes into quick runs). Found
# relative to the workflow, so `snakemake -s path/to/Snakefile` works from anywhere.
if not workflow.configfiles:

    configfile: os.path.join(workflow.basedir, "config/config.yaml")


wildcard_constraints:
    family=r"[a-z][a-z0-9_]*",


include: "workflow/rules/common.smk"
include: "workflow/rules/compile.smk"


# One rules file per configured family: workflow/rules/<family>.smk.
for _family in CONFIGURED:

    include: f"workflow/rules/{_family.name}.smk"


include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"


report: "workflow/report/workflow.rst"


localrules:
    all,


rule all:
    default_target: True
    input:
        all_figures(),
