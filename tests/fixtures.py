"""Tiny dataset files in the real formats (the package's writers, shared with the toy config)."""

from dropout_sme.data.fixtures import (MULTI30K_LINES, idx_bytes, make_cifar, make_mnist,
                                       make_multi30k)

__all__ = ["MULTI30K_LINES", "idx_bytes", "make_cifar", "make_mnist", "make_multi30k"]
