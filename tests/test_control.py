"""The E1 control variate (sme.control): the tangent process tracks the paths, has mean zero, and
changes nothing else about a simulation."""

import pytest
import torch

from dropout_sme.memory import dense_hessian_pays
from dropout_sme.sme import control, simulate
from dropout_sme.sme import twolayer as tl

from test_sme import small_problem


@pytest.mark.parametrize("method", ["dropout", "svag", "sme1", "sme2"])
def test_the_control_variate_draws_no_random_numbers(method):
    """With it, the plain test functions are those of the run without it, bit for bit."""
    prob = small_problem()

    def run(cv):
        gen = torch.Generator().manual_seed(3)
        return simulate.run_chunk(prob, method, 0.1, 0.4, 0.2, 50, gen, substeps=2,
                                  control_variate=cv)

    plain, both = run(False), run(True)
    assert both.shape[-1] == 6 and torch.equal(plain, both[..., :3])


@pytest.mark.parametrize("dense", [True, False])
def test_hessian_times_equals_a_hessian_vector_product_per_path(dense):
    """Both routes: the formed Hessian times every path's Y, and a product per path."""
    prob = small_problem()
    net = prob.net(prob.a0, prob.w0)
    gen = torch.Generator().manual_seed(0)
    ya = torch.randn(7, prob.m, generator=gen, dtype=torch.float64)
    yw = torch.randn(7, prob.m, prob.d, generator=gen, dtype=torch.float64)
    got = control._hessian_times(net, prob.p, ya, yw, dense)
    want = net.hvp_modified_loss(prob.p, ya, yw)
    assert torch.allclose(got[0], want[0], atol=1e-12) and torch.allclose(got[1], want[1],
                                                                          atol=1e-12)


def test_the_dense_hessian_pays_for_few_inputs_and_many_paths_only():
    assert dense_hessian_pays(m=8, d=10, n=256, paths=1000)        # the default E1
    assert not dense_hessian_pays(m=16, d=784, n=1000, paths=2000)  # MNIST, 12,560 params


@pytest.mark.parametrize("method", ["dropout", "sme1"])
def test_the_tangent_tracks_the_paths_to_first_order(method):
    """theta - xbar - Y is O(lr) while theta - xbar is O(sqrt(lr)): their ratio falls like
    sqrt(lr) (halving lr four times divides it by about 4); a wrong noise or H would not."""
    prob = small_problem(p=0.7)

    def ratio(lr):
        paths, T = 400, 0.4
        gen = torch.Generator().manual_seed(5)
        a, w = prob.a0.expand(paths, -1).clone(), prob.w0.expand(paths, -1, -1).clone()
        tan = control.start(prob, paths)
        with torch.no_grad():
            for _ in range(round(T / lr)):
                if method == "dropout":
                    masks = [prob.masks(paths, gen)]
                    ga, gw = prob.method_grad(a, w, masks, (1.0,))
                    la, lw = prob.net(a, w).grad_modified_loss(prob.p)
                    tan = control.step(prob, tan, lr, lr, 1, (lr * (la - ga), lr * (lw - gw)))
                    a, w = a - lr * ga, w - lr * gw
                else:
                    normals = prob.normals(paths, gen)
                    na, nw = prob.net(a, w).gaussian_noise(prob.p, *normals)
                    tan = control.step(prob, tan, lr, lr, 1, (lr * na, lr * nw))
                    a, w = prob.em_step(a, w, lr, lr, 1, normals)
        dev = tl.flatten(a - tan[0], w - tan[1])
        rest = dev - tl.flatten(tan[2], tan[3])
        return float(rest.norm(dim=1).mean() / dev.norm(dim=1).mean())

    coarse, fine = ratio(0.1), ratio(0.1 / 16)
    assert fine < coarse / 2.5


@pytest.mark.parametrize("method", ["dropout", "sme1"])
def test_the_corrected_mean_is_unbiased_and_less_noisy(method):
    """E[g - grad g(xbar) . Y] = E g: the corrected and plain means of many paths agree within
    their Monte Carlo error, and the corrected one's variance is a few times smaller."""
    prob = small_problem(p=0.7)
    gen = torch.Generator().manual_seed(11)
    vals = simulate.run_chunk(prob, method, 0.02, 0.4, 0.2, 20000, gen, substeps=1,
                              extrapolate=False, control_variate=True)[-1]
    plain, corrected = vals[:, :3], vals[:, 3:]
    diff = plain - corrected                                # the control variate itself
    se = diff.std(0) / len(diff) ** 0.5
    assert (diff.mean(0).abs() < 4 * se).all()
    assert (plain.var(0) > 2 * corrected.var(0)).all()
