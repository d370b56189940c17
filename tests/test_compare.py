"""Dropout against SGD and Gaussian noise: the exact SGD covariance, matched magnitudes, runs."""

import itertools

import numpy as np
import pytest
import torch

from dropout_sme import models, noise
from dropout_sme.noise import compare

FNN = {"arch": "fnn", "hidden": [4, 3], "activation": "tanh"}


def problem(n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    params = models.init_params(FNN, 3, 2, g, torch.float64)
    x = torch.randn(n, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (n,), generator=g)
    return params, x, y


def test_per_sample_gradients_average_to_the_full_gradient():
    params, x, y = problem()
    G = compare.per_sample_gradients(noise.Problem.of(FNN, params, x, y, "cross_entropy", "w2"))
    f = noise.Problem.of(FNN, params, x, y, "cross_entropy", "w2").loss_fn()
    torch.testing.assert_close(G.mean(0), torch.func.grad(f)(params["w2"].reshape(-1)))


def test_sgd_covariance_against_exact_enumeration_of_the_batches():
    params, x, y = problem()
    G = compare.per_sample_gradients(noise.Problem.of(FNN, params, x, y, "cross_entropy", "w2"))
    b = 4
    means = torch.stack([G[list(c)].mean(0) for c in itertools.combinations(range(12), b)])
    centred = means - means.mean(0)
    exact = centred.T @ centred / len(means)           # every batch equally likely
    torch.testing.assert_close(compare.sgd_covariance(G, b), exact)


@pytest.mark.parametrize("target", [1e-4, 3e-3])
def test_matched_batch_gives_the_target_trace(target):
    params, x, y = problem(n=40)
    G = compare.per_sample_gradients(noise.Problem.of(FNN, params, x, y, "cross_entropy", "w2"))
    b = compare.matched_batch(target, G)
    assert 0 < b <= 40
    assert float(compare.sgd_covariance(G, b).trace()) == pytest.approx(target, rel=1e-10)


def test_runs_without_noise_are_plain_gradient_descent():
    params, x, y = problem()
    rng = np.random.default_rng(0)
    task = noise.Problem.of(FNN, params, x, y, "cross_entropy", "w2")
    full = compare.continue_run(task, 0.1, 5, rng, batch=12)
    task = noise.Problem.of(FNN, params, x, y, "cross_entropy", "w2")
    still = compare.continue_run(task, 0.1, 5, rng, sigma=0.0)
    torch.testing.assert_close(full, still)
    assert torch.equal(full[0], params["w2"].reshape(-1))
    task = noise.Problem.of(FNN, params, x, y, "cross_entropy", "w2")
    noisy = compare.continue_run(task, 0.1, 5, rng, sigma=1.0)
    step = (noisy[1] - full[1]) / 0.1                  # one step: the injected noise, N(0, 1)
    assert 0.2 < step.std() < 3


def test_sgd_trained_alpha_is_sgds_alignment_where_sgd_led():
    """At lr 0 SGD stays at theta_0: the row is alpha(H, Sigma_SGD(b)) there, computed directly;
    at lr > 0 it moves to another point, whose training loss it reports."""
    params, x, y = problem()
    checkpoints = {"steps": [0, 5], "seeds": [0],
                   "params": {k: torch.stack([v, v])[:, None] for k, v in params.items()}}
    spec = {"model": FNN, "loss": "cross_entropy", "block": "w2", "theta_star": 5, "lr": 0.0,
            "seed": 0, "keep_prob": 0.8}
    still = compare.sgd_trained(spec, x, y, checkpoints, 0, 4)
    at0 = noise.Problem.of(FNN, params, x, y, "cross_entropy", "w2")
    direct = noise.alignment(noise.hessian.block_hessian(at0).double(),
                             compare.sgd_covariance(compare.per_sample_gradients(at0), 4))
    assert still["alpha_sgd_trained"] == pytest.approx(direct, rel=1e-9)
    moved = compare.sgd_trained({**spec, "lr": 0.5}, x, y, checkpoints, 0, 4)
    assert moved["loss_sgd_trained"] < at0.loss0 and 0 < moved["alpha_sgd_trained"] <= 1


def test_sgd_trained_needs_the_runs_first_checkpoint():
    params, x, y = problem()
    checkpoints = {"steps": [5], "seeds": [0],
                   "params": {k: v[None, None] for k, v in params.items()}}
    spec = {"model": FNN, "loss": "cross_entropy", "block": "w2", "theta_star": 5, "lr": 0.1,
            "seed": 0, "keep_prob": 0.8}
    assert np.isnan(compare.sgd_trained(spec, x, y, checkpoints, 0, 4)["alpha_sgd_trained"])
