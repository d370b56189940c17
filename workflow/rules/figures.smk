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
FIGURES["fig1_sme"] = {
    "notebook": "notebooks/fig1_sme.py",
    "inputs": lambda: {"cells": sme_cell_files("order")},
    "params": lambda: {
        "panels": [[s["keep_prob"], s["lr"]] for s in config["sme"]["figure1"]]
    },
    "caption": "Dropout against its stochastic modified equations (two-layer tanh net, teacher "
    "data): E[R_S] and E[test loss] against t = N lr for dropout GD, the order-1 and order-2 SME, "
    "SVAG and gradient flow on L_S, mean and 95% band over the paths; bottom row: each method "
    "minus dropout. Paper Fig. 1.",
}
FIGURES["figS2_sme_weak_order"] = {
    "notebook": "notebooks/figS2_sme_weak_order.py",
    "inputs": lambda: {"cells": sme_cell_files("order")},
    "params": lambda: {
        "resolve_ratio": config["sme"]["resolve_ratio"],
        "bootstrap": config["sme"]["bootstrap"],
        "seed": config["sme"]["seed"],
    },
    "caption": "Weak error max_t |E g(dropout) - E g(SME)| against the learning rate (log-log) "
    "for the order-1 and order-2 SME and SVAG, with reference slopes 1 and 2 and the fitted "
    "orders (95% bootstrap interval over paths). Error bars: Monte Carlo standard error; hollow "
    "markers: errors not resolved by the Monte Carlo (below resolve_ratio standard errors).",
}
FIGURES["figS3_sme_heatmap"] = {
    "notebook": "notebooks/figS3_sme_heatmap.py",
    "inputs": lambda: {"cells": sme_cell_files("heatmap")},
    "params": lambda: {"resolve_ratio": config["sme"]["resolve_ratio"]},
    "caption": "Weak error of the order-1 SME over learning rates and keep probabilities "
    "(a reviewer's request), one panel per test function; marked cells are not resolved by the "
    "Monte Carlo, grey cells diverged.",
}
TABLES["table2_sme_order"] = {
    "notebook": "notebooks/table2_sme_order.py",
    "inputs": lambda: {"cells": sme_cell_files("order")},
    "params": lambda: {
        "resolve_ratio": config["sme"]["resolve_ratio"],
        "bootstrap": config["sme"]["bootstrap"],
        "seed": config["sme"]["seed"],
    },
    "caption": "Fitted weak order (slope of log weak error against log lr) with a 95% bootstrap "
    "interval, per method, test function and keep probability; the theory predicts 1 for the "
    "order-1 SME and SVAG and 2 for the order-2 SME.",
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
        extra=lambda wc: FIGURES[wc.name].get("params", dict)(),
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
        extra=lambda wc: TABLES[wc.name].get("params", dict)(),
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


rule fig1:
    input:
        expand("figures/fig1_sme.{ext}", ext=("pdf", "png")),


rule figS2:
    input:
        expand("figures/figS2_sme_weak_order.{ext}", ext=("pdf", "png")),


rule figS3:
    input:
        expand("figures/figS3_sme_heatmap.{ext}", ext=("pdf", "png")),


rule table2:
    input:
        expand("figures/table2_sme_order.{ext}", ext=("csv", "md")),


rule sme:
    input:
        rules.fig1.input,
        rules.figS2.input,
        rules.figS3.input,
        rules.table2.input,
