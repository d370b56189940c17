rule prepare_data:
    output:
        npz="results/data/{dataset}.npz",
        meta="results/data/{dataset}.json",
    params:
        code=code("scripts/prepare_data.py"),
        spec=lambda wc: config["datasets"][wc.dataset],
        data_dir=config["data_dir"],
    priority: CHAIN + 3
    log:
        "results/logs/prepare_data/{dataset}.log",
    benchmark:
        "results/benchmarks/prepare_data/{dataset}.tsv"
    resources:
        runtime=30,
        mem_mb=4000,
    conda:
        ENV
    script:
        "../../scripts/prepare_data.py"


rule data:
    input:
        [dataset_files(name)["npz"] for name in config["datasets"]],
