"""Shared by the Hessian and noise benchmarks: the default FNN on digits, trained if it can be.

The parameters are those of results/runs/fnn/p0.8_lr0.1/checkpoints.pt (seed 0, final step) when
the default pipeline has run, else the initialisation.
"""

from pathlib import Path

import torch

from dropout_sme import data, io, models

MODEL = {"arch": "fnn", "hidden": [50, 50], "activation": "relu"}
CHECKPOINTS = Path("results/runs/fnn/p0.8_lr0.1/checkpoints.pt")


def load():
    """(x, y, params, where): the digits' training set and the FNN's parameters."""
    arrays, _ = data.prepare({"source": "digits", "test_fraction": 0.25, "seed": 0})
    x, y = torch.tensor(arrays["x_train"]), torch.tensor(arrays["y_train"])
    if CHECKPOINTS.exists():
        saved = io.load_torch(CHECKPOINTS)
        params = {k: v[-1, 0] for k, v in saved["params"].items()}
        return x, y, params, f"trained ({CHECKPOINTS}, seed 0, step {int(saved['steps'][-1])})"
    params = models.init_params(MODEL, 64, 10, torch.Generator().manual_seed(0))
    return x, y, params, "initial"
