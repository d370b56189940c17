# E1: one job per (keep_prob, lr) cell, all its methods and paths in one process.
rule sme_cell:
    input:
        data=dataset_files(config["sme"]["dataset"])["npz"],
    output:
        npz=f"{CELL}.npz",
        meta=f"{CELL}.json",
        seal=seal_path("sme", "{cell}"),
    log:
        log_path("sme", "{cell}"),
    wildcard_constraints:
        cell=one_of(SME_CELLS),
    cache: True
    priority: get_sme_cost  # longest first: shortest makespan
    conda:
        ENV
    threads: THREADS
    resources:
        **planned("sme_cell", get_sme_spec),
    params:
        code=code("scripts/sme_cell.py"),
        spec=get_sme_spec,
    script:
        "../../scripts/sme_cell.py"


# E1's exactly solvable reference (linear regression with input dropout): exact weak errors.
rule sme_exact:
    output:
        points=f"{EXACT}/points.csv",
        orders=f"{EXACT}/orders.csv",
        seal=seal_path("sme", "exact"),
    log:
        log_path("sme", "exact"),
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


# The same model through the cells' Monte Carlo code (sme.linear): one job per lr.
rule sme_linear:
    output:
        npz=f"{EXACT}/mc_lr{{lr}}.npz",
        seal=seal_path("sme", "linear_lr{lr}"),
    log:
        log_path("sme", "linear_lr{lr}"),
    wildcard_constraints:
        lr=one_of(LINEAR_LRS),
    cache: True
    conda:
        ENV
    threads: THREADS
    resources:
        runtime=lambda wc: 10 + LINEAR_SPEC["paths"] // 1000,
        mem_mb=2000,
    params:
        code=code("scripts/sme_linear.py"),
        spec=LINEAR_SPEC,
    script:
        "../../scripts/sme_linear.py"
