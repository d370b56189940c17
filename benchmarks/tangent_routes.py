"""E1's tangent process: H(xbar) Y for a batch of paths by its two exact routes, timed side by side.

The dense route forms the two-layer net's P x P Hessian (P = m (d + 1) closed-form products) and
multiplies; the per-path route takes one closed-form Hessian-vector product per path.
``memory.dense_hessian_pays`` picks between them by operation count; this prints both times, the
pick and the dense Hessian's size, at the default config's sizes and at the paper config's MNIST
cell (784 inputs). Usage: python benchmarks/tangent_routes.py [--paths 200] [--threads 1]
"""

import argparse
import time

import torch

from dropout_sme.memory import dense_hessian_pays
from dropout_sme.sme import control
from dropout_sme.sme import twolayer as tl

SIZES = {"default (teacher)": (8, 10, 256), "paper (MNIST parity)": (16, 784, 1000)}


def timed(fn, repeat=3):
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    print(f"{'sizes':<22} {'m':>3} {'d':>4} {'n':>5} {'P':>6} {'dense H':>9} {'dense':>9} "
          f"{'per path':>9}  pick")
    for name, (m, d, n) in SIZES.items():
        x = torch.randn(n, d, generator=g, dtype=torch.float64)
        y = torch.randn(n, generator=g, dtype=torch.float64)
        a = torch.randn(m, generator=g, dtype=torch.float64) / m ** 0.5
        w = torch.randn(m, d, generator=g, dtype=torch.float64) / d ** 0.5
        net = tl.Net(a, w, x, y, "tanh")
        ya = torch.randn(args.paths, m, generator=g, dtype=torch.float64)
        yw = torch.randn(args.paths, m, d, generator=g, dtype=torch.float64)
        times = {dense: timed(lambda dense=dense: control._hessian_times(net, 0.8, ya, yw, dense),
                              repeat=1)
                 for dense in (True, False)}
        P = m * (d + 1)
        pick = "dense" if dense_hessian_pays(m, d, n, args.paths) else "per path"
        print(f"{name:<22} {m:>3} {d:>4} {n:>5} {P:>6} {8 * P * P / 2 ** 20:>7.0f}MB "
              f"{times[True]:>8.3f}s {times[False]:>8.3f}s  {pick}")


if __name__ == "__main__":
    main()
