# One job per (experiment, setting) holding all its seeds (batched in one process).
rule train_run:
    input:
        data=get_dataset,
    output:
        metrics=f"{RUN}/metrics.csv",
        checkpoints=f"{RUN}/checkpoints.pt",
        trajectory=f"{RUN}/trajectory.npz",
        meta=f"{RUN}/meta.json",
        seal=seal_path("train", "{experiment}/{setting}"),
    log:
        log_path("train", "{experiment}/{setting}"),
    wildcard_constraints:
        experiment=one_of(config["experiments"]),
        setting=one_of(
            {
                s["name"]
                for e in config["experiments"].values()
                for s in cfg.settings(e)
            }
        ),
    cache: True
    priority: CHAIN + 2
    conda:
        ENV
    threads: THREADS
    resources:
        **planned("train_run", get_run_spec),
    params:
        code=code("scripts/train.py"),
        run=get_run_spec,
        # Not an output: Snakemake deletes a killed job's outputs, the resume state must survive.
        resume=f"{RUN}/resume.pt",
    script:
        "../../scripts/train.py"


rule train:
    input:
        all_training(),
