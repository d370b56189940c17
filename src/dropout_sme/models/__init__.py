"""The networks as pure functions of (params, x, masks): ``nets`` builds and runs every
architecture through the registry of ``architectures``, ``fnn`` is the FNN kernel (layer loop and
the hand-written products of the noise stage), ``transformer`` the sequence models' shared
attention, ``activations`` and ``losses`` the pieces they all use."""

from ..architectures import ALL, ARCHS, MASK_MODES, SEQUENCE
from . import fnn, transformer
from .activations import ACTIVATIONS, DERIVATIVES
from .losses import (IGNORE, LOSSES, accuracy, chunked_mean, is_classification, loss_count,
                     loss_sum, loss_value)
from .nets import (Draw, batch_norm, block_vector, forward, head, init_params, mask_shapes,
                   sample_masks, trunk, with_block)
from .transformer import layer_norm

__all__ = ["ALL", "ARCHS", "MASK_MODES", "SEQUENCE", "fnn", "transformer", "ACTIVATIONS",
           "DERIVATIVES", "IGNORE", "LOSSES", "accuracy", "chunked_mean", "is_classification",
           "loss_count", "loss_sum", "loss_value", "Draw", "batch_norm", "block_vector", "forward", "head",
           "init_params", "layer_norm", "mask_shapes", "sample_masks", "trunk", "with_block"]
