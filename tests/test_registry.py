"""The architecture protocol: a new architecture is one class registered from one file (here, this
test), and training, the noise stage, the cost plan and the figures' labels take it without an edit
elsewhere; every registered architecture keeps its declared parameter names and mask shapes."""

import math

import numpy as np
import pytest
import torch

from dropout_sme import architectures, data, memory, models, noise, plan, train
from dropout_sme.architectures import Architecture


class InputDropout(Architecture):
    """Multinomial logistic regression with dropout on its inputs: f(x) = W (x * mask) + b."""

    name = "input_dropout_test"

    def param_names(self, model):
        return ["w", "b"]

    def mask_shapes(self, model, n_in=None):
        return [(n_in,)]

    def init(self, model, n_in, n_out, draw):
        params = {}
        draw.linear(params, "w", "b", n_out, n_in)
        return params

    def forward(self, model, params, x, masks=None):
        if masks is not None:
            x = x * masks[0]
        return x @ params["w"].T + params["b"]

    def flops(self, model, data, head_only=False):
        return 2.0 * data.features * data.outputs

    def kept(self, model, data, head_only=False):
        return float(data.features + data.outputs)

    def label(self, model):
        return "input dropout"


@pytest.fixture
def registered():
    architectures.register(InputDropout)
    yield {"arch": InputDropout.name, "activation": "tanh"}
    del architectures.REGISTRY[InputDropout.name]


def test_a_registered_architecture_trains_and_runs_the_noise_stage(registered):
    model = registered
    digits = data.prepare({"source": "digits", "test_fraction": 0.25, "seed": 0})[0]
    run = dict(experiment="t", setting="p0.8_lr0.1", dataset="digits", model=model,
               loss="cross_entropy", keep_prob=0.8, lr=0.1, mask="per_sample", steps=30,
               batch_size=None, eval_every=10, checkpoints=[0, 10], seeds=[0, 1],
               trajectory={"block": "b", "start": 20, "length": 10, "stride": 1},
               dtype="float64", seed_batching="loop", device="cpu", resume_every=100)
    out = train.train(run, digits, progress=False)
    metrics = out["metrics"]
    first, last = (metrics[metrics.step == s].train_loss.mean() for s in (0, 30))
    assert last < first                                   # it learns under dropout
    spec = {**{k: run[k] for k in ("experiment", "setting", "keep_prob", "lr", "model", "loss",
                                 "mask")},
            "block": "b", "masks": 200, "alignment_masks": 40, "directions": 4,
            "flatness_factor": 2.0, "flatness_factors": [2.0], "flatness_cap": 100.0,
            "null_draws": 2, "batch": 32, "seed": 0, "theta_star": 20,
            "reference_masks": 2}
    x = torch.as_tensor(digits["x_train"], dtype=torch.float64)
    y = torch.as_tensor(digits["y_train"])
    res = noise.analyse(spec, x, y, out["checkpoints"], out["trajectory"], log=lambda *_: None,
                        metrics=metrics)
    assert res["alignment"].alpha.between(-1, 1).all()
    hess = res["directions"][res["directions"].kind == "hessian"]
    assert len(hess) == 2 * 4 and np.isfinite(hess.eigenvalue).all()
    sizes = plan.data_of({"source": "digits", "test_fraction": 0.25})
    assert plan.forward_flops(model, sizes) == 2.0 * 64 * 10
    assert memory.activations(model, sizes) == 74.0
    assert plan.block_size(model, sizes, "w") == int(2.0 * 64 * 10 / 2 / 64)


def test_an_unknown_arch_names_the_registered_ones():
    with pytest.raises(ValueError, match="unknown arch 'mlp'; allowed: two_layer, fnn, cnn"):
        models.init_params({"arch": "mlp"}, 4, 2, torch.Generator())


MODELS = {
    "two_layer": ({"arch": "two_layer", "width": 5, "activation": "tanh"}, 4, 1),
    "fnn": ({"arch": "fnn", "hidden": [6, 5], "activation": "relu"}, 4, 3),
    "cnn": ({"arch": "cnn", "channels": [[3, 4], 5], "hidden": [6], "activation": "relu",
             "image": [1, 8, 8]}, 64, 3),
    "resnet": ({"arch": "resnet", "depth": 8, "hidden": [5], "activation": "relu",
                "image": [3, 8, 8], "conv_dropout": True}, 192, 3),
    "transformer": ({"arch": "transformer", "d_model": 8, "heads": 2, "d_ff": 6, "layers": 1,
                     "activation": "relu"}, 6, 7),
    "encoder_decoder": ({"arch": "encoder_decoder", "d_model": 8, "heads": 2, "d_ff": 6,
                         "layers": 1, "activation": "relu", "src_length": 3}, 6, 7),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_every_architecture_keeps_its_protocol(name):
    """Initialisation in param_names' order, masks of mask_shapes' shapes accepted by forward,
    and the plan's parameter count exact for the whole network where it is exact (``all`` of
    the encoder-decoder) -- the checks a new architecture's module must pass too."""
    model, n_in, n_out = MODELS[name]
    assert architectures.ARCHS[:len(MODELS)] == tuple(MODELS)
    arch = architectures.of(model)
    params = models.init_params(model, n_in, n_out, torch.Generator().manual_seed(0),
                                torch.float64)
    assert list(params) == arch.param_names(model)
    g = torch.Generator().manual_seed(1)
    x = (torch.randint(1, n_out, (4, n_in), generator=g).double() if arch.sequence
         else torch.randn(4, n_in, generator=g, dtype=torch.float64))
    masks = models.sample_masks(model, 0.5, "per_sample", 4, g, torch.float64, n_in=n_in)
    assert [m.shape[1:] for m in masks] == [torch.Size(s) for s in arch.mask_shapes(model, n_in)]
    assert not torch.equal(models.forward(model, params, x, masks), models.forward(model, params, x))
    if name == "encoder_decoder":
        sizes = plan.Data(10, 10, n_in, n_out)
        assert plan.block_size(model, sizes, "all") == sum(math.prod(v.shape)
                                                           for v in params.values())
    assert arch.label(model)
