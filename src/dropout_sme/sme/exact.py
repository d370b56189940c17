r"""An exactly solvable case: linear regression with dropout on the inputs, where the first and
second moments of dropout GD, of both SMEs and of the two deterministic flows close in closed form.

Model: f(x; eta) = sum_j eta_j w_j x_j with one mask eta per step shared by the samples (the
theory's convention), eta_j = 1/p with probability p, else 0; loss R(w; eta) = 1/(2n) sum_i
(f(x_i; eta) - y_i)^2. Its gradient is affine in w with random coefficients,

    g(w; eta) = G_eta w - h_eta,   G_eta = D A D,  h_eta = D b,  D = diag(eta),
    A = X'X / n,  b = X'y / n,

so E g = G w - h (G = E G_eta, h = E h_eta = b) is the gradient of L_S, the Hessian of L_S is G,
and Sigma(w) = Cov_eta g(w; eta) is quadratic in w. Every expectation over eta is an exact sum over
the 2^d masks with their probabilities (no Monte Carlo anywhere).

- dropout GD, w_{N+1} = w_N - lr g(w_N; eta_N): m and S = E w w' follow an exact recursion;
- the SMEs dW = -P W dt + q dt + sqrt(lr) Sigma(W)^{1/2} dB with P = B G, q = B h, B = I (order 1)
  or I + (lr/2) G (order 2: the drift of L_S + (lr/4) |grad L_S|^2), and the noise-free flows
  (the same drifts, no diffusion): m and S solve a linear ODE, integrated exactly (matrix
  exponential of the step lr).

Test functions with exact expectations from (m, S): ``sq_norm`` |w|^2 = tr S and ``train_loss``
R_S(w) = w'Aw/2 - b'w + mean(y^2)/2. The weak error of a method is |E g(dropout) - E g(method)|
at the horizon T (the maximum over t = N lr <= T beside it), the two-layer cells' definition
(``weak``); it decays like lr for the order-1 SME and the flows, like lr^2 for the order-2 SME,
and its order is fitted by the same asymptotic rule (``weak.asymptotic_orders``).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.linalg import expm

from .weak import FLUCTUATIONS, asymptotic_orders, predicted

METHODS = ("sme1", "sme2", "gf", "gf2")      # the two SMEs, gradient flow, order-2 drift flow


class LinearDropout:
    """The moments of every method for data (X, y) and keep probability p (float64)."""

    def __init__(self, X, y, keep_prob: float):
        X, y = np.asarray(X, float), np.asarray(y, float)
        n, d = X.shape
        self.d, self.p = d, float(keep_prob)
        self.A, self.b, self.c = X.T @ X / n, X.T @ y / n, float(y @ y) / (2 * n)
        masks = np.array(list(itertools.product((0.0, 1.0), repeat=d)))
        kept = masks.sum(1)
        self.probs = self.p ** kept * (1 - self.p) ** (d - kept)
        self.etas = masks / self.p                                    # (2^d, d)
        self.Gs = self.etas[:, :, None] * self.A[None] * self.etas[:, None, :]
        self.hs = self.etas * self.b[None]
        self.G = np.einsum("k,kij->ij", self.probs, self.Gs)
        self.h = self.probs @ self.hs

    def _E(self, values) -> np.ndarray:
        return np.einsum("k,k...->...", self.probs, values)

    def noise(self, m, S) -> np.ndarray:
        """E_W Sigma(W) for a W with mean m and second moment S."""
        Gs, hs = self.Gs, self.hs
        GS = Gs @ S @ Gs.transpose(0, 2, 1)
        Gm = Gs @ m
        full = self._E(GS - Gm[:, :, None] * hs[:, None, :] - hs[:, :, None] * Gm[:, None, :]
                       + hs[:, :, None] * hs[:, None, :])
        G, h = self.G, self.h
        Gmean = G @ m
        mean = (G @ S @ G.T - np.outer(Gmean, h) - np.outer(h, Gmean) + np.outer(h, h))
        return full - mean

    def dropout(self, w0, lr: float, steps: int):
        """(m, S) of dropout GD after 0..steps steps: arrays (steps + 1, d) and (steps + 1, d, d)."""
        m, S = np.asarray(w0, float), np.outer(w0, w0)
        I = np.eye(self.d)
        Ms = I[None] - lr * self.Gs                                   # (2^d, d, d)
        ms, Ss = [m], [S]
        for _ in range(steps):
            Mm = Ms @ m
            c = lr * self.hs
            S = self._E(Ms @ S @ Ms.transpose(0, 2, 1) + Mm[:, :, None] * c[:, None, :]
                        + c[:, :, None] * Mm[:, None, :] + c[:, :, None] * c[:, None, :])
            m = self._E(Mm + c)
            ms.append(m)
            Ss.append(S)
        return np.array(ms), np.array(Ss)

    def generator(self, method: str, lr: float) -> np.ndarray:
        """The matrix L of the linear ODE d/dt (m, vec S, 1) = L (m, vec S, 1) of ``method``."""
        d, I = self.d, np.eye(self.d)
        B = I + 0.5 * lr * self.G if method in ("sme2", "gf2") else I
        P, q = B @ self.G, B @ self.h
        size = d + d * d + 1
        L = np.zeros((size, size))
        L[:d, :d] = -P
        L[:d, -1] = q
        for k in range(d + d * d):                 # S-block: linear in (m, S), column by column
            m = np.zeros(d)
            S = np.zeros((d, d))
            if k < d:
                m[k] = 1.0
            else:
                S.flat[k - d] = 1.0
            dS = -P @ S - S @ P.T + np.outer(q, m) + np.outer(m, q)
            if method in ("sme1", "sme2"):
                dS = dS + lr * (self.noise(m, S) - self.noise(np.zeros(d), np.zeros((d, d))))
            L[d:d + d * d, k] = dS.ravel()
        dS0 = lr * self.noise(np.zeros(d), np.zeros((d, d))) if method in ("sme1", "sme2") \
            else np.zeros((d, d))
        L[d:d + d * d, -1] = dS0.ravel()
        return L

    def continuous(self, method: str, w0, lr: float, steps: int):
        """(m, S) of ``method`` at t = 0, lr, ..., steps lr (exact propagation)."""
        d = self.d
        step = expm(lr * self.generator(method, lr))
        z = np.concatenate([np.asarray(w0, float), np.outer(w0, w0).ravel(), [1.0]])
        out = [z]
        for _ in range(steps):
            z = step @ z
            out.append(z)
        out = np.array(out)
        return out[:, :d], out[:, d:d + d * d].reshape(-1, d, d)

    def test_functions(self, m, S) -> dict:
        """E |w|^2, E R_S(w) and the fluctuation E|w - E w|^2 = tr S - |m|^2 from the moments
        (arrays over time)."""
        sq = np.trace(S, axis1=-2, axis2=-1)
        return {"sq_norm": sq,
                "train_loss": 0.5 * np.einsum("ij,...ji->...", self.A, S) - m @ self.b + self.c,
                "spread": sq - (m * m).sum(-1)}

    def weak_errors(self, w0, lr: float, horizon: float) -> dict:
        """{method: {test function: (|E g(dropout) - E g(method)| at t = horizon, its maximum
        over t = N lr <= horizon)}}; for the fluctuation ``spread`` relative to dropout's (as
        the two-layer cells', ``weak.FLUCTUATIONS``), over t > 0 (at t = 0 it is 0 / 0)."""
        steps = int(round(horizon / lr))
        ref = self.test_functions(*self.dropout(w0, lr, steps))
        out = {}
        for method in METHODS:
            other = self.test_functions(*self.continuous(method, w0, lr, steps))
            gaps = {g: np.abs(ref[g] - other[g])[1:] / (ref[g][1:] if g in FLUCTUATIONS else 1)
                    for g in ref}
            out[method] = {g: (float(gap[-1]), float(gap.max())) for g, gap in gaps.items()}
        return out


def draw(spec: dict) -> tuple[np.ndarray, ...]:
    """X, y, w_0 and a test set (X_test, y_test) of the same size: X ~ N(0, 1)^(n x d),
    y = X w* + noise N(0, 1), w* and w_0 ~ N(0, I / d), from the named stream ``exact_data``
    (the test set is drawn last: the training data are those drawn without it)."""
    from .. import rng

    gen = rng.stream("exact_data", spec["seed"])
    n, d = spec["n"], spec["d"]
    X = gen.standard_normal((n, d))
    w_star, w0 = gen.standard_normal((2, d)) / np.sqrt(d)
    y = X @ w_star + spec["noise"] * gen.standard_normal(n)
    X_test = gen.standard_normal((n, d))
    y_test = X_test @ w_star + spec["noise"] * gen.standard_normal(n)
    return X, y, w0, X_test, y_test


def problem(spec: dict) -> tuple[LinearDropout, np.ndarray]:
    """The model and theta_0 of ``sme.exact`` (``draw``'s data)."""
    X, y, w0, _, _ = draw(spec)
    return LinearDropout(X, y, spec["keep_prob"]), w0


def streams(spec: dict) -> list[dict]:
    return [{"purpose": "exact_data", "seed": spec["seed"]}]


def order_table(model: LinearDropout, w0, lrs, horizon: float):
    """Weak errors at the horizon over ``lrs`` and the fitted order per method and test function
    (the asymptotic rule, and the plain least-squares slope of log error against log lr beside
    it), as tidy frames (no Monte Carlo: exact)."""
    import pandas as pd

    rows = []
    for lr in lrs:
        for method, errs in model.weak_errors(w0, lr, horizon).items():
            rows += [{"method": method, "g": g, "lr": lr, "error": e, "error_max": worst}
                     for g, (e, worst) in errs.items()]
    points = pd.DataFrame(rows)
    fits = []
    for (method, g), sel in points.groupby(["method", "g"], sort=False):
        sel = sel.sort_values("lr")
        lrs, errors = sel.lr.to_numpy(), sel.error.to_numpy()
        q, c, kept = asymptotic_orders(lrs, errors[None], np.ones((1, len(sel)), bool))
        fits.append({"method": method, "g": g, "order": float(q[0]), "correction": float(c[0]),
                     "order_power": float(np.polyfit(np.log(lrs), np.log(errors), 1)[0]),
                     "predicted": predicted(method, g), "points_used": int(kept.sum()),
                     "points_resolved": len(sel), "points": len(sel),
                     "lrs": " ".join(f"{v:g}" for v in lrs[kept[0]])})
    return points, pd.DataFrame(fits)
