"""The architectures, one module each, behind one protocol, and the registry that maps a config's
``model.arch`` to its module. Everything that depends on the architecture asks it here: the
networks (``models``: parameters, initialisation, forward pass with masks, mask shapes), the config
checks (named blocks, what an architecture refuses), the plan and the memory model (operations
and activations per sample), the toy-scale config and the figures' labels. No other module tests
``arch``; a new architecture is one module that subclasses ``Architecture`` and is registered
(``register``).

Without torch at import: the DAG builds, checks its config and plans its costs with these
descriptions. The methods that build or run a network import torch where they run.

Modules: ``two_layer`` (the theory's network), ``fnn``, ``cnn`` (small CNNs and VGG's stacks of
convolution stages), ``resnet``, ``transformer`` (decoder-only) and ``encoder_decoder``.
"""

from __future__ import annotations

MASK_MODES = ("per_step", "per_sample")
ALL = "all"   # the block name of every parameter at once (flattened in the dict's order)


def head_layer(block: str) -> int | None:
    """i for a parameter ``w<i>`` or ``b<i>`` of an FNN (or of a cnn/resnet's FNN head)."""
    if len(block) > 1 and block[0] in "wb" and block[1:].isdigit():
        return int(block[1:])
    return None


class Architecture:
    """What the pipeline needs of an architecture. ``model`` is the config's ``model`` mapping
    (``arch`` and the architecture's own keys); ``data`` a ``memory.Data`` of the dataset's
    sizes. Subclasses set ``name`` and implement the methods that raise here."""

    name = ""
    sequence = False        # token inputs, a label per position (the sequence datasets)
    scalar_output = False   # one output: regression data only
    fnn_kernel = False      # the whole network is the FNN kernel (models.fnn's closed forms)

    # -- the network (torch) -----------------------------------------------------------------
    def param_names(self, model: dict) -> list[str]:
        """The parameter blocks, in ``init``'s order."""
        raise NotImplementedError

    def init(self, model: dict, n_in: int, n_out: int, draw) -> dict:
        """Initial parameters from ``draw`` (``models.nets.Draw``: the generator's normal and
        uniform draws, nn.Linear's default), in ``param_names``' order."""
        raise NotImplementedError

    def mask_shapes(self, model: dict, n_in: int | None = None) -> list[tuple]:
        """Per-sample shape of every dropout mask, in forward order (``n_in``: positions)."""
        raise NotImplementedError

    def forward(self, model: dict, params: dict, x, masks=None):
        """Outputs for inputs x (n, n_in), each dropout site times its mask (None: no dropout)."""
        raise NotImplementedError

    def head(self, model: dict, block: str) -> dict | None:
        """The FNN model of a mask-free trunk's head when ``block`` is in that head (the noise
        stage then runs on the head alone, with the FNN kernel's fast paths), else None."""
        return None

    def trunk(self, model: dict, params: dict, x, masks=None):
        """The flat features that ``head``'s FNN takes."""
        raise NotImplementedError(f"{self.name} has no trunk")

    # -- costs (the plan, the memory model) --------------------------------------------------
    def flops(self, model: dict, data, head_only: bool = False) -> float:
        """Floating-point operations of one sample's forward pass (``head_only``: ``head``'s)."""
        raise NotImplementedError

    def kept(self, model: dict, data, head_only: bool = False) -> float:
        """Numbers one sample's forward pass keeps for its gradient (layer outputs)."""
        raise NotImplementedError

    def block_size(self, model: dict, data, block: str) -> int:
        """Parameters in a block (an estimate where the sizes need the data's layout)."""
        return int(self.flops(model, data) / 2 / max(data.features, 1))   # ~ the parameters

    # -- what it refuses, how it is labelled and shrunk --------------------------------------
    def config_error(self, model: dict, name: str, dataset: dict) -> tuple[str, str] | None:
        """(key under ``model`` or "", reason) where this model cannot run on dataset ``name``
        (its spec ``dataset``); None where it can."""
        return None

    def chunk_refusal(self, model: dict) -> tuple[str, str, str] | None:
        """Where the full batch cannot be summed over micro-batches (``chunk``): (what the model
        is, why not, the key under the experiment that lifts it); None where it can."""
        return None

    def scored_from(self, model: dict) -> int:
        """The first output position the loss scores (the labels before it must be unscored)."""
        return 0

    def label(self, model: dict) -> str:
        """A short label of the network for figures and tables."""
        return self.name

    def toy(self, model: dict, narrow, length: int) -> dict:
        """The model at toy scale (``toy``): ``narrow(n, multiple=1)`` shrinks a width, sequences
        have ``length`` positions."""
        return dict(model)


REGISTRY: dict[str, Architecture] = {}


def register(cls: type[Architecture]) -> type[Architecture]:
    """Make ``cls`` the architecture of ``model.arch == cls.name`` (a class decorator)."""
    REGISTRY[cls.name] = cls()
    return cls


def of(model: dict | str) -> Architecture:
    """The architecture of a model mapping (or of an ``arch`` name)."""
    name = model if isinstance(model, str) else model["arch"]
    if name not in REGISTRY:
        raise ValueError(f"unknown arch {name!r}; allowed: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def param_names(model: dict) -> list[str]:
    """The parameter blocks of a model, in ``models.init_params``'s order."""
    return of(model).param_names(model)


# the architectures register themselves on import (a registered test architecture joins them)
from . import two_layer, fnn, cnn, resnet, transformer, encoder_decoder  # noqa: E402,F401

ARCHS = tuple(REGISTRY)
SEQUENCE = tuple(name for name, arch in REGISTRY.items() if arch.sequence)
