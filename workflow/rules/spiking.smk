from synlearn.spiking import TITLE as SPIKING_TITLE
from synlearn.spiking.pipeline import maze_visits
from synlearn.spiking.studies import checkpoints, grid, maze_batches, stairs_jobs

SPIKING = config["spiking"]
SPIKING_POINTS = {point.name: point for point in grid(SPIKING)}
SPIKING_JOBS = stairs_jobs(SPIKING)
SPIKING_MAZE_BATCHES = sum(length for _, _, length in maze_visits(SPIKING))


wildcard_constraints:
    point=r"p\d+",


rule spiking_stairs:
    """Learning curves on the stairs of one rule at one learning-rate point, every seed."""
    input:
        compiled=compiled("spiking"),
    output:
        f"{RESULTS}/spiking/stairs/runs/{{rule}}/{{point}}.csv",
    log:
        f"{RESULTS}/logs/spiking/stairs/{{rule}}/{{point}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/spiking/stairs/{{rule}}/{{point}}.tsv"
    wildcard_constraints:
        rule="baseline|naive",
    conda:
        "../envs/synlearn.yaml"
    params:
        section=SPIKING,
        point=lambda wildcards: SPIKING_POINTS[wildcards.point],
        base_seed=SEED,
        code=code_of("spiking_stairs.py"),
    script:
        "../scripts/spiking_stairs.py"


rule spiking_rasters:
    """Stairs data, hidden activity inferred by Q and sleep samples of M (default setting)."""
    input:
        compiled=compiled("spiking"),
    output:
        f"{RESULTS}/spiking/stairs/rasters.csv",
    log:
        f"{RESULTS}/logs/spiking/stairs/rasters.log",
    benchmark:
        f"{RESULTS}/benchmarks/spiking/stairs/rasters.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        section=SPIKING,
        base_seed=SEED,
        code=code_of("spiking_rasters.py"),
    script:
        "../scripts/spiking_rasters.py"


rule spiking_stairs_statistics:
    """Every stairs job in one table, its mean and sd over seeds, and the sensitivity."""
    input:
        [
            f"{RESULTS}/spiking/stairs/runs/{rule}/{point.name}.csv"
            for rule, point in SPIKING_JOBS
        ],
    output:
        curves=f"{RESULTS}/spiking/stairs/curves.csv",
        summary=f"{RESULTS}/spiking/stairs/summary.csv",
        sensitivity=f"{RESULTS}/spiking/stairs/sensitivity.csv",
    log:
        f"{RESULTS}/logs/spiking/stairs/statistics.log",
    benchmark:
        f"{RESULTS}/benchmarks/spiking/stairs/statistics.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        expected_rows=[
            point.seeds * len(checkpoints(SPIKING)) for _, point in SPIKING_JOBS
        ],
        code=code_of("spiking_stairs_statistics.py"),
    script:
        "../scripts/spiking_stairs_statistics.py"


rule spiking_maze_layout:
    """The rooms of the target and the control maze: images, replaced rooms, rates."""
    output:
        f"{RESULTS}/spiking/maze/rooms.csv",
    log:
        f"{RESULTS}/logs/spiking/maze/layout.log",
    benchmark:
        f"{RESULTS}/benchmarks/spiking/maze/layout.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        section=SPIKING,
        base_seed=SEED,
        code=code_of("spiking_maze_layout.py"),
    script:
        "../scripts/spiking_maze_layout.py"


rule spiking_maze:
    """One seed of the maze: learning in the target maze, then alternating, learning on."""
    input:
        compiled=compiled("spiking"),
        rooms=f"{RESULTS}/spiking/maze/rooms.csv",
    output:
        batches=f"{RESULTS}/spiking/maze/runs/seed{{seed}}/batches.csv",
        probe=f"{RESULTS}/spiking/maze/runs/seed{{seed}}/probe.csv",
    log:
        f"{RESULTS}/logs/spiking/maze/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/spiking/maze/seed{{seed}}.tsv"
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../envs/synlearn.yaml"
    params:
        section=SPIKING,
        base_seed=SEED,
        code=code_of("spiking_maze.py"),
    script:
        "../scripts/spiking_maze.py"


rule spiking_maze_statistics:
    """Every seed of the maze in one table each, the novelty statistics and a trajectory."""
    input:
        batches=[
            f"{RESULTS}/spiking/maze/runs/seed{seed}/batches.csv"
            for seed in range(SPIKING["maze"]["seeds"])
        ],
        probe=[
            f"{RESULTS}/spiking/maze/runs/seed{seed}/probe.csv"
            for seed in range(SPIKING["maze"]["seeds"])
        ],
    output:
        batches=f"{RESULTS}/spiking/maze/batches.csv",
        probe=f"{RESULTS}/spiking/maze/probe.csv",
        novelty=f"{RESULTS}/spiking/maze/novelty.csv",
        summary=f"{RESULTS}/spiking/maze/novelty_summary.csv",
        trajectory=f"{RESULTS}/spiking/maze/trajectory.csv",
    log:
        f"{RESULTS}/logs/spiking/maze/statistics.log",
    benchmark:
        f"{RESULTS}/benchmarks/spiking/maze/statistics.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        batch_rows=[SPIKING_MAZE_BATCHES] * SPIKING["maze"]["seeds"],
        learn_s=SPIKING["maze"]["learn_s"],
        trajectory_batches=SPIKING["maze"]["trajectory_batches"],
        code=code_of("spiking_maze_statistics.py"),
    script:
        "../scripts/spiking_maze_statistics.py"


rule spiking_published_comparison:
    """Each qualitative claim of the paper beside this run's measured quantity."""
    input:
        sensitivity=f"{RESULTS}/spiking/stairs/sensitivity.csv",
        novelty_summary=f"{RESULTS}/spiking/maze/novelty_summary.csv",
        probe=f"{RESULTS}/spiking/maze/probe.csv",
    output:
        report(
            published_table("spiking"),
            caption="../report/spiking_published_comparison.rst",
            category=SPIKING_TITLE,
            subcategory="Ours vs published",
            labels={"table": "published_comparison"},
        ),
    log:
        f"{RESULTS}/logs/spiking/published_comparison.log",
    benchmark:
        f"{RESULTS}/benchmarks/spiking/published_comparison.tsv"
    group:
        "post"  # on a cluster, batched with the statistics (see profiles/slurm)
    conda:
        "../envs/synlearn.yaml"
    params:
        family="spiking",
        published=published_values("spiking"),
        code=code_of("published_comparison.py", "synlearn.spiking.stats"),
    script:
        "../scripts/published_comparison.py"
