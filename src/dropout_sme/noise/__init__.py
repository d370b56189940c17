"""E2-E5: the structure of dropout's noise at a parameter block (the ``noise_setting``,
``noise_compare``, ``noise_keep``, ``noise_mask`` and ``noise_sharpness`` rules).

``problem``: the analysed (model, params, x, y, loss, block) with a head applied once, at a
checkpoint, and the inputs the noise rules load; ``streams``: the named random streams of every
noise job; ``masks``: random gradient data; ``hessian``: block Hessians; ``estimators``:
covariance, spectra, PCA, alignment; ``nulls``: the null models of alpha; ``flatness``: interval
flatness; ``trajectory``: trajectory data by Feng & Tu's protocol; ``stage``: the stage of one
setting; ``sweep``: the keep sweep and the mask convention; ``compare``: dropout against SGD and
Gaussian noise of the same magnitude; ``sharpness``: flatness at the end of training with and
without dropout.
"""

from . import compare, hessian, sharpness, trajectory
from .estimators import (alignment, covariance, low_rank_stats, pca, sigma_fro_sq, sketched_pca,
                         spectrum)
from .flatness import flatness, interval_flatness, line_loss
from .masks import bernoulli, mask_gradient_batches, mask_gradients, vmapped_gradients
from .nulls import (haar, null_centred_wishart, null_same_spectra, same_spectra_moments,
                    wishart_null_sd)
from .problem import Problem, at_checkpoint, load_inputs
from .stage import analyse
from .streams import stream, streams
from .sweep import theta_star_noise

__all__ = ["compare", "hessian", "sharpness", "trajectory", "alignment", "covariance",
           "low_rank_stats", "pca", "sigma_fro_sq", "sketched_pca", "spectrum", "flatness",
           "interval_flatness",
           "line_loss", "bernoulli", "mask_gradient_batches", "mask_gradients",
           "vmapped_gradients", "haar", "null_centred_wishart", "null_same_spectra",
           "same_spectra_moments", "wishart_null_sd", "Problem", "at_checkpoint", "analyse",
           "theta_star_noise", "load_inputs", "stream", "streams"]
