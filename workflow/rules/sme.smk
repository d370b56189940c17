# E1: one job per (keep_prob, lr) cell, all its methods and paths in one process.
rule sme_cell:
    input:
        data=dataset_files(config["sme"]["dataset"])["npz"],
    output:
        npz="results/sme/{cell}.npz",
        meta="results/sme/{cell}.json",
        seal="results/seals/sme/{cell}.json",
    log:
        "results/logs/sme/{cell}.log",
    wildcard_constraints:
        cell=one_of(SME_CELLS),
    cache: True
    priority: get_sme_cost  # longest first: shortest makespan
    conda:
        ENV
    threads: THREADS
    resources:
        runtime=PLANNED["sme_cell"][0],
        mem_mb=PLANNED["sme_cell"][1],
        device_mb=PLANNED["sme_cell"][2],
        gpu=config["gpus"],
    params:
        code=code("scripts/sme_cell.py"),
        spec=get_sme_spec,
    script:
        "../../scripts/sme_cell.py"


# E1's exactly solvable reference (linear regression with input dropout): exact weak errors.
rule sme_exact:
    output:
        points="results/sme/exact/points.csv",
        orders="results/sme/exact/orders.csv",
        seal="results/seals/sme/exact.json",
    log:
        "results/logs/sme/exact.log",
    cache: True
    conda:
        ENV
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        code=code("scripts/sme_exact.py"),
        spec=config["sme"]["exact"],
    script:
        "../../scripts/sme_exact.py"
