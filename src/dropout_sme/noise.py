"""Dropout-noise data of a parameter block and the Hessian-noise alignment with its null models.

Groundwork of the noise-structure stage (E2-E4):

- ``mask_gradients``: "random gradient data": K full-batch dropout gradients of one block at
  frozen parameters, each with fresh masks, vmapped over masks; their covariance estimates Sigma.
- ``alignment``: alpha(H, S) = Tr(H S) / (|H|_F |S|_F).
- Two null models for alpha:
  ``null_centred_wishart``: the paper's "two random matrices of the same size": independent
  Wishart matrices G G^T / B (G standard normal, B x B), *centred* by their mean, the identity, so
  that E alpha = 0 (uncentred PSD matrices always have Tr(AB) > 0 and alpha near 1/2);
  ``null_same_spectra``: the reviewer's stronger null: H and S with their own eigenvalues but
  Haar-random eigenvectors, alpha = Tr(L_H Q L_S Q^T) / (|H|_F |S|_F), whose mean is
  Tr(H) Tr(S) / (B |H|_F |S|_F) (tested).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import grad, vmap

from . import models


def mask_gradients(model: dict, params: dict, x, y, loss: str, keep_prob: float, mask: str,
                   block: str, K: int, generator: torch.Generator, batch: int = 256):
    """(K, B) dropout gradients of ``block`` (flattened), one fresh set of masks each."""
    shape = params[block].shape

    def f(theta, masks):
        full = {**params, block: theta.reshape(shape)}
        return models.loss_value(loss, models.forward(model, full, x, masks), y)

    g = vmap(grad(f), in_dims=(None, 0))
    theta = params[block].reshape(-1)
    out = []
    for start in range(0, K, batch):
        masks = models.sample_masks(model, keep_prob, mask, x.shape[0], generator, theta.dtype,
                                    theta.device, batch=(min(batch, K - start),))
        out.append(g(theta, masks))
    return torch.cat(out)


def covariance(samples: torch.Tensor) -> torch.Tensor:
    centred = samples - samples.mean(0)
    return centred.T @ centred / (samples.shape[0] - 1)


def alignment(H, S) -> float:
    H, S = torch.as_tensor(H, dtype=torch.float64), torch.as_tensor(S, dtype=torch.float64)
    return float((H * S).sum() / (H.norm() * S.norm()))


def null_centred_wishart(B: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """alpha of independent centred Wishart pairs (G G^T / B - I), ``draws`` values."""
    def sample():
        G = rng.standard_normal((B, B))
        return G @ G.T / B - np.eye(B)

    return np.array([alignment(sample(), sample()) for _ in range(draws)])


def haar(B: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    Q, R = np.linalg.qr(rng.standard_normal((B, B)))
    return Q * np.sign(np.diag(R))


def null_same_spectra(eig_h, eig_s, draws: int, rng: np.random.Generator) -> np.ndarray:
    """alpha of H and S with their spectra kept and relatively Haar-random eigenvectors."""
    eig_h, eig_s = np.asarray(eig_h, float), np.asarray(eig_s, float)
    norm = np.linalg.norm(eig_h) * np.linalg.norm(eig_s)
    out = []
    for _ in range(draws):
        Q = haar(len(eig_h), rng)
        out.append(np.einsum("i,ij,j->", eig_h, Q ** 2, eig_s) / norm)
    return np.array(out)
