# E2-E5: one job per dropout setting of the noise experiment and of each universality
# experiment, all its seeds in one process.
rule noise_setting:
    input:
        data=get_dataset,
        checkpoints=get_checkpoints,
        trajectory=get_trajectory,
        metrics=get_metrics,
    output:
        alignment=f"{NOISE}/alignment.csv",
        directions=f"{NOISE}/directions.csv",
        nulls=f"{NOISE}/nulls.csv",
        diagnosis=f"{NOISE}/diagnosis.csv",
        meta=f"{NOISE}/meta.json",
        seal=seal_path("noise", "{experiment}/{setting}"),
    log:
        log_path("noise", "{experiment}/{setting}"),
    wildcard_constraints:
        experiment=one_of(cfg.universality_experiments(config)),
        setting=one_of({s for _, s in cfg.noise_jobs(config)}),
    cache: True
    priority: CHAIN + 1
    conda:
        ENV
    threads: THREADS
    resources:
        **planned("noise_setting", get_noise_spec),
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
        alignment=f"{NOISE}/alignment.csv",
    output:
        compare=f"{NOISE}/compare.csv",
        seal=seal_path("noise_compare", "{experiment}/{setting}"),
    log:
        log_path("noise_compare", "{experiment}/{setting}"),
    wildcard_constraints:
        experiment=one_of([NOISE_EXPERIMENT]),
        setting=one_of(cfg.noise_settings(config)),
    cache: True
    priority: CHAIN
    conda:
        ENV
    threads: THREADS
    resources:
        **planned("noise_compare", get_noise_spec),
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
        directions=f"{NOISE}/keep_sweep/p{{keep_prob}}.csv",
        seal=seal_path("noise_keep", "{experiment}/{setting}/p{keep_prob}"),
    log:
        log_path("noise_keep", "{experiment}/{setting}/p{keep_prob}"),
    wildcard_constraints:
        experiment=one_of([NOISE_EXPERIMENT]),
        setting=one_of(cfg.noise_settings(config)[:1]),
        keep_prob=one_of(KEEP_SWEEP),
    cache: True
    priority: CHAIN
    conda:
        ENV
    threads: THREADS
    resources:
        **planned("noise_keep", get_keep_spec),
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
        directions=f"{NOISE}/mask_{{mask}}.csv",
        seal=seal_path("noise_mask", "{experiment}/{setting}/{mask}"),
    log:
        log_path("noise_mask", "{experiment}/{setting}/{mask}"),
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
        **planned("noise_mask", get_mask_spec),
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
        summary=f"{NOISE}/sharpness.csv",
        landscape=f"{NOISE}/landscape.csv",
        seal=seal_path("noise_sharpness", "{experiment}/{setting}"),
    log:
        log_path("noise_sharpness", "{experiment}/{setting}"),
    wildcard_constraints:
        experiment=one_of([NOISE_EXPERIMENT]),
        setting=one_of(cfg.noise_settings(config)),
    cache: True
    priority: CHAIN
    conda:
        ENV
    threads: THREADS
    resources:
        **planned("noise_sharpness", get_sharpness_spec),
    params:
        code=code("scripts/noise_sharpness.py"),
        spec=get_sharpness_spec,
    script:
        "../../scripts/noise_sharpness.py"
