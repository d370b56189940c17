# E2-E5: one job per dropout setting of the noise experiment and of each universality
# experiment, all its seeds in one process.
rule noise_setting:
    input:
        data=get_dataset,
        checkpoints=get_checkpoints,
        trajectory=get_trajectory,
        metrics=get_metrics,
    output:
        alignment="results/noise/{experiment}/{setting}/alignment.csv",
        directions="results/noise/{experiment}/{setting}/directions.csv",
        nulls="results/noise/{experiment}/{setting}/nulls.csv",
        diagnosis="results/noise/{experiment}/{setting}/diagnosis.csv",
        meta="results/noise/{experiment}/{setting}/meta.json",
        seal="results/seals/noise/{experiment}/{setting}.json",
    log:
        "results/logs/noise/{experiment}/{setting}.log",
    wildcard_constraints:
        experiment=one_of(cfg.universality_experiments(config)),
        setting=one_of({s for _, s in cfg.noise_jobs(config)}),
    cache: True
    priority: CHAIN + 1
    conda:
        ENV
    threads: THREADS
    resources:
        runtime=PLANNED["noise_setting"][0],
        mem_mb=PLANNED["noise_setting"][1],
        device_mb=PLANNED["noise_setting"][2],
        gpu=config["gpus"],
    params:
        code=code("scripts/noise.py"),
        spec=get_noise_spec,
    script:
        "../../scripts/noise.py"


# Dropout against SGD and Gaussian noise at dropout's magnitude at theta* (figS6).
rule noise_compare:
    input:
        data=get_dataset,
        checkpoints=get_checkpoints,
        alignment="results/noise/{experiment}/{setting}/alignment.csv",
    output:
        compare="results/noise/{experiment}/{setting}/compare.csv",
        seal="results/seals/noise_compare/{experiment}/{setting}.json",
    log:
        "results/logs/noise_compare/{experiment}/{setting}.log",
    wildcard_constraints:
        experiment=one_of([NOISE_EXPERIMENT]),
        setting=one_of(cfg.noise_settings(config)),
    cache: True
    priority: CHAIN
    conda:
        ENV
    threads: THREADS
    resources:
        runtime=PLANNED["noise_compare"][0],
        mem_mb=PLANNED["noise_compare"][1],
        device_mb=PLANNED["noise_compare"][2],
        gpu=config["gpus"],
    params:
        code=code("scripts/noise_compare.py"),
        spec=get_noise_spec,
    script:
        "../../scripts/noise_compare.py"


# figS8: dropout noise of other keep probabilities at theta* (one job per keep_prob, the first
# seeds of the noise experiment's first dropout setting).
rule noise_keep:
    input:
        data=get_dataset,
        checkpoints=get_checkpoints,
    output:
        directions="results/noise/{experiment}/{setting}/keep_sweep/p{keep_prob}.csv",
        seal="results/seals/noise_keep/{experiment}/{setting}/p{keep_prob}.json",
    log:
        "results/logs/noise_keep/{experiment}/{setting}/p{keep_prob}.log",
    wildcard_constraints:
        experiment=one_of([NOISE_EXPERIMENT]),
        setting=one_of(cfg.noise_settings(config)[:1]),
        keep_prob=one_of(f"{p:g}" for p in config["noise"]["keep_sweep"]["keep_probs"]),
    cache: True
    priority: CHAIN
    conda:
        ENV
    threads: THREADS
    resources:
        runtime=PLANNED["noise_keep"][0],
        mem_mb=PLANNED["noise_keep"][1],
        device_mb=PLANNED["noise_keep"][2],
        gpu=config["gpus"],
    params:
        code=code("scripts/noise_keep.py"),
        spec=get_keep_spec,
    script:
        "../../scripts/noise_keep.py"


# Table 7: the other mask convention at theta* of a dropout setting (the stage's K masks, the
# first noise.mask_sensitivity.seeds seeds).
rule noise_mask:
    input:
        data=get_dataset,
        checkpoints=get_checkpoints,
    output:
        directions="results/noise/{experiment}/{setting}/mask_{mask}.csv",
        seal="results/seals/noise_mask/{experiment}/{setting}/{mask}.json",
    log:
        "results/logs/noise_mask/{experiment}/{setting}/{mask}.log",
    wildcard_constraints:
        experiment=one_of([NOISE_EXPERIMENT]),
        setting=one_of(cfg.noise_settings(config)),
        mask=one_of(
            {
                cfg.mask_sensitivity_spec(config, s)["mask"]
                for s in cfg.noise_settings(config)
            }
        ),
    cache: True
    priority: CHAIN
    conda:
        ENV
    threads: THREADS
    resources:
        runtime=PLANNED["noise_mask"][0],
        mem_mb=PLANNED["noise_mask"][1],
        device_mb=PLANNED["noise_mask"][2],
        gpu=config["gpus"],
    params:
        code=code("scripts/noise_mask.py"),
        spec=get_mask_spec,
    script:
        "../../scripts/noise_mask.py"


# Table 8, figS9: flatness at the end of training, each dropout setting against its no-dropout
# baseline at the same lr, every seed (needs the experiment's baseline: true).
rule noise_sharpness:
    input:
        data=get_dataset,
        checkpoints=get_checkpoints,
        baseline=get_baseline_checkpoints,
    output:
        summary="results/noise/{experiment}/{setting}/sharpness.csv",
        landscape="results/noise/{experiment}/{setting}/landscape.csv",
        seal="results/seals/noise_sharpness/{experiment}/{setting}.json",
    log:
        "results/logs/noise_sharpness/{experiment}/{setting}.log",
    wildcard_constraints:
        experiment=one_of([NOISE_EXPERIMENT]),
        setting=one_of(cfg.noise_settings(config)),
    cache: True
    priority: CHAIN
    conda:
        ENV
    threads: THREADS
    resources:
        runtime=PLANNED["noise_sharpness"][0],
        mem_mb=PLANNED["noise_sharpness"][1],
        device_mb=PLANNED["noise_sharpness"][2],
        gpu=config["gpus"],
    params:
        code=code("scripts/noise_sharpness.py"),
        spec=get_sharpness_spec,
    script:
        "../../scripts/noise_sharpness.py"
