"""Estimators of the noise stage: covariance and spectra of sampled gradients or trajectories,
the PCA of either data set, an unbiased |Sigma|_F^2, the alignment alpha(H, S) and its
ingredients without a B x B matrix, and a streamed (sketched) PCA for blocks too large to hold.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import rng


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
    faster than one full eigendecomposition (``benchmarks/hessian_speed.py``)."""
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


def pca(samples: torch.Tensor, top: int):
    """Top PCA variances (descending, ddof 1) and unit directions (columns) of samples (N, B)."""
    centred = (samples - samples.mean(0)).double().cpu()
    if centred.shape[0] < centred.shape[1]:
        # fewer samples than coordinates: the N x N Gram matrix's eigenpairs (float64) give
        # the top right singular vectors, X' u / s, without the SVD of the whole window
        values, u = torch.linalg.eigh(centred @ centred.T)
        values, u = values.flip(0)[:top].clamp_min(0), u.flip(1)[:, :top]
        vecs = centred.T @ u
        norms = vecs.norm(dim=0)
        vecs = vecs / torch.where(norms > 0, norms, torch.ones_like(norms))
        return (values / (samples.shape[0] - 1)).numpy(), vecs
    values, vecs = spectrum(covariance(centred), top)
    return values[:top], vecs
