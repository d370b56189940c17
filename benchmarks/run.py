"""Every hot path of the default DAG beside its naive route, timed in one run, with ratios.

Each row times the route the pipeline takes and the textbook route it replaced, on the same
inputs in the same process, and prints the speedup and the fast route's achieved FLOP rate as a
share of this machine's float32 matmul rate (measured first, on the same thread count). A naive
route that would take minutes is timed on a part of the work and scaled (the row says so).
The default FNN's parameters are those of a finished default run when results/ has them
(``default_fnn``), else its initialisation.

Usage: python benchmarks/run.py [--threads 1] [--scale 1.0]
(--scale < 1 shrinks every workload, for a quick look; the table in docs/performance.md is a
default run.)
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

import default_fnn
from default_fnn import MODEL
from machine import elementwise_rate, matmul_rate, timed
from dropout_sme import data, models, noise, train
from dropout_sme.devices import tune_allocator
from dropout_sme.models import fnn
from dropout_sme.noise import hessian
from dropout_sme.noise.estimators import pca
from dropout_sme.sme import control
from dropout_sme.sme import simulate as sme
from dropout_sme.sme import twolayer as tl

ROOT = Path(__file__).resolve().parents[1]


class Table:
    def __init__(self, peak: float):
        self.peak, self.rows = peak, []

    def add(self, path, fast, naive, t_fast, t_naive, flop=None, note=""):
        self.rows.append((path, fast, naive, t_fast, t_naive, flop, note))
        rate = f"{flop / t_fast / 1e9:7.1f} {100 * flop / t_fast / self.peak:5.0f}%" if flop \
            else f"{'-':>7} {'-':>6}"
        print(f"{path:<34} {t_fast:8.3f} {t_naive:9.3f} {t_naive / t_fast:7.1f}x {rate}  "
              f"{fast} | {naive}{'; ' + note if note else ''}", flush=True)


def training(table, scale):
    """Full-batch dropout GD of 4 seeds (per-sample masks): the loop of plain autograd that the
    CPU takes (``seed_batching: auto``) against torch.func.vmap over the seeds."""
    arrays, meta = data.prepare({"source": "digits", "test_fraction": 0.25, "seed": 0})
    steps = max(10, int(100 * scale))
    spec = dict(experiment="bench", setting="p0.8_lr0.1", dataset="digits", model=MODEL,
                loss="cross_entropy", keep_prob=0.8, lr=0.1, batch_size=None, dtype="float32",
                device="cpu", seeds=[0, 1, 2, 3], mask="per_sample")

    def run(mode):
        tr = train.Trainer({**spec, "seed_batching": mode}, arrays)
        params = train.init_seeds(spec, tr.n_in, tr.n_out)
        gens = [torch.Generator().manual_seed(s) for s in spec["seeds"]]
        return lambda: [tr.step(params, t, gens) for t in range(steps)]

    flop = 6 * meta["n_train"] * (64 * 50 + 50 * 50 + 50 * 10) * 4 * steps
    table.add(f"training, 4 seeds x {steps} steps", "autograd loop (CPU default)", "vmap",
              timed(run("loop")), timed(run("vmap")), flop)


def cross_entropy(table, x, y, params, scale):
    """The training loss's forward and backward on the digits' full batch (10 classes):
    ``models.loss_value`` (log_softmax over a transposed copy) against ``F.cross_entropy``."""
    out = models.forward(MODEL, params, x).detach().requires_grad_()
    reps = max(20, int(400 * scale))

    def run(loss):
        return lambda: [torch.autograd.grad(loss(out, y), out) for _ in range(reps)]

    table.add(f"cross-entropy + gradient, x{reps}", "transposed log_softmax",
              "F.cross_entropy", timed(run(lambda o, t: models.loss_value("cross_entropy", o, t))),
              timed(run(torch.nn.functional.cross_entropy)))


def mask_gradients(table, x, y, params, scale):
    """K dropout gradients of the w2 block (per-sample masks): the FNN kernel against autograd
    one mask at a time (timed on 64 masks, scaled)."""
    K = max(256, int(2560 * scale))
    problem = noise.Problem.of(MODEL, params, x, y, "cross_entropy", "w2")
    fast = timed(lambda: noise.mask_gradients(problem, 0.8, "per_sample", K,
                                              np.random.default_rng(0)))
    gen = np.random.default_rng(1)
    n, few = len(x), 64
    w = problem.theta.detach().clone().requires_grad_()

    def one_by_one():                                   # masks drawn as the kernel's are
        for _ in range(few):
            m = [noise.bernoulli((n, 50), 0.8, gen) / 0.8 for _ in range(2)]
            out = models.forward(MODEL, {**params, "w2": w.reshape(50, 50)}, x, m)
            torch.autograd.grad(models.loss_value("cross_entropy", out, y), w)

    naive = timed(one_by_one) * K / few
    flop = 2 * n * (50 * 50 + 50 * 16 + 16 * 50 + 50 * 50) * K
    table.add(f"K = {K} mask gradients (w2)", "FNN kernel, byte masks, 3 at a time in cache",
              "autograd per mask", fast, naive, flop, f"naive from {few} masks")
    run, masks = kernel_products(n, K)
    alone, flop = timed(run), flop * masks / K
    print(f"{'':<34} the kernel's products alone, nothing between them: {alone:.3f} s, "
          f"{flop / alone / 1e9:.1f} GFLOP/s ({100 * flop / alone / table.peak:.0f}% of the "
          f"matmul): the most the kernel's share could reach", flush=True)


def kernel_products(n: int, K: int):
    """The four products of ``fnn.weight_gradients`` for K per-sample masks of the default FNN's
    w2, at the kernel's shapes (``fnn.masks_per_pass`` masks at a time: the forward through the
    hidden and the padded output layer, delta back through the output layer, the block gradient),
    on random inputs and with nothing between them. Returns the run and its mask count."""
    step = fnn.masks_per_pass(n, 50, 4)
    gen = torch.Generator().manual_seed(0)
    a, delta = torch.randn(step * n, 50, generator=gen), torch.randn(step * n, 16, generator=gen)
    w2, b2 = torch.randn(50, 50, generator=gen), torch.randn(50, generator=gen)
    w3, b3 = torch.randn(50, 16, generator=gen), torch.randn(16, generator=gen)
    back, inputs = torch.randn(16, 50, generator=gen), torch.randn(step, n, 50, generator=gen)
    hidden = torch.randn(step, n, 50, generator=gen)
    passes = -(-K // step)

    def run():
        for _ in range(passes):
            torch.addmm(b2, a, w2)
            torch.addmm(b3, a, w3)
            delta @ back
            torch.bmm(hidden.transpose(1, 2), inputs)

    return run, passes * step


def line_loss(table, x, y, params, scale):
    """The interval flatness of 50 directions at 4 factors: the kernel's line loss (only the
    layers above the block) against the whole network's loss vmapped over the points."""
    problem = noise.Problem.of(MODEL, params, x, y, "cross_entropy", "w2")
    V = torch.linalg.qr(torch.randn(2500, 50, generator=torch.Generator().manual_seed(0)))[0]
    factors = [1.5, 2, np.e, 4]
    calls = []

    def run(line):
        def counted(t, rows=None):
            out = line(t, rows)
            calls.append(out.numel())
            return out
        return lambda: noise.interval_flatness(counted, problem.loss0, factors, cap=100)

    fast = timed(run(noise.line_loss(problem, V)))
    points = sum(calls) // 2
    generic = torch.func.vmap(problem.loss_fn(), chunk_size=64)
    theta = problem.theta

    def vmapped(t, rows=None):
        v = V.T if rows is None else V.T[torch.as_tensor(rows)]
        t = torch.as_tensor(t, dtype=theta.dtype).expand(v.shape[0], -1)
        return generic((theta + t[..., None] * v[:, None, :]).reshape(-1, theta.numel())
                       ).reshape(t.shape)

    naive = timed(run(vmapped))
    flop = 2 * len(x) * (50 * 50 + 50 * 16) * points
    table.add("interval flatness, 50 dirs x 4", "kernel line loss", "vmapped whole loss", fast,
              naive, flop)


def block_hessian(table, x, y, params):
    """The 2,500 x 2,500 w2 Hessian: closed form against vmapped forward-over-reverse."""
    problem = noise.Problem.of(MODEL, params, x, y, "cross_entropy", "w2")
    fast = timed(lambda: hessian.block_hessian(problem))
    naive = timed(lambda: hessian.full_hessian(problem.loss_fn(), problem.theta))
    table.add("block Hessian (2,500 x 2,500)", "closed form", "torch.func HVPs, vmapped",
              fast, naive)


def top_eigen(table, x, y, params, k: int = 10):
    """The top-k Hessian eigenpairs, each eigenvalue to 1e-3: Lanczos against power iteration
    with deflation (PyHessian's scheme for k > 1) run until each is within 1e-3 of the exact
    value; both on reverse-over-reverse products of one retained graph."""
    problem = noise.Problem.of(MODEL, params, x, y, "cross_entropy", "w2")
    f, theta = problem.loss_fn(), problem.theta
    exact = torch.linalg.eigvalsh(hessian.block_hessian(problem).double()).flip(0)[:k].numpy()
    fast = timed(lambda: hessian.lanczos_top(f, theta, k=k, tol=1e-3))
    vals = hessian.lanczos_top(f, theta, k=k, tol=1e-3)[0]
    hvp = hessian.hvp_sequential(f, theta)

    def deflated():
        found, products = [], 0
        gen = torch.Generator().manual_seed(0)
        for target in exact:
            v = torch.randn(theta.shape, generator=gen)
            for _ in range(20000):
                for u in found:
                    v = v - (u @ v) * u
                v = v / v.norm()
                hv = hvp(v)
                products += 1
                value = float(hv @ v)
                v = hv
                if abs(value - target) < 1e-3 * abs(target):
                    break
            found.append(v / v.norm())
        return products

    naive = timed(deflated)
    table.add(f"top-{k} Hessian eigenpairs (1e-3)", "Lanczos", "power iteration, deflated",
              fast, naive, note=f"Lanczos' largest error {np.max(np.abs(vals / exact - 1)):.0e}")


def trajectory(table):
    """Top-50 PCA of a 500-step window of the 2,500-weight block: the Gram matrix's eigenpairs
    against the thin SVD of the window."""
    X = torch.randn(500, 2500, generator=torch.Generator().manual_seed(0))
    fast = timed(lambda: pca(X, 50), reps=3)
    naive = timed(lambda: torch.linalg.svd(X - X.mean(0), full_matrices=False), reps=3)
    table.add("trajectory PCA (500 x 2,500)", "Gram-matrix eigh", "SVD of the window",
              fast, naive, 2 * 500 * 500 * 2500)


def sme_step(table, scale):
    """One order-1 SME step for 1,000 paths: the exact noise factor (a draw costs about one
    gradient) against forming Sigma in closed form and its Cholesky factor per path (timed on 8
    paths, scaled); and beside it, dropout GD's step (the SME's cost per path-step relative to
    the process it models)."""
    arrays, _ = data.prepare({"source": "synthetic_teacher", "n_train": 32, "n_test": 256,
                              "d": 4, "width": 4, "noise": 0.1, "seed": 0})
    theta = models.init_params({"arch": "two_layer", "width": 8, "activation": "tanh"}, 4, 1,
                               torch.Generator().manual_seed(0), torch.float64)
    prob = sme.Problem(arrays, theta["a"], theta["w"], 0.5, dtype=torch.float32)
    P = max(100, int(1000 * scale))
    gen = torch.Generator().manual_seed(0)
    a, w = prob.a0.expand(P, -1).clone(), prob.w0.expand(P, -1, -1).clone()
    reps = 20
    fast = timed(lambda: [prob.em_step(a, w, 0.025, 0.1, 1, prob.normals(P, gen))
                          for _ in range(reps)])

    def cholesky_route():
        for _ in range(8):
            sig = tl.sigma_closed_form(prob.a0.double(), prob.w0.double(), prob.x.double(),
                                       prob.y.double(), 0.5)
            torch.linalg.cholesky(sig + 1e-10 * torch.eye(40, dtype=torch.float64))

    naive = timed(cholesky_route) * reps * P / 8
    table.add(f"order-1 SME step, {P} paths x {reps}", "exact noise factor",
              "Sigma + Cholesky per path", fast, naive, note="naive from 8 paths")
    drop = timed(lambda: [prob.method_grad(a, w, [prob.masks(P, gen)], (1.0,))
                          for _ in range(reps)])
    tangent = control.start(prob, P)
    noise_draw = prob.net(a, w).gaussian_noise(0.5, *prob.normals(P, gen))
    tan = timed(lambda: [control.step(prob, tangent, 0.025, 0.1, 1, noise_draw)
                         for _ in range(reps)])
    print(f"{'':<34} per path-step: dropout GD {1e6 * drop / (P * reps):.2f} us, order-1 SME "
          f"{1e6 * fast / (P * reps):.2f} us ({fast / drop:.2f}x dropout's), tangent step of "
          f"the control variate {1e6 * tan / (P * reps):.2f} us")


def notebook(table):
    """A figure notebook's job: papermill with the report stack, which never imports torch,
    against the same notebook with torch imported first (what importing the package's compute
    modules in the kernel would add to each of the 20 notebook jobs)."""
    code = ("import sys, time; t = time.perf_counter(); {pre}"
            "from dropout_sme.report import frames, plotting, stats, tables; "
            "print(time.perf_counter() - t)")

    def imports(pre):
        out = subprocess.run([sys.executable, "-c", code.format(pre=pre)], check=True,
                             capture_output=True, text=True, cwd=ROOT)
        return float(out.stdout.split()[-1])

    lean = min(imports("") for _ in range(3))
    heavy = min(imports("import torch; ") for _ in range(3))
    table.add("notebook kernel imports", "report stack only", "with torch", lean, heavy,
              note="a whole notebook job also starts a kernel and papermill")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (a DAG job's: 1)")
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tune_allocator()
    os.chdir(ROOT)
    peak, stream = matmul_rate(), elementwise_rate()
    x, y, params, where = default_fnn.load()
    print(f"{args.threads} thread(s); float32 2000^3 matmul: {peak / 1e9:.1f} GFLOP/s (the peak "
          f"below); elementwise add: {stream / 1e9:.1f} GB/s; default FNN: {where}")
    print(f"{'hot path':<34} {'fast s':>8} {'naive s':>9} {'speedup':>8} {'GFLOP/s':>7} "
          f"{'peak':>6}  fast route | naive route")
    table = Table(peak)
    training(table, args.scale)
    cross_entropy(table, x, y, params, args.scale)
    mask_gradients(table, x, y, params, args.scale)
    line_loss(table, x, y, params, args.scale)
    block_hessian(table, x, y, params)
    top_eigen(table, x, y, params)
    trajectory(table)
    sme_step(table, args.scale)
    notebook(table)
    slower = [r[0] for r in table.rows if r[3] >= r[4]]
    print("every fast route beats its naive route" if not slower
          else f"NOT faster than the naive route: {', '.join(slower)}")


if __name__ == "__main__":
    main()
