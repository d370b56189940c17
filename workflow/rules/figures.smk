# Figures and tables: jupytext notebooks executed by papermill (scripts/run_notebook.py).
# Each entry names its notebook, the files it reads (its whole upstream) and its caption.
FIGURES["figS1_training"] = {
    "notebook": "notebooks/figS1_training.py",
    "inputs": lambda: {
        "metrics": experiment_metrics(config["figures"]["figS1"]["experiment"])
    },
    "caption": "Training curves of the FNN with and without dropout: dropout-free train loss, test "
    "loss and test accuracy against the GD step, mean and 95% band over seeds, one column per "
    "(keep_prob, lr) with the keep_prob = 1 run at the same lr as the no-dropout reference "
    "(supplementary; the paper's Fig. S1 analogue).",
}
FIGURES["fig1_sme"] = {
    "notebook": "notebooks/fig1_sme.py",
    "group": "sme",
    "inputs": lambda: {"cells": sme_cell_files("order")},
    "params": lambda: {
        "panels": [[s["keep_prob"], s["lr"]] for s in config["sme"]["figure1"]]
    },
    "caption": "Dropout against its stochastic modified equations (two-layer tanh net, teacher "
    "data): E[R_S] and E[test loss] against t = N lr for dropout GD, the order-1 and order-2 SME, "
    "SVAG and gradient flow on L_S, mean and 95% band over the paths; third row: the "
    "fluctuation E|theta - E theta|^2 over the paths (none for the noise-free flow); bottom row: "
    "each method's E[R_S] minus dropout's. Paper Fig. 1.",
}
FIGURES["figS2_sme_weak_order"] = {
    "notebook": "notebooks/figS2_sme_weak_order.py",
    "group": "sme",
    "inputs": lambda: {
        "cells": sme_cell_files("order"),
        "exact_points": f"{EXACT}/points.csv",
        "exact_orders": f"{EXACT}/orders.csv",
        "linear_cells": linear_files(),
    },
    "params": lambda: {
        "resolve_ratio": config["sme"]["resolve_ratio"],
        "bootstrap": config["sme"]["bootstrap"],
        "seed": config["sme"]["seed"],
    },
    "caption": "Weak error |E g(dropout) - E g(SME)| at the horizon T against the learning rate "
    "(log-log) for the order-1 and order-2 SME and SVAG, with reference slopes 1 and 2 and the "
    "fitted orders (95% bootstrap interval over paths), the noise-free controls, the "
    "fluctuations (Var R_S and E|theta - E theta|^2 over paths, relative errors) and the exactly "
    "solvable reference (exact errors, lines; the same model through the Monte Carlo code, "
    "markers). Error bars: Monte Carlo standard error (with the control variate of sme.control "
    "for the means); hollow markers: errors not resolved by the Monte Carlo (below "
    "resolve_ratio standard errors).",
}
FIGURES["figS3_sme_heatmap"] = {
    "notebook": "notebooks/figS3_sme_heatmap.py",
    "group": "sme",
    "inputs": lambda: {"cells": sme_cell_files("heatmap")},
    "params": lambda: {"resolve_ratio": config["sme"]["resolve_ratio"]},
    "caption": "Weak error of the order-1 SME over learning rates and keep probabilities "
    "(a reviewer's request) on a grid scaled by the noise (lr = x p to T = scaled_horizon p: the "
    "same steps in every row), one panel per test function; marked cells are not resolved by "
    "the Monte Carlo, grey cells diverged.",
}
TABLES["table2_sme_order"] = {
    "notebook": "notebooks/table2_sme_order.py",
    "group": "sme",
    "inputs": lambda: {
        "cells": sme_cell_files("order"),
        "exact_orders": f"{EXACT}/orders.csv",
        "linear_cells": linear_files(),
    },
    "params": lambda: {
        "resolve_ratio": config["sme"]["resolve_ratio"],
        "bootstrap": config["sme"]["bootstrap"],
        "seed": config["sme"]["seed"],
    },
    "caption": "Fitted weak order (the declared asymptotic rule over the weak errors at the "
    "horizon) with a 95% bootstrap interval, per method, test function and keep probability; "
    "the theory predicts 1 for the order-1 SME and SVAG and 2 for the order-2 SME on the means, "
    "1 for both SMEs and 0 for the noise-free flows on the fluctuations (relative errors); the "
    "exactly solvable reference exactly and through the Monte Carlo code.",
}
TABLES["table1_accuracy"] = {
    "notebook": "notebooks/table1_accuracy.py",
    "inputs": lambda: {
        "metrics": experiment_metrics(config["figures"]["table1"]["experiment"])
    },
    "caption": "Final test accuracy with and without dropout per setting, mean and 95% interval "
    "over seeds (the group's precursor reports 98.7 / 98.1 for FNN / MNIST).",
}
FIGURES["fig2_noise_structure"] = {
    "notebook": "notebooks/fig2_noise_structure.py",
    "group": "noise",
    "inputs": lambda: {
        "directions": noise_files("directions"),
        "compare": noise_files("compare"),
    },
    "params": lambda: {
        "flatness_factor": config["noise"]["flatness_factor"],
        "drift": config["noise"]["drift"],
    },
    "caption": "Noise structure of dropout at theta* (FNN, hidden-to-hidden block): PCA variance "
    "against interval flatness for trajectory data (the configured drift handling, with the "
    "protocol's controls) and random gradient data, and the variance along the Hessian's eigenvectors "
    "against the eigenvalue, with fitted log-log slopes and psi = -slope (mean and 95% interval "
    "over seeds). Paper Fig. 2.",
}
FIGURES["fig3_alignment"] = {
    "notebook": "notebooks/fig3_alignment.py",
    "group": "noise",
    "inputs": lambda: {
        "alignment": noise_files("alignment"),
        "nulls": noise_files("nulls"),
    },
    "caption": "Alignment alpha(theta_t) = Tr(H Sigma) / (|H|_F |Sigma|_F) over training, mean and "
    "95% band over seeds, against two null models: the same spectra with Haar-random eigenvectors "
    "and centred Wishart matrices (symmetric, not PSD). Paper Fig. 3.",
}
FIGURES["figS4_flatness_factor"] = {
    "notebook": "notebooks/figS4_flatness_factor.py",
    "group": "noise",
    "inputs": lambda: {"directions": noise_files("directions")},
    "params": lambda: {"drift": config["noise"]["drift"]},
    "caption": "Variance-flatness slope against the flatness factor (1.5, 2, e, 4): the paper says "
    "the factor does not matter.",
}
TABLES["table3_slopes"] = {
    "notebook": "notebooks/table3_slopes.py",
    "group": "noise",
    "inputs": lambda: {
        "directions": noise_files("directions"),
        "diagnosis": noise_files("diagnosis"),
        "compare": noise_files("compare"),
    },
    "params": lambda: {
        "flatness_factor": config["noise"]["flatness_factor"],
        "drift": config["noise"]["drift"],
        "exploration": config["noise"]["exploration"],
    },
    "caption": "Fitted slopes of the variance-flatness and Hessian-variance relations per setting "
    "and data kind, mean and 95% interval over seeds, psi = -slope beside Feng & Tu's anchor; "
    "trajectory data under every drift handling (the configured one first), and each "
    "trajectory window's diagnosis (trend, drift direction, training loss and accuracy, "
    "exploration phase by the declared rule), also for the SGD and isotropic runs.",
}
TABLES["table4_alignment"] = {
    "notebook": "notebooks/table4_alignment.py",
    "group": "noise",
    "inputs": lambda: {
        "alignment": noise_files("alignment"),
        "nulls": noise_files("nulls"),
    },
    "caption": "Final alignment alpha per setting with both null models (exact moments and "
    "Monte Carlo draws).",
}
FIGURES["figS6_noise_comparison"] = {
    "notebook": "notebooks/figS6_noise_comparison.py",
    "group": "noise",
    "inputs": lambda: {
        "compare": noise_files("compare"),
        "alignment": noise_files("alignment"),
        "directions": noise_files("directions"),
    },
    "params": lambda: {
        "flatness_factor": config["noise"]["flatness_factor"],
        "drift": config["noise"]["drift"],
    },
    "caption": "Dropout against mini-batch SGD and isotropic Gaussian noise of the same magnitude "
    "(Tr Sigma at theta*): alignment alpha with the Hessian and the variance-flatness slopes of "
    "gradient and trajectory data, each seed and the mean with its 95% interval (a reviewers' "
    "request).",
}
FIGURES["figS7_activations"] = {
    "notebook": "notebooks/figS7_activations.py",
    "group": "sme",
    "inputs": lambda: {"cells": activation_sweep_files()},
    "params": lambda: {
        "resolve_ratio": config["sme"]["resolve_ratio"],
        "bootstrap": config["sme"]["bootstrap"],
        "seed": config["sme"]["seed"],
    },
    "caption": "Weak error of the order-1 SME against the learning rate for several activations "
    "(the theory needs a smooth one; ReLU shows what happens where it fails), with the fitted "
    "order and its 95% bootstrap interval.",
}
FIGURES["figS5_universality"] = {
    "notebook": "notebooks/figS5_universality.py",
    "group": "universality",
    "inputs": lambda: {
        "alignment": [f for fs in universality_files("alignment").values() for f in fs],
        "directions": [
            f for fs in universality_files("directions").values() for f in fs
        ],
    },
    "params": lambda: {
        "labels": architecture_labels(),
        "flatness_factor": config["noise"]["flatness_factor"],
    },
    "caption": "Universality of the noise structure (E5): for each architecture, the inverse "
    "variance-flatness relation of the gradient data at theta*, the Hessian-variance relation "
    "and the alignment alpha(theta_t) over training, with fitted slopes and 95% intervals over "
    "seeds.",
}
TABLES["table5_universality"] = {
    "notebook": "notebooks/table5_universality.py",
    "group": "universality",
    "inputs": lambda: {
        "alignment": [f for fs in universality_files("alignment").values() for f in fs],
        "directions": [
            f for fs in universality_files("directions").values() for f in fs
        ],
        "metrics": [
            f
            for e in cfg.universality_experiments(config)
            for f in experiment_metrics(e)
        ],
        "diagnosis": [f for fs in universality_files("diagnosis").values() for f in fs],
    },
    "params": lambda: {
        "labels": architecture_labels(),
        "flatness_factor": config["noise"]["flatness_factor"],
        "drift": config["noise"]["drift"],
        "exploration": config["noise"]["exploration"],
    },
    "caption": "Universality (E5): per architecture, the variance-flatness slopes (gradient and "
    "trajectory data), the Hessian-variance slope, alpha at the final checkpoint and at theta*, "
    "and the test accuracy with and without dropout, mean and 95% interval over seeds.",
}
if config["noise"]["mask_sensitivity"]["seeds"]:
    TABLES["table7_mask_convention"] = {
        "notebook": "notebooks/table7_mask_convention.py",
        "group": "noise",
        "inputs": lambda: {
            "sensitivity": mask_sensitivity_files(),
            "alignment": noise_files("alignment"),
            "directions": noise_files("directions"),
        },
        "params": lambda: {"flatness_factor": config["noise"]["flatness_factor"]},
        "caption": "The mask convention at theta*: the runs' convention against the other one "
        "(per_step: one mask shared by the batch, the theory's; per_sample: torch's) on the "
        "same seeds and K: Tr Sigma, alpha(H, Sigma) and the gradient data's variance-flatness "
        "slope, mean and 95% interval over seeds.",
    }
if sharpness_files("sharpness"):
    TABLES["table8_sharpness"] = {
        "notebook": "notebooks/table8_sharpness.py",
        "group": "noise",
        "inputs": lambda: {"sharpness": sharpness_files("sharpness")},
        "caption": "Flatness at the end of training with and without dropout at the same lr: "
        "the whole network's top Hessian eigenvalue (Lanczos), its trace (Hutchinson) and the "
        "training loss, mean and 95% interval over seeds and the paired difference.",
    }
    FIGURES["figS9_sharpness"] = {
        "notebook": "notebooks/figS9_sharpness.py",
        "group": "noise",
        "inputs": lambda: {
            "sharpness": sharpness_files("sharpness"),
            "landscape": sharpness_files("landscape"),
        },
        "caption": "Flatness with and without dropout at the end of training: the loss along "
        "random filter-normalised directions (1-D landscape, mean and 95% band over seeds) and "
        "the whole network's top Hessian eigenvalue and trace, each seed.",
    }

if KEEP_SWEEP:
    FIGURES["figS8_keep_sweep"] = {
        "notebook": "notebooks/figS8_keep_sweep.py",
        "group": "noise",
        "inputs": lambda: {"sweep": keep_sweep_files()},
        "params": lambda: {
            "trained_keep_prob": cfg.run_spec(
                config, NOISE_EXPERIMENT, cfg.noise_settings(config)[0]
            )["keep_prob"],
        },
        "caption": "The dropout noise structure against the keep probability p (including small p) "
        "at a fixed theta*: variance-flatness slope of the gradient data, alignment alpha(H, Sigma_p) "
        "and Tr Sigma_p, each seed and the mean with its 95% interval.",
    }


TABLES["claims"] = {
    "notebook": "notebooks/claims.py",
    "inputs": lambda: {
        **TABLES["table2_sme_order"]["inputs"](),
        **{
            f"universality_{k}": v
            for k, v in TABLES["table5_universality"]["inputs"]().items()
        },
        "alignment": noise_files("alignment"),
        "directions": noise_files("directions"),
        "compare": noise_files("compare"),
        "diagnosis": noise_files("diagnosis"),
        "sharpness": sharpness_files("sharpness"),
        "sensitivity": mask_sensitivity_files(),
    },
    "params": lambda: {
        **TABLES["table2_sme_order"]["params"](),
        **TABLES["table5_universality"]["params"](),
        "margins": config["claims"],
        "drift": config["noise"]["drift"],
        "exploration": config["noise"]["exploration"],
    },
    "caption": "Reproduction report: each claim of the paper, the measured evidence with "
    "intervals, where it holds, fails or cannot be decided, and a verdict by a rule whose "
    "margins the config declares (figures/claims.md).",
}


rule figure:
    input:
        unpack(get_notebook_inputs(FIGURES)),
    output:
        pdf="figures/{name}.pdf",
        png=report(
            "figures/{name}.png",
            caption="../report/caption.rst",
            category="Figures",
        ),
        notebook="results/notebooks/{name}.ipynb",
    log:
        log_path("figure", "{name}"),
    benchmark:
        "results/benchmarks/figure/{name}.tsv"
    wildcard_constraints:
        name=one_of(FIGURES),
    conda:
        ENV
    resources:
        runtime=20,
        mem_mb=4000,
    params:
        caption=get_notebook_param(FIGURES, "caption"),
        code=get_notebook_param(FIGURES, "code"),
        extra=get_notebook_param(FIGURES, "extra"),
    script:
        "../../scripts/run_notebook.py"


rule table:
    input:
        unpack(get_notebook_inputs(TABLES)),
    output:
        csv=report(
            "figures/{name}.csv",
            caption="../report/caption.rst",
            category="Tables",
        ),
        md="figures/{name}.md",
        notebook="results/notebooks/{name}.ipynb",
    log:
        log_path("table", "{name}"),
    benchmark:
        "results/benchmarks/table/{name}.tsv"
    wildcard_constraints:
        name=one_of(TABLES),
    conda:
        ENV
    resources:
        runtime=20,
        mem_mb=4000,
    params:
        caption=get_notebook_param(TABLES, "caption"),
        code=get_notebook_param(TABLES, "code"),
        extra=get_notebook_param(TABLES, "extra"),
    script:
        "../../scripts/run_notebook.py"


# Named targets, from the registry: one per figure and table (fig2 for fig2_noise_structure),
# and one per group of them (sme, noise, universality).
for _name in {**FIGURES, **TABLES}:

    rule:
        name:
            alias(_name)
        input:
            outputs_of(_name),
        localrule: True


for _group in ("sme", "noise", "universality"):

    rule:
        name:
            _group
        input:
            group_outputs(_group),
        localrule: True
