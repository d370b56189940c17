# Figures and tables: jupytext notebooks executed by papermill (scripts/run_notebook.py).
# Each entry names its notebook, the files it reads (its whole upstream) and its caption.
FIGURES["figS1_training"] = {
    "notebook": "notebooks/figS1_training.py",
    "inputs": lambda: {"metrics": experiment_metrics(config["figures"]["figS1"]["experiment"])},
    "caption": "Training curves of the FNN with and without dropout: dropout-free train loss, test "
    "loss and test accuracy against the GD step, mean and 95% band over seeds, one column per "
    "(keep_prob, lr) with the keep_prob = 1 run at the same lr as the no-dropout reference "
    "(supplementary; the paper's Fig. S1 analogue).",
}
TABLES["table1_accuracy"] = {
    "notebook": "notebooks/table1_accuracy.py",
    "inputs": lambda: {"metrics": experiment_metrics(config["figures"]["table1"]["experiment"])},
    "caption": "Final test accuracy with and without dropout per setting, mean and 95% interval "
    "over seeds (the group's precursor reports 98.7 / 98.1 for FNN / MNIST).",
}


rule figure:
    input:
        unpack(notebook_inputs(FIGURES)),
    output:
        pdf="figures/{name}.pdf",
        png=report(
            "figures/{name}.png",
            caption="../report/caption.rst",
            category="Figures",
        ),
        notebook="results/notebooks/{name}.ipynb",
    wildcard_constraints:
        name="|".join(FIGURES),
    params:
        caption=lambda wc: FIGURES[wc.name]["caption"],
    log:
        "results/logs/figure/{name}.log",
    benchmark:
        "results/benchmarks/figure/{name}.tsv"
    resources:
        runtime=20,
        mem_mb=4000,
    conda:
        ENV
    script:
        "../../scripts/run_notebook.py"


rule table:
    input:
        unpack(notebook_inputs(TABLES)),
    output:
        csv=report(
            "figures/{name}.csv",
            caption="../report/caption.rst",
            category="Tables",
        ),
        md="figures/{name}.md",
        notebook="results/notebooks/{name}.ipynb",
    wildcard_constraints:
        name="|".join(TABLES),
    params:
        caption=lambda wc: TABLES[wc.name]["caption"],
    log:
        "results/logs/table/{name}.log",
    benchmark:
        "results/benchmarks/table/{name}.tsv"
    resources:
        runtime=20,
        mem_mb=4000,
    conda:
        ENV
    script:
        "../../scripts/run_notebook.py"


rule figS1:
    input:
        expand("figures/figS1_training.{ext}", ext=("pdf", "png")),


rule table1:
    input:
        expand("figures/table1_accuracy.{ext}", ext=("csv", "md")),
