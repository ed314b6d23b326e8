from synlearn.core.io import log_to, read_all_complete, write_table
from synlearn.spiking.stats import novelty_summary, probe_end_of_learning, seed_novelty, trajectory

log_to(snakemake.log[0])
code = snakemake.params.code
# every seed's tables, whole: a missing, empty or truncated one stops the rule
batches = read_all_complete(snakemake.input.batches, snakemake.params.batch_rows)
probe = probe_end_of_learning(read_all_complete(snakemake.input.probe),
                              snakemake.params.learn_s)
novelty = seed_novelty(batches, probe)
write_table(batches, snakemake.output.batches, code=code)
write_table(probe, snakemake.output.probe, code=code)
write_table(novelty, snakemake.output.novelty, code=code)
write_table(novelty_summary(novelty), snakemake.output.summary, code=code)
write_table(trajectory(batches, snakemake.params.trajectory_batches), snakemake.output.trajectory,
            code=code)
