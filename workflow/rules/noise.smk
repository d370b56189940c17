# E2-E5: one job per dropout setting of the noise experiment and of each universality
# experiment, all its seeds in one process.
rule noise_setting:
    input:
        data=lambda wc: dataset_files(config["experiments"][wc.experiment]["dataset"])["npz"],
        checkpoints=lambda wc: f"{run_dir(wc.experiment, wc.setting)}/checkpoints.pt",
        trajectory=lambda wc: f"{run_dir(wc.experiment, wc.setting)}/trajectory.npz",
    output:
        alignment="results/noise/{experiment}/{setting}/alignment.csv",
        directions="results/noise/{experiment}/{setting}/directions.csv",
        nulls="results/noise/{experiment}/{setting}/nulls.csv",
        meta="results/noise/{experiment}/{setting}/meta.json",
    wildcard_constraints:
        experiment="|".join(cfg.universality_experiments(config)),
        setting="|".join(s for _, s in cfg.noise_jobs(config)),
    params:
        code=code("scripts/noise.py"),
        spec=lambda wc: cfg.noise_spec(config, wc.experiment, wc.setting),
    priority: CHAIN + 1
    log:
        "results/logs/noise/{experiment}/{setting}.log",
    benchmark:
        "results/benchmarks/noise/{experiment}/{setting}.tsv"
    threads: THREADS
    resources:
        runtime=60,
        mem_mb=6000,
        gpu=config["gpus"],
    conda:
        ENV
    script:
        "../../scripts/noise.py"


# Dropout against SGD and Gaussian noise at dropout's magnitude at theta* (figS6).
rule noise_compare:
    input:
        data=lambda wc: dataset_files(config["experiments"][wc.experiment]["dataset"])["npz"],
        checkpoints=lambda wc: f"{run_dir(wc.experiment, wc.setting)}/checkpoints.pt",
        alignment="results/noise/{experiment}/{setting}/alignment.csv",
    output:
        compare="results/noise/{experiment}/{setting}/compare.csv",
    wildcard_constraints:
        experiment=NOISE_EXPERIMENT,
        setting="|".join(cfg.noise_settings(config)),
    params:
        code=code("scripts/noise_compare.py"),
        spec=lambda wc: cfg.noise_spec(config, wc.experiment, wc.setting),
    priority: CHAIN
    log:
        "results/logs/noise_compare/{experiment}/{setting}.log",
    benchmark:
        "results/benchmarks/noise_compare/{experiment}/{setting}.tsv"
    threads: THREADS
    resources:
        runtime=30,
        mem_mb=4000,
        gpu=config["gpus"],
    conda:
        ENV
    script:
        "../../scripts/noise_compare.py"


# figS8: dropout noise of other keep probabilities at theta* (one job per keep_prob, the first
# seeds of the noise experiment's first dropout setting).
rule noise_keep:
    input:
        data=lambda wc: dataset_files(config["experiments"][wc.experiment]["dataset"])["npz"],
        checkpoints=lambda wc: f"{run_dir(wc.experiment, wc.setting)}/checkpoints.pt",
    output:
        directions="results/noise/{experiment}/{setting}/keep_sweep/p{keep_prob}.csv",
    wildcard_constraints:
        experiment=NOISE_EXPERIMENT,
        setting=cfg.noise_settings(config)[0],
        keep_prob="|".join(f"{p:g}" for p in config["noise"]["keep_sweep"]["keep_probs"]) or "none",
    params:
        code=code("scripts/noise_keep.py"),
        spec=lambda wc: {**cfg.keep_sweep_spec(config), "keep_prob": float(wc.keep_prob)},
    priority: CHAIN
    log:
        "results/logs/noise_keep/{experiment}/{setting}/p{keep_prob}.log",
    benchmark:
        "results/benchmarks/noise_keep/{experiment}/{setting}/p{keep_prob}.tsv"
    threads: THREADS
    resources:
        runtime=30,
        mem_mb=3000,
        gpu=config["gpus"],
    conda:
        ENV
    script:
        "../../scripts/noise_keep.py"
