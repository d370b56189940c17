rule prepare_data:
    output:
        npz=f"{DATA}.npz",
        meta=f"{DATA}.json",
        seal=seal_path("prepare_data", "{dataset}"),
    log:
        log_path("prepare_data", "{dataset}"),
    wildcard_constraints:
        dataset=one_of(config["datasets"]),
    cache: True
    priority: CHAIN + 3
    conda:
        ENV
    resources:
        runtime=30,
        mem_mb=4000,
    params:
        code=code("scripts/prepare_data.py"),
        spec=get_dataset_spec,
        data_dir=config["data_dir"],
    script:
        "../../scripts/prepare_data.py"


rule data:
    input:
        [dataset_files(name)["npz"] for name in config["datasets"]],
