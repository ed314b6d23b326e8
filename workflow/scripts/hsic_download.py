from pathlib import Path

from synlearn.core.datasets import download
from synlearn.core.io import log_to

log_to(snakemake.log[0])
spec = snakemake.params.mnist["download"]
name = Path(snakemake.output[0]).name
download(f"{spec['url'].rstrip('/')}/{name}", snakemake.output[0], spec["sha256"][name])
