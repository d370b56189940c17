# One job per (experiment, setting) holding all its seeds (batched in one process).
rule train_run:
    input:
        data=get_dataset,
    output:
        metrics="results/runs/{experiment}/{setting}/metrics.csv",
        checkpoints="results/runs/{experiment}/{setting}/checkpoints.pt",
        trajectory="results/runs/{experiment}/{setting}/trajectory.npz",
        meta="results/runs/{experiment}/{setting}/meta.json",
        seal="results/seals/train/{experiment}/{setting}.json",
    log:
        "results/logs/train/{experiment}/{setting}.log",
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
        runtime=PLANNED["train_run"][0],
        mem_mb=PLANNED["train_run"][1],
        device_mb=PLANNED["train_run"][2],
        gpu=config["gpus"],
    params:
        code=code("scripts/train.py"),
        run=get_run_spec,
        # Not an output: Snakemake deletes a killed job's outputs, the resume state must survive.
        resume="results/runs/{experiment}/{setting}/resume.pt",
    script:
        "../../scripts/train.py"


rule train:
    input:
        all_training(),
