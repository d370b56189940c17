# One job per (experiment, setting) holding all its seeds (batched in one process).
rule train_run:
    input:
        data=lambda wc: dataset_files(config["experiments"][wc.experiment]["dataset"])["npz"],
    output:
        metrics="results/runs/{experiment}/{setting}/metrics.csv",
        checkpoints="results/runs/{experiment}/{setting}/checkpoints.pt",
        trajectory="results/runs/{experiment}/{setting}/trajectory.npz",
        meta="results/runs/{experiment}/{setting}/meta.json",
    params:
        code=code("scripts/train.py"),
        run=lambda wc: cfg.run_spec(config, wc.experiment, wc.setting),
        # Not an output: Snakemake deletes a killed job's outputs, the resume state must survive.
        resume="results/runs/{experiment}/{setting}/resume.pt",
    priority: CHAIN + 2
    log:
        "results/logs/train/{experiment}/{setting}.log",
    benchmark:
        "results/benchmarks/train/{experiment}/{setting}.tsv"
    threads: THREADS
    resources:
        runtime=120,
        mem_mb=4000,
        gpu=config["gpus"],
    conda:
        ENV
    script:
        "../../scripts/train.py"


rule train:
    input:
        all_training(),
