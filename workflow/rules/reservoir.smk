rule compile_kernels:
    """Compile and cache the Numba kernels once, so parallel jobs do not all compile."""
    output:
        touch(f"{RESULTS}/.kernels-compiled-{CODE['reservoir']}"),
    log:
        f"{RESULTS}/logs/compile_kernels.log",
    benchmark:
        f"{RESULTS}/benchmarks/reservoir/compile.tsv"
    conda:
        "../envs/synlearn.yaml"
    script:
        "../scripts/compile_kernels.py"


rule reservoir_train:
    """Every target x rule setting of one network, batched in one kernel call."""
    input:
        targets=f"{RESULTS}/reservoir/{{study}}/{{variant}}/targets.csv",
        compiled=rules.compile_kernels.output,
    output:
        curves=f"{RESULTS}/reservoir/{{study}}/{{variant}}/network{{network}}/curves.csv",
        traces=f"{RESULTS}/reservoir/{{study}}/{{variant}}/network{{network}}/traces.csv",
        rates=f"{RESULTS}/reservoir/{{study}}/{{variant}}/network{{network}}/rates.csv",
    log:
        f"{RESULTS}/logs/reservoir/{{study}}/{{variant}}/network{{network}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/reservoir/{{study}}/{{variant}}/network{{network}}.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        variant=variant_of,
        seed=SEED,
        code=CODE["reservoir"],
    script:
        "../scripts/train_reservoir.py"
