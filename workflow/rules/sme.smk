# E1: one job per (keep_prob, lr) cell, all its methods and paths in one process.
rule sme_cell:
    input:
        data=dataset_files(config["sme"]["dataset"])["npz"],
    output:
        npz="results/sme/{cell}.npz",
        meta="results/sme/{cell}.json",
    wildcard_constraints:
        cell="|".join(SME_CELLS),
    params:
        code=code("scripts/sme_cell.py"),
        spec=lambda wc: cfg.sme_spec(config, wc.cell),
    priority: lambda wc: cfg.sme_cost(config, wc.cell)  # longest first: shortest makespan
    log:
        "results/logs/sme/{cell}.log",
    benchmark:
        "results/benchmarks/sme/{cell}.tsv"
    threads: THREADS
    resources:
        runtime=60,
        mem_mb=4000,
        gpu=config["gpus"],
    conda:
        ENV
    script:
        "../../scripts/sme_cell.py"
