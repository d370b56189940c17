"""E2-E5: the structure of dropout's noise at a parameter block (the ``noise_setting``,
``noise_compare`` and ``noise_keep`` rules).

``problem``: the analysed (model, params, x, y, loss, block) with a head applied once, at a
checkpoint; ``masks``: random gradient data; ``hessian``: block Hessians; ``estimators``:
covariance, spectra, PCA, alignment; ``nulls``: the null models of alpha; ``flatness``: interval
flatness; ``stage``: the stage of one setting and the keep sweep; ``compare``: dropout against
SGD and Gaussian noise of the same magnitude.
"""

from . import compare, hessian
from .estimators import (alignment, covariance, low_rank_stats, pca, sigma_fro_sq, sketched_pca,
                         spectrum)
from .flatness import flatness, interval_flatness, line_loss
from .masks import bernoulli, mask_gradient_batches, mask_gradients, vmapped_gradients
from .nulls import (haar, null_centred_wishart, null_same_spectra, same_spectra_moments,
                    wishart_null_sd)
from .problem import Problem, at_checkpoint
from .stage import analyse, keep_sweep, load_inputs, stream, streams

__all__ = ["compare", "hessian", "alignment", "covariance", "low_rank_stats", "pca",
           "sigma_fro_sq", "sketched_pca", "spectrum", "flatness", "interval_flatness",
           "line_loss", "bernoulli", "mask_gradient_batches", "mask_gradients",
           "vmapped_gradients", "haar", "null_centred_wishart", "null_same_spectra",
           "same_spectra_moments", "wishart_null_sd", "Problem", "at_checkpoint", "analyse",
           "keep_sweep", "load_inputs", "stream", "streams"]
