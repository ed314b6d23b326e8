from synlearn.core.io import log_to, read_complete, write_table
from synlearn.hsic.pipeline import labelled_runs
from synlearn.hsic.stats import accuracy_summary

log_to(snakemake.log[0])
settings = snakemake.params.settings
jobs = [job for setting in settings for job in setting.jobs]  # the order of the inputs
# every job's table, whole: a missing, empty or truncated one stops the rule
tables = {job.digest: read_complete(path, job.rows) for job, path in zip(jobs, snakemake.input)}
runs = labelled_runs(settings, tables)
write_table(runs, snakemake.output.runs, code=snakemake.params.code)
write_table(accuracy_summary(runs), snakemake.output.summary, code=snakemake.params.code)
