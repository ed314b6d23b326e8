rule compile_kernels:
    """Compile and cache a family's Numba kernels once, so parallel jobs do not all compile."""
    output:
        touch(f"{RESULTS}/.compiled/{{family}}"),
    log:
        # named like the benchmark file (the CPU record beside it pairs with that)
        f"{RESULTS}/logs/{{family}}/compile.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{family}}/compile.tsv"
    conda:
        "../envs/synlearn.yaml"
    params:
        code=lambda wildcards: code_of(
            "compile_kernels.py", f"synlearn.{wildcards.family}.pipeline"
        ),
    script:
        "../scripts/compile_kernels.py"
