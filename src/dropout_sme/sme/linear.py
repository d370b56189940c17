r"""The exactly solvable case (``exact``) through the Monte Carlo code of the two-layer cells.

Linear regression with dropout on its inputs, f(x; eta) = sum_j eta_j w_j x_j, is the theory's
two-layer net with fixed features: its "units" are the inputs, the feature of unit j at example i
is x_ij (instead of sigma(w_j . x_i)), and its parameters are the output weights alone. Every
formula of ``twolayer.Net`` that the simulators use (the dropout gradient, the gradient and the
Hessian-vector product of L_S, the exact factor of Sigma, the Euler-Maruyama weights) is written
in terms of the features, l_{j,i} = w_j x_ij and the residuals, so ``LinearNet`` sets the features
and leaves the rest to it: the inner weights are a (m, 0) tensor, whose gradients are empty.

``run_cell`` then runs dropout GD, both SMEs, SVAG and the two flows with ``simulate.simulate``
(the same paths, streams, control variate, batches and fluctuations) and returns a cell in the
format of ``weak.load_cell``, so the weak errors, the resolution rule, the asymptotic rule and the
bootstrap of the two-layer cells apply unchanged; ``exact`` gives the same errors without Monte
Carlo, and the test compares the two.
"""

from __future__ import annotations

import numpy as np
import torch

from . import exact
from . import twolayer as tl
from .cell import run_methods
from .simulate import Problem
from .simulate import streams as simulate_streams


class LinearNet(tl.Net):
    """``twolayer.Net`` with the features x_ij of unit j fixed (input dropout on a linear model)."""

    def __init__(self, a, w, x, y):
        self.a, self.y = a, y
        self.n = x.shape[0]
        self.h = x.T.expand(*a.shape[:-1], -1, -1)             # (..., m, n): unit j's feature
        self.dh = torch.zeros_like(self.h)                     # no inner weights to move it
        self.z = self.dh
        self._d2sigma = lambda z, h: self.dh
        self.w, self.x = w, x.new_zeros(self.n, 0)             # (..., m, 0), (n, 0): empty
        self.ell = a[..., None] * self.h
        self.e = self.ell.sum(-2) - y


class LinearProblem(Problem):
    """The simulators' ``Problem`` for the linear model: parameters (w, an empty (m, 0))."""

    def __init__(self, X, y, X_test, y_test, w0, keep_prob: float, dtype=torch.float64,
                 device="cpu"):
        data = {"x_train": X, "y_train": y, "x_test": X_test, "y_test": y_test}
        super().__init__(data, w0, np.zeros((len(w0), 0)), keep_prob, "per_step", "tanh",
                         dtype, device)

    def net(self, a, w):
        return LinearNet(a, w, self.x, self.y)

    def output(self, a, w, x):
        """f(x_i) = sum_j w_j x_ij (w here is ``a``; the inner weights are empty)."""
        return a @ x.T


def problem(spec: dict) -> LinearProblem:
    """The model of ``exact.problem`` (``spec["exact"]``: same data, w_0 and keep_prob) as a
    ``LinearProblem`` in ``spec["dtype"]``, its test loss on the test set of ``exact.draw``."""
    X, y, w0, X_test, y_test = exact.draw(spec["exact"])
    return LinearProblem(X, y, X_test, y_test, w0, spec["exact"]["keep_prob"],
                         getattr(torch, spec["dtype"]))


METHODS = ["sme1", "sme2", "gf2", "svag"]     # with dropout and gradient flow: every method


def streams(spec: dict, lr: float) -> list[dict]:
    """Every stream one job (``run_cell`` at ``lr``) draws: the data's and each chunk's."""
    cell = {"init_seed": 0, "paths": spec["paths"], "chunk": spec["chunk"], "methods": METHODS,
            "svag_l": spec["svag_l"], "seed": spec["seed"], "lr": lr,
            "keep_prob": spec["exact"]["keep_prob"]}
    return exact.streams(spec["exact"]) + simulate_streams(cell)[1:]     # no theta_0 of its own


def run_cell(prob: LinearProblem, spec: dict, lr: float, methods=METHODS) -> dict:
    """Dropout, gradient flow and ``methods`` at one lr, as the two-layer cells run them
    (``cell.run_methods``): the arrays of a cell file, read by ``weak.load_cell``. ``spec``:
    ``config.linear_spec``'s (horizon, record_every and the cells' Monte Carlo settings)."""
    arrays, _ = run_methods(prob, {**spec, "lr": lr, "methods": list(methods)}, progress=False)
    arrays["activation"] = np.str_("linear")
    return arrays
