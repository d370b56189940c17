"""Null models of the alignment alpha, each with Monte Carlo draws and exact moments.

- ``null_centred_wishart``: the paper's "two random matrices of the same size": independent
  Wishart matrices G G^T / B (G standard normal, B x B), *centred* by their mean, the identity, so
  that E alpha = 0 (uncentred PSD matrices always have Tr(AB) > 0 and alpha near 1/2). The
  centred matrices are not positive semi-definite; their standard deviation is
  sqrt(2 / (B (B + 1))) to leading order (``wishart_null_sd``).
- ``null_same_spectra``: the reviewer's stronger null: H and S with their own eigenvalues but
  Haar-random eigenvectors, alpha = sum_ij h_i Q_ij^2 s_j / (|H|_F |S|_F). Its mean and variance
  depend on the spectra only through Tr and |.|_F (Weingarten moments of Q_ij^2,
  ``same_spectra_moments``), so the band needs no eigendecomposition at every checkpoint.
"""

from __future__ import annotations

import numpy as np
import torch

from .estimators import alignment


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
