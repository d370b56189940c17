# E1: one job per (keep_prob, lr) cell, all its methods and paths in one process.
rule sme_cell:
    input:
        data=dataset_files(config["sme"]["dataset"])["npz"],
    output:
        npz="results/sme/{cell}.npz",
        meta="results/sme/{cell}.json",
    log:
        "results/logs/sme/{cell}.log",
    benchmark:
        "results/benchmarks/sme/{cell}.tsv"
    wildcard_constraints:
        cell=one_of(SME_CELLS),
    priority: get_sme_cost  # longest first: shortest makespan
    conda:
        ENV
    threads: THREADS
    resources:
        runtime=60,
        mem_mb=4000,
        gpu=config["gpus"],
    params:
        code=code("scripts/sme_cell.py"),
        spec=get_sme_spec,
    script:
        "../../scripts/sme_cell.py"
