"""Dropout-noise data of a parameter block, its structure, and the Hessian-noise alignment.

The noise-structure stage (E2-E4, spec 1.5-1.6):

- ``mask_gradients``: "random gradient data": K full-batch dropout gradients of one block at
  frozen parameters, each with fresh masks; their covariance estimates Sigma. FNN weight blocks
  take a fast path (``fnn_weight_gradients``: the mask-independent first layer computed once,
  masks from random bytes, the block gradient one batched product); anything else is vmapped.
- ``pca``: variances sigma_i^2 and directions v_i of either data set.
- ``interval_flatness``: the width F = theta^r - theta^l of the interval around theta* along a
  direction where the loss stays below factor x L(theta*), by bracketing and bisection; a side
  where the loss never reaches the level within the cap is flagged (NaN), never given a number.
  (The log-log slopes fitted to these directions are ``stats.slopes`` / ``relation_slopes``.)
- ``alignment``: alpha(H, S) = Tr(H S) / (|H|_F |S|_F).
- Two null models for alpha, each with Monte Carlo draws and exact moments:
  ``null_centred_wishart``: the paper's "two random matrices of the same size": independent
  Wishart matrices G G^T / B (G standard normal, B x B), *centred* by their mean, the identity, so
  that E alpha = 0 (uncentred PSD matrices always have Tr(AB) > 0 and alpha near 1/2); its
  standard deviation is sqrt(2 / (B (B + 1))) to leading order (``wishart_null_sd``);
  ``null_same_spectra``: the reviewer's stronger null: H and S with their own eigenvalues but
  Haar-random eigenvectors, alpha = sum_ij h_i Q_ij^2 s_j / (|H|_F |S|_F). Its mean and variance
  depend on the spectra only through Tr and |.|_F (Weingarten moments of Q_ij^2,
  ``same_spectra_moments``), so the band needs no eigendecomposition at every checkpoint.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import grad, vmap

from . import models, rng


def bernoulli(shape: tuple, keep_prob: float, rng: np.random.Generator,
              device=None) -> torch.Tensor:
    """Exact Bernoulli(keep_prob) 0/1 entries (float32) from one random byte each.

    A byte b is uniform on 0..255; keep when b < w = floor(256 p), and when b = w (probability
    1/256) keep with probability frac(256 p) from a fresh uniform: P(keep) = w/256 + frac/256 = p.
    Five times faster than comparing float uniforms, the step that dominates K = 25,000 masks.
    With ``device`` the bytes cross to it (a quarter of the float32 mask) and the comparisons run
    there, the ties taking the same uniforms in the same order: the same masks as without, built
    where they are used (on a GPU, the host's comparisons would cost more than the gradients).
    """
    size = int(np.prod(shape))
    if keep_prob >= 1:
        return torch.ones(shape, device=device)
    raw = rng.bit_generator.random_raw(-(-size // 8)).view(np.uint8)[:size]
    whole = int(256 * keep_prob)
    frac = 256 * keep_prob - whole
    if device is None:
        keep = raw < whole
        if frac > 0:
            ties = np.flatnonzero(raw == whole)
            keep[ties] = rng.random(ties.size) < frac
        return torch.from_numpy(keep.view(np.uint8)).reshape(shape).to(torch.float32)
    raw = torch.from_numpy(raw).to(device)
    keep = raw < whole
    if frac > 0:
        ties = torch.nonzero(raw == whole).squeeze(1)            # ascending, as np.flatnonzero
        keep[ties] = torch.from_numpy(rng.random(ties.numel()) < frac).to(device)
    return keep.reshape(shape).to(torch.float32)


# Cross-entropy output layers of the FNN fast paths are padded to a multiple of this many
# columns: BLAS runs the (rows x width) @ (width x 16) product ~3x faster than with 10 columns.
BLAS_COLUMNS = 16


def _fast_path(model: dict, block: str) -> bool:
    """FNN weight blocks past the first layer: w2 ... w_L (their input carries a mask)."""
    if model["arch"] != "fnn" or not block.startswith("w") or not block[1:].isdigit():
        return False
    return 2 <= int(block[1:]) <= len(model["hidden"]) + 1


def mask_gradients(model: dict, params: dict, x, y, loss: str, keep_prob: float, mask: str,
                   block: str, K: int, rng: np.random.Generator, batch: int = 64):
    """(K, B) dropout gradients of ``block`` (flattened), one fresh set of masks each."""
    out = None
    start = 0
    for g in mask_gradient_batches(model, params, x, y, loss, keep_prob, mask, block, K, rng,
                                   batch):
        if out is None:
            out = torch.empty(K, g.shape[1], dtype=g.dtype)
        out[start:start + len(g)] = g
        start += len(g)
    return out


def mask_gradient_batches(model: dict, params: dict, x, y, loss: str, keep_prob: float,
                          mask: str, block: str, K: int, rng: np.random.Generator,
                          batch: int = 64):
    """The K gradients of ``mask_gradients`` as (<= batch, B) CPU batches, never all at once."""
    if mask not in models.MASK_MODES:
        raise ValueError(f"mask must be one of {', '.join(models.MASK_MODES)}, got {mask!r}")
    shapes = models.mask_shapes(model, x.shape[-1])
    model, params, x = models.head(model, params, x, block)
    theta = models.block_vector(params, block)
    n = x.shape[0]
    rows = n if mask == "per_sample" else 1
    if _fast_path(model, block):
        grad_fn = fnn_weight_gradients(model, params, x, y, loss, keep_prob, int(block[1:]))
    else:
        grad_fn = _vmapped_gradients(model, params, x, y, loss, keep_prob, block)
    on_device = None if x.device.type == "cpu" else x.device     # (numpy is faster on the CPU)
    for start in range(0, K, batch):
        size = min(batch, K - start)
        masks = [bernoulli((size, rows, *shape), keep_prob, rng, on_device).to(theta.dtype)
                 for shape in shapes]
        yield grad_fn(masks).cpu()


def _vmapped_gradients(model, params, x, y, loss, keep_prob, block):
    """Any model and block: grad of the loss under vmap over mask draws."""
    theta = models.block_vector(params, block)

    def f(theta, masks):
        full = models.with_block(params, block, theta)
        masks = tuple(m / keep_prob for m in masks)
        return models.loss_value(loss, models.forward(model, full, x, masks), y)

    g = vmap(grad(f), in_dims=(None, 0))
    return lambda masks: g(theta, tuple(masks))


def fnn_weight_gradients(model: dict, params: dict, x, y, loss: str, keep_prob: float, layer: int):
    """masks (0/1, per layer (M, n or 1, width)) -> (M, B) gradients of w_layer, by hand.

    Forward: the first layer (mask-independent) once, the later ones batched over the M draws with
    the 1/p of inverted dropout folded into the weights; backward from the output down to
    ``layer`` only; the block gradient is one batched product delta^T a. Checked against the
    vmapped autograd path in the tests.
    """
    act = models.ACTIVATIONS[model["activation"]]
    dact = models.ACTIVATION_DERIVATIVES[model["activation"]]
    relu = model["activation"] == "relu"
    last = len(model["hidden"]) + 1
    n = x.shape[0]
    backward_w = {i: (params[f"w{i}"] / keep_prob).contiguous() for i in range(2, last + 1)}
    forward_w = {i: w.T.contiguous() for i, w in backward_w.items()}
    rows = params[f"w{layer}"].shape[0]                 # the block's rows (the output unpadded)
    bias = {i: params[f"b{i}"] for i in range(2, last + 1)}
    h1 = act(x @ params["w1"].T + params["b1"])
    if loss == "cross_entropy":             # d/d out of the mean cross-entropy, in closed form
        classes = params[f"w{last}"].shape[0]
        # padded outputs (zero weights, bias -inf: softmax gives them exactly 0, so they add
        # nothing)
        pad = -classes % BLAS_COLUMNS
        backward_w[last] = torch.nn.functional.pad(backward_w[last], (0, 0, 0, pad))
        forward_w[last] = backward_w[last].T
        bias[last] = torch.nn.functional.pad(bias[last], (0, pad), value=-torch.inf)
        onehot = torch.nn.functional.one_hot(y, classes + pad).to(x.dtype) / n

        def dloss(out):
            return torch.softmax(out, -1).div_(n).sub_(onehot)
    else:
        dloss = vmap(grad(lambda out: models.loss_value(loss, out, y)))

    def gradients(masks):
        M = masks[0].shape[0]
        a = h1 * masks[0]                   # a_1, with the 1/p left to the next layer's weights
        inputs, derivs = {2: a}, {}
        for i in range(2, last + 1):
            z = torch.addmm(bias[i], a.reshape(M * n, -1), forward_w[i]).reshape(M, n, -1)
            if i == last:
                break
            if relu:                        # in place: z is not needed again
                a = z.relu_().mul_(masks[i - 1])
                derivs[i] = torch.sign(a)
            else:
                h = act(z)
                derivs[i] = dact(z, h).mul_(masks[i - 1])
                a = h.mul_(masks[i - 1])
            inputs[i + 1] = a
        delta = dloss(z)                    # d loss / d out, (M, n, classes)
        for i in range(last, layer, -1):
            delta = (delta @ backward_w[i]).mul_(derivs[i - 1])
        g = torch.bmm(delta.transpose(1, 2), inputs[layer]).div_(keep_prob)
        return g[:, :rows].reshape(M, -1)

    return gradients


def covariance(samples: torch.Tensor) -> torch.Tensor:
    """Sample covariance (ddof 1) of the rows; on the CPU by a symmetric rank-k update (BLAS
    syrk: half the flops of centred^T centred)."""
    centred = samples - samples.mean(0)
    scale = 1.0 / (samples.shape[0] - 1)
    if centred.device.type != "cpu" or centred.dtype not in (torch.float32, torch.float64):
        return centred.T @ centred * scale
    from scipy.linalg import blas

    syrk = blas.ssyrk if centred.dtype == torch.float32 else blas.dsyrk
    upper = torch.from_numpy(syrk(scale, centred.numpy().T, trans=0))   # C = a a^T, a = centred^T
    return upper + upper.triu(1).T


def spectrum(M: torch.Tensor, top: int):
    """All eigenvalues (descending) of the symmetric M and the eigenvectors of the top ``top``
    (columns), in float64; two LAPACK calls (values by divide and conquer, a subset by MRRR) are
    about 3x faster than one full eigendecomposition."""
    from scipy.linalg import eigh

    A = M.detach().cpu().numpy()
    values = eigh(A, eigvals_only=True, driver="evd")[::-1].astype(np.float64)
    n = A.shape[0]
    k = min(top, n)
    _, vecs = eigh(A, subset_by_index=[n - k, n - 1], driver="evr")
    return values.copy(), torch.from_numpy(vecs[:, ::-1].astype(np.float64).copy())


def sigma_fro_sq(samples: torch.Tensor) -> float:
    """Unbiased |Sigma|_F^2 = Tr(Sigma^2) from K samples (rows), whatever their distribution.

    The differences d_i = g_2i - g_2i+1 of disjoint pairs are independent with mean 0 and
    covariance 2 Sigma, so E (d_i . d_j)^2 = Tr((2 Sigma)^2) for i != j: the mean over i != j of
    (d_i . d_j)^2 / 4. The plain |S|_F^2 of the sample covariance is biased upwards by about
    (Tr Sigma)^2 / K, which lowers alpha by a factor of about 1 / sqrt(1 + r / K),
    r = (Tr Sigma)^2 / |Sigma|_F^2.
    """
    m = samples.shape[0] // 2
    D = (samples[0:2 * m:2] - samples[1:2 * m:2]).double()
    sq_norms = (D * D).sum(1)
    Df = D.float()                                      # the Gram matrix in float32 (speed)
    gram = (Df @ Df.T if m <= D.shape[1] else Df.T @ Df).double()   # same Frobenius norm
    off = (gram * gram).sum() - (sq_norms ** 2).sum()
    return float(off / (4 * m * (m - 1)))


def alignment(H, S) -> float:
    """alpha(H, S), in float64 on H's device (S moved there)."""
    H = torch.as_tensor(H, dtype=torch.float64)
    S = torch.as_tensor(S, dtype=torch.float64).to(H.device)
    return float((H * S).sum() / (H.norm() * S.norm()))


def low_rank_stats(lam, U, samples: torch.Tensor) -> dict:
    """alpha's ingredients for H_k = U diag(lam) U^T (a top-k Hessian) and the sample covariance S
    of ``samples`` (N, B) without forming a B x B matrix: Tr H_k, |H_k|_F, Tr S, |S|_F (from the
    N x N Gram matrix, whose Frobenius norm is |S|_F (N - 1)), Tr(H_k S) = sum_i lam_i u_i'S u_i."""
    lam = torch.as_tensor(np.asarray(lam), dtype=torch.float64)
    U = torch.as_tensor(np.asarray(U), dtype=torch.float64)
    C = (samples - samples.mean(0)).double()
    scale = 1.0 / (C.shape[0] - 1)
    u_var = ((C @ U) ** 2).sum(0) * scale
    return {"tr_h": float(lam.sum()), "fro_h": float(lam.norm()),
            "tr_s": float((C * C).sum() * scale), "fro_s": float((C @ C.T).norm() * scale),
            "tr_hs": float((lam * u_var).sum())}


def sketched_pca(batches, B: int, top: int, extra=None, oversample: int = 10,
                 power_iterations: int = 1, seed: int = 0) -> dict:
    """Top PCA of K samples that are never held at once: ``batches()`` yields them (the same K
    each call) in (m, B) pieces. A randomized range finder (Halko, Martinsson & Tropp 2011) with
    ``power_iterations`` extra passes finds an orthonormal Q (B, top + oversample) spanning S's top
    directions; a last pass projects the samples on Q and on the columns of ``extra`` (B, k), and
    the covariance there gives the variances and directions (Rayleigh-Ritz) and u'S u for each
    column u of ``extra``. Memory O((top + oversample + k) x B) plus K x (top + oversample + k).
    Returns variances (top), directions (B, top), extra_var (k), trace (Tr S) and the count K."""
    s = min(top + oversample, B)
    Q = torch.randn(B, s, generator=rng.torch_stream("sketch", seed), dtype=torch.float64)
    for _ in range(power_iterations + 1):
        total, acc = torch.zeros(B, dtype=torch.float64), torch.zeros(B, s, dtype=torch.float64)
        count, sq = 0, 0.0
        for g in batches():
            g = g.double()
            total += g.sum(0)
            acc += g.T @ (g @ Q)
            sq += float((g * g).sum())
            count += len(g)
        mean = total / count
        SQ = (acc - count * mean[:, None] * (mean @ Q)[None, :]) / (count - 1)   # S Q
        Q = torch.linalg.qr(SQ).Q
    W = Q if extra is None else torch.cat([Q, torch.as_tensor(extra, dtype=torch.float64)], 1)
    proj = torch.cat([g.double() @ W for g in batches()])
    C = covariance(proj)
    values, vecs = torch.linalg.eigh(C[:s, :s])
    order = torch.argsort(values, descending=True)[:top]
    return {"variances": values[order].numpy(), "directions": Q @ vecs[:, order],
            "extra_var": C[s:, s:].diagonal().numpy(), "trace": (sq - count * float(mean @ mean))
            / (count - 1), "count": count}


def null_centred_wishart(B: int, draws: int, rng: np.random.Generator, device=None) -> np.ndarray:
    """alpha of independent centred Wishart pairs (G G^T / B - I), ``draws`` values; the
    products on ``device`` (the Gaussian numbers always come from ``rng``)."""
    def sample():
        G = torch.from_numpy(rng.standard_normal((B, B), dtype=np.float32)).to(device)
        return (G @ G.T / B).double() - torch.eye(B, dtype=torch.float64, device=device)

    return np.array([alignment(sample(), sample()) for _ in range(draws)])


def haar(B: int, rng: np.random.Generator, dtype=np.float64, device=None) -> np.ndarray:
    """A Haar-distributed orthogonal matrix (QR of a Gaussian matrix, signs fixed; the QR on
    ``device``)."""
    A = torch.from_numpy(rng.standard_normal((B, B)).astype(dtype)).to(device)
    Q, R = torch.linalg.qr(A)
    return (Q * torch.sign(torch.diagonal(R))).cpu().numpy()


def null_same_spectra(spectra, draws: int, rng: np.random.Generator,
                      dtype=np.float64, device=None) -> np.ndarray:
    """alpha of H and S with their spectra kept and relatively Haar-random eigenvectors.

    ``spectra``: pairs (eigenvalues of H, eigenvalues of S) of one size B; each Haar matrix is
    drawn once and used for every pair. Returns (draws, pairs).
    """
    pairs = [(np.asarray(h, float), np.asarray(s, float)) for h, s in spectra]
    out = np.empty((draws, len(pairs)))
    for r in range(draws):
        P = haar(len(pairs[0][0]), rng, dtype, device).astype(np.float64) ** 2
        out[r] = [h @ P @ s / (np.linalg.norm(h) * np.linalg.norm(s)) for h, s in pairs]
    return out


def wishart_null_sd(B: int) -> float:
    """Leading-order standard deviation of alpha for independent centred Wishart pairs.

    For W = G G^T / B - I: Cov(W_ij, W_kl) = (d_ik d_jl + d_il d_jk) / B, so
    E Tr(W1 W2)^2 = 2 B (B + 1) / B^2 and E |W|_F^2 = B (B + 1) / B: sd = sqrt(2 / (B (B + 1))).
    """
    return float(np.sqrt(2.0 / (B * (B + 1))))


def same_spectra_moments(tr_h: float, fro_h: float, tr_s: float, fro_s: float, B: int):
    """Exact mean and standard deviation of the same-spectra (Haar) null of alpha.

    alpha = sum_ij h_i P_ij s_j / (|h| |s|) with P_ij = Q_ij^2 for Haar-orthogonal Q, whose
    moments are E P = 1/B, E P_ij^2 = 3/(B(B+2)), E P_ij P_il = 1/(B(B+2)) (j != l, same for a
    shared column), E P_ij P_kl = (B+1)/((B-1)B(B+2)) (i != k, j != l). The sums over the spectra
    then reduce to Tr and |.|_F^2 of each matrix.
    """
    a1, a2, b1, b2 = tr_h, fro_h ** 2, tr_s, fro_s ** 2
    m4, m22, mx = 3 / (B * (B + 2)), 1 / (B * (B + 2)), (B + 1) / ((B - 1) * B * (B + 2))
    second = (m4 * a2 * b2 + m22 * a2 * (b1 ** 2 - b2) + m22 * (a1 ** 2 - a2) * b2
              + mx * (a1 ** 2 - a2) * (b1 ** 2 - b2))
    mean = a1 * b1 / B
    var = max(second - mean ** 2, 0.0)
    norm = fro_h * fro_s
    return mean / norm, float(np.sqrt(var)) / norm


def pca(samples: torch.Tensor, top: int):
    """Top PCA variances (descending, ddof 1) and unit directions (columns) of samples (N, B)."""
    centred = (samples - samples.mean(0)).double().cpu()
    if centred.shape[0] < centred.shape[1]:
        _, sv, vt = torch.linalg.svd(centred, full_matrices=False)
        var, vecs = sv ** 2 / (samples.shape[0] - 1), vt.T
        return var[:top].numpy(), vecs[:, :top]
    values, vecs = spectrum(covariance(centred), top)
    return values[:top], vecs


def interval_flatness(line_loss, loss0: float, factors, cap: float, grid: int = 18,
                      iters: int = 10) -> dict:
    """Interval flatness along D directions for each factor c: F = theta^r - theta^l.

    ``line_loss(t)`` maps signed distances t (D, S) to the losses at theta* + t_ds v_d. On each side
    the loss is evaluated on the geometric grid cap 2^-(grid-1) ... cap; the first grid point where it
    reaches c L(theta*) brackets the crossing (with the previous point, or 0), and the Illinois
    variant of regula falsi narrows the bracket (superlinear; ``iters`` steps reach the float
    resolution of the loss). A side that never reaches the level within ``cap`` is NaN: its F is
    NaN and flagged. A crossing between two grid points that the loss leaves again before the next
    one is not seen (the first crossing on the grid counts).

    Returns {factor: {"left", "right", "width", "flagged"}}, arrays of length D (left < 0 < right).
    """
    ts = cap * 2.0 ** np.arange(-(grid - 1), 1)
    values = {sign: _grid_values(line_loss, sign, ts) for sign in (1.0, -1.0)}
    out = {}
    for c in factors:
        level = c * loss0
        res = {}
        for sign, key in ((1.0, "right"), (-1.0, "left")):
            res[key] = sign * _crossing(line_loss, sign, ts, values[sign], loss0, level, iters)
        width = res["right"] - res["left"]
        out[float(c)] = {**res, "width": width, "flagged": ~np.isfinite(width)}
    return out


def _grid_values(line_loss, sign, ts):
    with torch.no_grad():
        return line_loss(torch.as_tensor(sign * ts)[None, :]).double().cpu().numpy()   # (D, S)


def _crossing(line_loss, sign, ts, values, loss0, level, iters):
    """Distance to the first crossing of ``level`` on one side (NaN where none within the grid)."""
    above = values >= level
    found = above.any(1)
    first = above.argmax(1)
    rows = np.arange(len(first))
    hi, f_hi = ts[first], values[rows, first] - level
    prev = np.maximum(first - 1, 0)
    lo = np.where(first > 0, ts[prev], 0.0)
    f_lo = np.where(first > 0, values[rows, prev], loss0) - level
    moved = np.zeros(len(first))          # +1: hi moved last, -1: lo moved last
    for _ in range(iters):
        with np.errstate(divide="ignore", invalid="ignore"):       # f_hi = f_lo: bisect below
            t = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        t = np.where(np.isfinite(t) & (t > lo) & (t < hi), t, 0.5 * (lo + hi))
        with torch.no_grad():
            f = line_loss(torch.as_tensor(sign * t)[:, None]).double().cpu().numpy()[:, 0] - level
        up = f >= 0
        # Illinois: halve the value kept at the end that did not move twice in a row
        f_lo = np.where(up & (moved > 0), 0.5 * f_lo, f_lo)
        f_hi = np.where(~up & (moved < 0), 0.5 * f_hi, f_hi)
        hi, f_hi = np.where(up, t, hi), np.where(up, f, f_hi)
        lo, f_lo = np.where(up, lo, t), np.where(up, f_lo, f)
        moved = np.where(up, 1.0, -1.0)
    return np.where(found, t, np.nan)


# ---------------------------------------------------------------------------------------------
# The stage: one (experiment, setting), every seed.

def stream_of(spec: dict, purpose: str, run_seed: int, step: int) -> dict:
    """The named stream (``rng`` purpose and fields) of a noise-stage draw: keyed by the noise
    seed, the training run's seed, the setting's (keep_prob, lr) and the checkpoint's step."""
    return {"purpose": purpose, "seed": spec["seed"], "run_seed": run_seed,
            "keep_prob": spec["keep_prob"], "lr": spec["lr"], "step": step}


def stream(spec: dict, purpose: str, run_seed: int, step: int) -> np.random.Generator:
    return rng.stream(**stream_of(spec, purpose, run_seed, step))


def streams(spec: dict, seeds, steps, kind: str = "stage") -> list[dict]:
    """Every stream one job of the noise stage draws (``kind``: ``stage``, ``compare`` or
    ``keep_sweep``) for the run's ``seeds`` and checkpoint ``steps``."""
    star = spec["theta_star"]
    if kind == "compare":
        return [stream_of(spec, p, s, star) for s in seeds for p in ("compare_sgd",
                                                                     "compare_gaussian")]
    if kind == "keep_sweep":
        return [stream_of(spec, "keep_sweep_masks", s, star) for s in spec["seeds"]]
    out = [stream_of(spec, "alignment_masks", s, t) for s in seeds for t in steps if t != star]
    out += [stream_of(spec, "theta_star_masks", s, star) for s in seeds]
    if spec.get("hessian", "full") == "lanczos":
        return out + [{"purpose": p, "seed": s} for s in seeds for p in ("lanczos_start",
                                                                          "sketch")]
    return out + [stream_of(spec, "null_draws", 0, star)]


def line_loss_fn(model: dict, params: dict, x, y, loss: str, block: str,
                 directions: torch.Tensor, chunk: int | None = None):
    """t (D, S) -> dropout-free loss at block = theta* + t_ds v_d (v_d: columns of ``directions``).

    FNN weight blocks: the block's input a is fixed, so its pre-activation moves on a line,
    z0 + t (a V_d^T), and only the layers above it are recomputed, about ``chunk`` (direction,
    distance) pairs at a time, direction by direction (a broadcast, never a gathered copy of the
    (D, n, width) line data); a cross-entropy output layer above the block is padded to
    ``BLAS_COLUMNS``, as in ``fnn_weight_gradients``. Other blocks: the vmapped loss. ``chunk`` defaults to
    the faster value of each (measured: 16 pairs for the FNN path, 128 for vmap).
    """
    from . import hessian

    model, params, x = models.head(model, params, x, block)
    theta = models.block_vector(params, block)
    V = directions.T.to(theta.device, theta.dtype)                    # (D, B)
    if model["arch"] != "fnn" or not block.startswith("w"):
        batched = vmap(hessian.block_loss(model, params, x, y, loss, block),
                       chunk_size=chunk or 128)

        def line(t):
            t = torch.as_tensor(t, dtype=theta.dtype, device=theta.device).expand(V.shape[0], -1)
            thetas = theta + t[..., None] * V[:, None, :]
            return batched(thetas.reshape(-1, theta.numel())).reshape(t.shape)

        return line

    act = models.ACTIVATIONS[model["activation"]]
    layer, last = int(block[1:]), len(model["hidden"]) + 1
    a = x
    for i in range(1, layer):
        a = act(a @ params[f"w{i}"].T + params[f"b{i}"])
    z0 = a @ params[block].T + params[f"b{layer}"]                    # (n, width)
    dz = a @ V.reshape(-1, *params[block].shape).transpose(1, 2)     # (D, n, width)
    above = {i: (params[f"w{i}"].T, params[f"b{i}"]) for i in range(layer + 1, last + 1)}
    classes = params[f"w{last}"].shape[0]
    if loss == "cross_entropy" and last > layer:
        w, b = above[last]
        pad = -classes % BLAS_COLUMNS       # zero columns, sliced off before the softmax
        above[last] = (torch.nn.functional.pad(w, (0, pad)).contiguous(),
                       torch.nn.functional.pad(b, (0, pad)))

    def losses(z):                                              # (..., n, width) -> (...)
        for w, b in above.values():
            z = torch.addmm(b, act(z).flatten(0, -2), w).view(*z.shape[:-1], -1)
        if loss == "cross_entropy":
            logp = torch.log_softmax(z[..., :classes], -1)
            target = y.expand(*z.shape[:-2], -1)[..., None]
            return -logp.gather(-1, target)[..., 0].mean(-1)
        flat = z.flatten(0, -3)
        return vmap(lambda out: models.loss_value(loss, out, y))(flat).view(z.shape[:-2])

    def line(t):
        t = torch.as_tensor(t, dtype=theta.dtype, device=theta.device).expand(V.shape[0], -1)
        per = max(1, (chunk or 16) // t.shape[1])              # directions per evaluation
        out = torch.empty_like(t)
        for d in range(0, t.shape[0], per):
            sl = slice(d, d + per)
            out[sl] = losses(torch.addcmul(z0, t[sl, :, None, None], dz[sl, None]))
        return out

    return line


def load_inputs(data_path, checkpoints_path, dtype: str, device):
    """The training data (x, y on ``device``, x in ``dtype``) and the checkpoints (parameters in
    ``dtype``) that the noise rules read."""
    from . import data, io

    arrays = data.load(data_path)
    x = torch.as_tensor(arrays["x_train"], dtype=getattr(torch, dtype), device=device)
    y = torch.as_tensor(arrays["y_train"], device=device)
    ckpt = io.load_torch(checkpoints_path)
    ckpt["params"] = {k: v.to(x.dtype) for k, v in ckpt["params"].items()}
    return x, y, ckpt


def analyse(spec: dict, x, y, checkpoints: dict, trajectory: dict, log=print) -> dict:
    """Alignment over checkpoints, PCA, flatness and the relations for every seed of a setting.

    ``checkpoints``: {"steps", "seeds", "params"} as written by training; ``trajectory``: the
    recorded block over the window that starts at theta* (``spec["theta_star"]``).
    Returns tidy frames: alignment (per seed and checkpoint, and at theta* with K masks),
    directions (per seed, kind, direction and flatness factor) and nulls (Monte Carlo at theta*).
    """
    import pandas as pd
    import time

    from . import hessian

    model, loss, block = spec["model"], spec["loss"], spec["block"]
    steps = [int(s) for s in checkpoints["steps"]]
    seeds = [int(s) for s in checkpoints["seeds"]]
    star = steps.index(spec["theta_star"])
    factors = sorted(set(map(float, spec["flatness_factors"])) | {float(spec["flatness_factor"])})
    top = spec["directions"]
    B = models.block_vector({k: v[0, 0] for k, v in checkpoints["params"].items()}, block).numel()
    label = {"setting": spec["setting"], "keep_prob": spec["keep_prob"], "lr": spec["lr"]}

    def point(i, s):
        """(model, params, inputs) at checkpoint i of seed s; a cnn/resnet head block on the
        trunk's output, computed here once for every use below (``models.head``)."""
        params = {k: v[i, s].to(x.device) for k, v in checkpoints["params"].items()}
        return models.head(model, params, x, block)

    def gradient_data(m, params, xb, K, rng):
        return mask_gradients(m, params, xb, y, loss, spec["keep_prob"], spec["mask"], block, K,
                              rng, batch=spec["batch"])

    low_rank = spec.get("hessian", "full") == "lanczos"

    def dense_stats(H, S):
        h64, s64 = H.double().cpu(), S.double().cpu()
        return {"tr_h": float(h64.trace()), "fro_h": float(h64.norm()),
                "tr_s": float(s64.trace()), "fro_s": float(s64.norm()),
                "tr_hs": float((h64 * s64).sum())}

    def align_row(st, fro_sq, step, seed, K):
        mean2, sd2 = same_spectra_moments(st["tr_h"], st["fro_h"], st["tr_s"], st["fro_s"], B)
        debiased = st["tr_hs"] / (st["fro_h"] * np.sqrt(fro_sq)) if fro_sq > 0 else np.nan
        return {**label, "seed": seed, "step": step, "masks": K, "block": block, "block_size": B,
                "hessian": "lanczos top-%d" % top if low_rank else "full",
                "alpha": st["tr_hs"] / (st["fro_h"] * st["fro_s"]),
                "alpha_debiased": debiased, "trace_h": st["tr_h"], "fro_h": st["fro_h"],
                "trace_s": st["tr_s"], "fro_s": st["fro_s"],
                "fro_s_debiased": np.sqrt(fro_sq) if fro_sq > 0 else np.nan,
                "wishart_sd": wishart_null_sd(B), "spectra_mean": mean2, "spectra_sd": sd2}

    def top_hessian(m, params, xb, seed):
        f = hessian.block_loss(m, params, xb, y, loss, block)
        return hessian.lanczos_top(f, models.block_vector(params, block), top, seed=seed)

    align, dirs, nulls, spectra = [], [], [], []
    small = spec["alignment_masks"]
    for si, seed in enumerate(seeds):
        t0 = time.perf_counter()
        for i, step in enumerate(steps):
            if step == spec["theta_star"]:
                continue
            m, params, xb = point(i, si)
            G = gradient_data(m, params, xb, small, stream(spec, "alignment_masks", seed, step))
            if low_rank:
                st = low_rank_stats(*top_hessian(m, params, xb, seed), G)
            else:
                st = dense_stats(hessian.block_hessian(m, params, xb, y, loss, block),
                                 covariance(G))
            align.append(align_row(st, sigma_fro_sq(G), step, seed, small))
        t_align = time.perf_counter() - t0

        # theta*: K gradients; their first alignment_masks rows give its point of alpha(theta_t)
        t0 = time.perf_counter()
        m, params, xb = point(star, si)
        K = max(spec["masks"], small)
        if low_rank:
            # never a B x B matrix: the Hessian's top directions by Lanczos, the gradient data
            # streamed twice or more (sketched PCA) and projected on them
            eig_h, vec_h = top_hessian(m, params, xb, seed)
            vec_h = torch.from_numpy(np.ascontiguousarray(vec_h))
            G = gradient_data(m, params, xb, small,
                              stream(spec, "theta_star_masks", seed, spec["theta_star"]))
            fro_sq = sigma_fro_sq(G)
            align.append(align_row(low_rank_stats(eig_h, vec_h, G), fro_sq, spec["theta_star"],
                                   seed, small))
            del G

            def batches():
                return mask_gradient_batches(m, params, xb, y, loss, spec["keep_prob"],
                                             spec["mask"], block, K,
                                             stream(spec, "theta_star_masks", seed, spec["theta_star"]),
                                             spec["batch"])

            sk = sketched_pca(batches, B, top, extra=vec_h, seed=seed)
            eig_s, vec_s, u_var = sk["variances"], sk["directions"], sk["extra_var"]
            st = {"tr_h": float(eig_h.sum()), "fro_h": float(np.linalg.norm(eig_h)),
                  "tr_s": sk["trace"], "fro_s": float(np.sqrt(fro_sq)),
                  "tr_hs": float((eig_h * u_var).sum())}
            # (|Sigma|_F of the K-mask row: the unbiased estimate from the first rows)
            align.append({**align_row(st, np.nan, spec["theta_star"], seed, K), "theta_star": True})
        else:
            H = hessian.block_hessian(m, params, xb, y, loss, block).double().cpu()   # used 3x
            G = gradient_data(m, params, xb, K, stream(spec, "theta_star_masks", seed, spec["theta_star"]))
            align.append(align_row(dense_stats(H, covariance(G[:small])),
                                   sigma_fro_sq(G[:small]), spec["theta_star"], seed, small))
            S = covariance(G).double()
            # at K masks the plain |S|_F is biased by a factor ~ sqrt(1 + r / K) only
            align.append({**align_row(dense_stats(H, S), np.nan, spec["theta_star"], seed, len(G)),
                          "theta_star": True})
            del G
            eig_h, vec_h = spectrum(H.float(), top)
            eig_s, vec_s = spectrum(S.float(), top)
            spectra.append((seed, eig_h, eig_s))
            u_var = ((vec_h.T @ S) * vec_h.T).sum(1).numpy()
        traj = torch.as_tensor(trajectory["params"][:, si]).reshape(-1, B).double()
        traj_centred = traj - traj.mean(0)
        t_mats = time.perf_counter() - t0

        t0 = time.perf_counter()
        var_t, vec_t = pca(traj, top)
        found = {
            "gradient": (eig_s[:top], vec_s),
            "trajectory": (var_t, vec_t),
            "hessian": (eig_h[:top], vec_h),
        }
        f = hessian.block_loss(m, params, xb, y, loss, block)
        loss0 = float(f(models.block_vector(params, block)))
        for kind, (values, vecs) in found.items():
            line = line_loss_fn(m, params, xb, y, loss, block, vecs)
            wanted = [float(spec["flatness_factor"])] if kind == "hessian" else factors
            flat = interval_flatness(line, loss0, wanted, spec["flatness_cap"])
            if kind == "hessian":
                traj_var = ((traj_centred @ vecs) ** 2).sum(0).numpy() / (traj.shape[0] - 1)
                extra = {"eigenvalue": values, "variance": u_var, "traj_variance": traj_var}
            else:
                extra = {"eigenvalue": np.full(len(values), np.nan), "variance": values,
                         "traj_variance": np.full(len(values), np.nan)}
            for c, res in flat.items():
                frame = pd.DataFrame({**label, "seed": seed, "kind": kind,
                                      "index": np.arange(len(values)), **extra, "factor": c,
                                      "loss0": loss0, "left": res["left"], "right": res["right"],
                                      "width": res["width"], "flagged": res["flagged"]})
                dirs.append(frame)
        t_flat = time.perf_counter() - t0
        log(f"seed {seed}: alignment at {len(steps)} checkpoints {t_align:.1f} s; theta* "
            f"(step {spec['theta_star']}: Hessian, K = {spec['masks']} gradients, spectra) "
            f"{t_mats:.1f} s; PCA and flatness {t_flat:.1f} s")

    if low_rank:
        log("hessian: lanczos: no Monte Carlo null draws (they need B x B matrices); the null "
            "bands use the exact moments")
        return _frames(align, dirs, nulls)
    # Monte Carlo nulls at theta*: each Haar matrix drawn once and used for every seed's spectra
    t0 = time.perf_counter()
    draws_rng = stream(spec, "null_draws", 0, spec["theta_star"])
    draws = null_same_spectra([(h, s) for _, h, s in spectra], spec["null_draws"], draws_rng,
                              np.float32,
                              x.device)
    nulls += [{**label, "seed": seed, "null": "same_spectra", "draw": r, "alpha": float(a)}
              for r, row in enumerate(draws) for (seed, _, _), a in zip(spectra, row)]
    wishart = null_centred_wishart(B, spec["null_draws"], draws_rng, x.device)
    nulls += [{**label, "seed": -1, "null": "centred_wishart", "draw": r, "alpha": float(a)}
              for r, a in enumerate(wishart)]
    log(f"null draws ({spec['null_draws']} of each, B = {B}): {time.perf_counter() - t0:.1f} s")
    return _frames(align, dirs, nulls)


def _frames(align, dirs, nulls) -> dict:
    import pandas as pd

    alignment_frame = pd.DataFrame(align)
    alignment_frame["theta_star"] = alignment_frame.get("theta_star", False)
    alignment_frame["theta_star"] = alignment_frame["theta_star"].fillna(False).astype(bool)
    columns = ["setting", "keep_prob", "lr", "seed", "null", "draw", "alpha"]
    return {"alignment": alignment_frame, "directions": pd.concat(dirs, ignore_index=True),
            "nulls": pd.DataFrame(nulls, columns=columns)}


def keep_sweep(spec: dict, x, y, checkpoints: dict, log=print):
    """figS8: at theta* of each of ``spec["seeds"]``, dropout noise of keep probability
    ``spec["keep_prob"]`` (the landscape fixed, the noise's p varied): K gradients of the block,
    their top PCA directions with their interval flatness (``flatness_factor``) and alpha(H, Sigma).
    Returns one row per (seed, direction), with ``alpha`` repeated on the seed's rows."""
    import pandas as pd

    from . import hessian

    model, loss, block, p = spec["model"], spec["loss"], spec["block"], spec["keep_prob"]
    steps = [int(s) for s in checkpoints["steps"]]
    seeds = [int(s) for s in checkpoints["seeds"]]
    star, factor = steps.index(spec["theta_star"]), float(spec["flatness_factor"])
    rows = []
    for seed in spec["seeds"]:
        params = {k: v[star, seeds.index(seed)].to(x.device)
                  for k, v in checkpoints["params"].items()}
        m, params, xb = models.head(model, params, x, block)      # a head's trunk: once
        G = mask_gradients(m, params, xb, y, loss, p, spec["mask"], block, spec["masks"],
                           stream(spec, "keep_sweep_masks", seed, spec["theta_star"]),
                           batch=spec["batch"])
        S = covariance(G).double()
        H = hessian.block_hessian(m, params, xb, y, loss, block).double()
        variances, vecs = spectrum(S.float(), spec["directions"])
        variances = variances[:vecs.shape[1]]
        f = hessian.block_loss(m, params, xb, y, loss, block)
        loss0 = float(f(models.block_vector(params, block)))
        line = line_loss_fn(m, params, xb, y, loss, block, vecs)
        flat = interval_flatness(line, loss0, [factor], spec["flatness_cap"])[factor]
        rows.append(pd.DataFrame({
            "keep_prob": p, "seed": seed, "index": np.arange(len(variances)),
            "variance": variances, "width": flat["width"],
            "flagged": flat["flagged"], "factor": factor, "alpha": alignment(H, S),
            "trace_s": float(S.trace()), "masks": spec["masks"], "block": block}))
        log(f"seed {seed}: keep_prob {p:g}, K = {spec['masks']} gradients of {block}")
    return pd.concat(rows, ignore_index=True)
