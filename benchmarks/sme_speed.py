"""Speed of the E1 simulators at the default sizes: path-steps per second of each method.

A path-step is one integrator step of one path (one network evaluation for dropout and the SMEs,
two for SVAG). Also prints the cost of the exact-Sigma order-1 SME relative to dropout GD per
path-step, and Sigma's alternatives: forming Sigma in closed form and taking its Cholesky factor.
Usage: python benchmarks/sme_speed.py [--paths 1000] [--dtype float32]
"""

import argparse
import time

import torch

from dropout_sme import data, models
from dropout_sme.sme import control
from dropout_sme.sme import simulate as sme
from dropout_sme.sme import twolayer as tl
from dropout_sme.devices import tune_allocator


def rate(fn, paths, repeat=20):
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return paths * repeat / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=1000)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = ap.parse_args()
    torch.set_num_threads(1)
    tune_allocator()
    spec = {"source": "synthetic_teacher", "n_train": 32, "n_test": 256, "d": 4, "width": 4,
            "noise": 0.1, "seed": 0}
    arrays, _ = data.prepare(spec)
    model = {"arch": "two_layer", "width": 8, "activation": "tanh"}
    theta = models.init_params(model, 4, 1, torch.Generator().manual_seed(0), torch.float64)
    prob = sme.Problem(arrays, theta["a"], theta["w"], 0.5, dtype=getattr(torch, args.dtype))
    P = args.paths
    gen = torch.Generator().manual_seed(0)
    a, w = prob.a0.expand(P, -1).clone(), prob.w0.expand(P, -1, -1).clone()
    tangent = control.start(prob, P)
    print(f"two-layer tanh net, m = 8, d = 4, n = 32 (P = 40 parameters), keep_prob 0.5, "
          f"{P} paths at once, {args.dtype}, 1 thread")
    rows = {
        "dropout GD step": rate(lambda: prob.method_grad(a, w, [prob.masks(P, gen)], (1.0,)), P),
        "order-1 SME, EM step (exact-Sigma factor)":
            rate(lambda: prob.em_step(a, w, 0.025, 0.1, 1, prob.normals(P, gen)), P),
        "order-2 SME, EM step": rate(lambda: prob.em_step(a, w, 0.025, 0.1, 2,
                                                          prob.normals(P, gen)), P),
        "SVAG step (two masks)": rate(lambda: prob.method_grad(
            a, w, [prob.masks(P, gen), prob.masks(P, gen)], sme.svag_coefficients(4)), P),
        "gradient flow step": rate(lambda: prob.em_step(a, w, 0.025, 0.1, 1), P),
        "tangent step (control variate)": rate(
            lambda: control.step(prob, tangent, 0.025, 0.1, 1, prob.net(a, w).gaussian_noise(
                0.5, *prob.normals(P, gen))), P),
    }

    def cholesky_route():  # the textbook alternative: form Sigma per path, factor it, multiply
        for i in range(8):
            sig = tl.sigma_closed_form(prob.a0.double(), prob.w0.double(), prob.x.double(),
                                       prob.y.double(), 0.5)
            torch.linalg.cholesky(sig + 1e-10 * torch.eye(40, dtype=torch.float64))

    rows["closed-form Sigma + Cholesky (per path)"] = rate(cholesky_route, 8, repeat=5)
    print(f"{'step':<44} {'path-steps/s':>13} {'us/path-step':>13}")
    for name, r in rows.items():
        print(f"{name:<44} {r:13.0f} {1e6 / r:13.2f}")
    ratio = rows["dropout GD step"] / rows["order-1 SME, EM step (exact-Sigma factor)"]
    print(f"order-1 SME / dropout GD cost per path-step: {ratio:.2f}x")


if __name__ == "__main__":
    main()
