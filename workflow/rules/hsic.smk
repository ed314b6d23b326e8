from synlearn.hsic import TITLE as HSIC_TITLE
from synlearn.hsic.pipeline import data_files
from synlearn.hsic.studies import (
    resolve_settings,
    studies,
    study_settings,
    unique_jobs,
)

HSIC = config["hsic"]
HSIC_SETTINGS = resolve_settings(HSIC)
HSIC_JOBS = unique_jobs(HSIC_SETTINGS)


wildcard_constraints:
    digest=r"[0-9a-f]{12}",
    window=r"\d+",


rule hsic_download_mnist:
    """One MNIST file, fetched only when the config asks for it, checked by its SHA-256."""
    output:
        os.path.join(
            HSIC["mnist"]["folder"] if HSIC.get("mnist") else "mnist", "{name}.gz"
        ),
    log:
        f"{RESULTS}/logs/hsic/download_{{name}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/hsic/download_{{name}}.tsv"
    wildcard_constraints:
        name=r"(train|t10k)-(images-idx3|labels-idx1)-ubyte",
    conda:
        "../envs/synlearn.yaml"
    params:
        mnist=HSIC.get("mnist"),
        code=code_of("hsic_download.py"),
    script:
        "../scripts/hsic_download.py"


rule hsic_train:
    """A slice of the models of one setting, trained by the bio rule or back-prop."""
    input:
        compiled=compiled("hsic"),
        data=lambda wildcards: data_files(
            HSIC_JOBS[wildcards.digest].settings, HSIC.get("mnist")
        ),
    output:
        f"{RESULTS}/hsic/runs/{{digest}}.csv",
    log:
        f"{RESULTS}/logs/hsic/runs/{{digest}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/hsic/runs/{{digest}}.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        job=lambda wildcards: HSIC_JOBS[wildcards.digest],
        mnist=HSIC.get("mnist"),
        base_seed=SEED,
        code=code_of("hsic_train.py"),
    script:
        "../scripts/hsic_train.py"


rule hsic_statistics:
    """A study's runs labelled with their settings, and their mean and sd over models."""
    input:
        lambda wildcards: [
            f"{RESULTS}/{job.path}"
            for setting in study_settings(HSIC_SETTINGS, wildcards.study)
            for job in setting.jobs
        ],
    output:
        runs=f"{RESULTS}/hsic/{{study}}/runs.csv",
        summary=f"{RESULTS}/hsic/{{study}}/summary.csv",
    log:
        f"{RESULTS}/logs/hsic/{{study}}/statistics.log",
    benchmark:
        f"{RESULTS}/benchmarks/hsic/{{study}}/statistics.tsv"
    wildcard_constraints:
        study="|".join(studies(HSIC_SETTINGS)),
    conda:
        "../envs/synlearn.yaml"
    params:
        settings=lambda wildcards: study_settings(HSIC_SETTINGS, wildcards.study),
        code=code_of("hsic_statistics.py"),
    script:
        "../scripts/hsic_statistics.py"


rule hsic_alignment:
    """Cosine of the published xi variants with the exact gradient, at one window."""
    input:
        compiled=compiled("hsic"),
        data=data_files(HSIC["tasks"][HSIC["alignment"]["task"]], HSIC.get("mnist")),
    output:
        f"{RESULTS}/hsic/alignment/window{{window}}.csv",
    log:
        f"{RESULTS}/logs/hsic/alignment/window{{window}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/hsic/alignment/window{{window}}.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        section=HSIC,
        base_seed=SEED,
        code=code_of("hsic_alignment.py"),
    script:
        "../scripts/hsic_alignment.py"


rule hsic_alignment_collect:
    """Every window's alignment in one table."""
    input:
        [
            f"{RESULTS}/hsic/alignment/window{window}.csv"
            for window in HSIC["alignment"]["windows"]
        ],
    output:
        f"{RESULTS}/hsic/alignment.csv",
    log:
        f"{RESULTS}/logs/hsic/alignment_collect.log",
    benchmark:
        f"{RESULTS}/benchmarks/hsic/alignment_collect.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        code=code_of("collect_tables.py"),
    script:
        "../scripts/collect_tables.py"


rule hsic_published_comparison:
    """The main study's final test accuracies beside the published ones."""
    input:
        summary=f"{RESULTS}/hsic/main/summary.csv",
    output:
        report(
            published_table("hsic"),
            caption="../report/hsic_published_comparison.rst",
            category=HSIC_TITLE,
            subcategory="Ours vs published",
            labels={"table": "published_comparison"},
        ),
    log:
        f"{RESULTS}/logs/hsic/published_comparison.log",
    benchmark:
        f"{RESULTS}/benchmarks/hsic/published_comparison.tsv"
    group:
        "post"  # on a cluster, batched with the statistics (see profiles/slurm)
    conda:
        "../envs/synlearn.yaml"
    params:
        family="hsic",
        published=published_values("hsic"),
        code=code_of("published_comparison.py", "synlearn.hsic.stats"),
    script:
        "../scripts/published_comparison.py"


MEMORY = HSIC["memory"]


rule hsic_memory:
    """The working memory trained toward the window xi: held-out NMSE, control, ridge."""
    input:
        compiled=compiled("hsic"),
    output:
        nmse=f"{RESULTS}/hsic/memory/{{mask}}/seed{{seed}}/nmse.csv",
        trace=f"{RESULTS}/hsic/memory/{{mask}}/seed{{seed}}/trace.csv",
    log:
        f"{RESULTS}/logs/hsic/memory/{{mask}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/hsic/memory/{{mask}}/seed{{seed}}.tsv"
    wildcard_constraints:
        mask="fixed|published",
        seed=r"\d+",
    conda:
        "../envs/synlearn.yaml"
    params:
        spec=MEMORY,
        base_seed=SEED,
        code=code_of("hsic_memory.py"),
    script:
        "../scripts/hsic_memory.py"


rule hsic_memory_statistics:
    """Every mask and seed in one table each, and the NMSE over seeds."""
    input:
        nmse=[
            f"{RESULTS}/hsic/memory/{mask}/seed{seed}/nmse.csv"
            for mask in MEMORY["masks"]
            for seed in range(MEMORY["seeds"])
        ],
        trace=[
            f"{RESULTS}/hsic/memory/{mask}/seed{seed}/trace.csv"
            for mask in MEMORY["masks"]
            for seed in range(MEMORY["seeds"])
        ],
    output:
        nmse=f"{RESULTS}/hsic/memory/nmse.csv",
        summary=f"{RESULTS}/hsic/memory/summary.csv",
        trace=f"{RESULTS}/hsic/memory/trace.csv",
    log:
        f"{RESULTS}/logs/hsic/memory/statistics.log",
    benchmark:
        f"{RESULTS}/benchmarks/hsic/memory/statistics.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        expected_rows=[
            5 + 4 * len(MEMORY["ridge"])
            for mask in MEMORY["masks"]
            for seed in range(MEMORY["seeds"])
        ],
        code=code_of("hsic_memory_statistics.py"),
    script:
        "../scripts/hsic_memory_statistics.py"


CLOSED_LOOP = HSIC["closed_loop"]


rule hsic_closed_loop:
    """The bio rule with each hidden layer's xi from an estimator, on one task."""
    input:
        compiled=compiled("hsic"),
        data=lambda wildcards: data_files(
            HSIC["tasks"][wildcards.task], HSIC.get("mnist")
        ),
    output:
        f"{RESULTS}/hsic/closed_loop/{{task}}/{{signal}}.csv",
    log:
        f"{RESULTS}/logs/hsic/closed_loop/{{task}}/{{signal}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/hsic/closed_loop/{{task}}/{{signal}}.tsv"
    wildcard_constraints:
        task="|".join(HSIC["tasks"]),
        signal="window|reservoir|tracking|memoryless",
    conda:
        "../envs/synlearn.yaml"
    params:
        section=HSIC,
        base_seed=SEED,
        code=code_of("hsic_closed_loop.py"),
    script:
        "../scripts/hsic_closed_loop.py"


rule hsic_closed_loop_statistics:
    """Every task and signal of the closed loop, and the accuracy over models."""
    input:
        [
            f"{RESULTS}/hsic/closed_loop/{task}/{signal}.csv"
            for task in CLOSED_LOOP["tasks"]
            for signal in CLOSED_LOOP["signals"]
        ],
    output:
        runs=f"{RESULTS}/hsic/closed_loop/runs.csv",
        summary=f"{RESULTS}/hsic/closed_loop/summary.csv",
    log:
        f"{RESULTS}/logs/hsic/closed_loop/statistics.log",
    benchmark:
        f"{RESULTS}/benchmarks/hsic/closed_loop/statistics.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        expected_rows=[
            CLOSED_LOOP["models"] * (CLOSED_LOOP["epochs"] + 1)
            for task in CLOSED_LOOP["tasks"]
            for signal in CLOSED_LOOP["signals"]
        ],
        code=code_of("hsic_closed_loop_statistics.py"),
    script:
        "../scripts/hsic_closed_loop_statistics.py"
