"""Random gradient data against the closed-form Sigma; alignment and its null models."""

import numpy as np
import pytest
import torch

from dropout_sme import models, noise
from dropout_sme import twolayer as tl


@pytest.mark.parametrize("mode", ["per_step", "per_sample"])
def test_mask_gradient_covariance_matches_the_closed_form(mode):
    """The generic random-gradient Sigma (any model, vmapped masks) against section 1.4."""
    g = torch.Generator().manual_seed(0)
    model = {"arch": "two_layer", "width": 3, "activation": "tanh"}
    params = models.init_params(model, 2, 1, g, torch.float64)
    x = torch.randn(5, 2, generator=g, dtype=torch.float64)
    y = torch.randn(5, generator=g, dtype=torch.float64)
    K = 40_000
    grads = noise.mask_gradients(model, params, x, y, "mse", 0.6, mode, "w", K,
                                 torch.Generator().manual_seed(1), batch=4000)
    emp = noise.covariance(grads)
    exact = tl.sigma_closed_form(params["a"], params["w"], x, y, 0.6, mode)
    # the w-block of Sigma: unit r's w_r sits at columns r(d+1)+1 .. r(d+1)+d
    idx = [r * 3 + j for r in range(3) for j in (1, 2)]
    block = exact[np.ix_(idx, idx)]
    se = (block.diagonal()[:, None] * block.diagonal()[None, :] + block ** 2).sqrt() / K ** 0.5
    assert ((emp - block).abs() / se).max() < 5.5


def test_alignment_of_known_pairs():
    A = torch.diag(torch.tensor([3.0, 1.0, 0.0]))
    assert noise.alignment(A, A) == pytest.approx(1)
    assert noise.alignment(A, -A) == pytest.approx(-1)
    assert noise.alignment(A, torch.diag(torch.tensor([0.0, 0.0, 2.0]))) == 0
    assert noise.alignment(torch.eye(4), torch.eye(4) * 7) == pytest.approx(1)
    # two rank-one matrices u u^T and v v^T: alpha = (u.v)^2 / (|u|^2 |v|^2)
    u, v = torch.tensor([1.0, 2.0, 0.0]), torch.tensor([2.0, 0.0, 1.0])
    assert noise.alignment(torch.outer(u, u), torch.outer(v, v)) == pytest.approx(4 / 25)


def test_centred_wishart_null_is_centred_and_small():
    vals = noise.null_centred_wishart(60, 200, np.random.default_rng(0))
    assert abs(vals.mean()) < 4 * vals.std() / np.sqrt(len(vals))
    assert vals.std() < 0.05 and np.abs(vals).max() < 0.1   # O(1/B): the paper's "0.001" at B=2500


def test_same_spectra_null_has_its_closed_form_mean():
    rng = np.random.default_rng(1)
    eh, es = rng.exponential(1, 30), rng.exponential(1, 30) ** 2
    vals = noise.null_same_spectra(eh, es, 2000, rng)
    mean = eh.sum() * es.sum() / (30 * np.linalg.norm(eh) * np.linalg.norm(es))
    assert abs(vals.mean() - mean) < 4 * vals.std() / np.sqrt(len(vals))
    Q = noise.haar(30, rng)
    np.testing.assert_allclose(Q @ Q.T, np.eye(30), atol=1e-12)
