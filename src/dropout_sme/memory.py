"""What a job holds in memory: the sizes the cost plan (``plan``) counts and the jobs use to cut
their vmapped batches (Hessian-vector columns, line-loss points, E1's tangent products) to the
device, in one place. Without torch; an edit here reruns the jobs whose batches it sizes (the
plan's rates live in ``plan``, which no job imports)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from . import architectures

RUNTIME_BYTES = 512 * 2 ** 20                # torch and its libraries, or a CUDA context
# A vmapped Hessian-vector column (forward-over-reverse) keeps primal, tangent and cotangent
# activations: at most this many numbers per activation kept by one sample's forward pass (the
# measurements per architecture: docs/cluster.md; tests/test_plan.py checks the bound).
HVP_COLUMN = 4
# A vmapped forward pass without a graph (the flatness's line losses) keeps about one sample's
# activations per point (docs/cluster.md).
LINE_POINT = 1
VMAP_SHARE = 0.25          # of the device's memory for one vmapped batch of columns or points
HESSIAN_COLUMNS = 500      # at most: more gains no speed
LINE_POINTS = 128
DEVICE_BYTES = {"cuda": 139 * 2 ** 30}       # the plan's GPU (an H200); cpu: this machine's RAM


@dataclass(frozen=True)
class Data:
    n: int              # training samples
    n_test: int
    features: int       # inputs per sample (flattened), or tokens for sequences
    outputs: int        # classes, vocabulary or 1
    image: tuple | None = None


def activations(model: dict, data: Data, head_only: bool = False) -> float:
    """Numbers one sample's forward pass keeps for its gradient (layer outputs; ``head_only``:
    of a cnn or resnet's FNN head)."""
    return architectures.of(model).kept(model, data, head_only)


def dense_hessian_pays(m: int, d: int, n: int, paths: int) -> bool:
    """E1's tangent process (sme.control): whether forming the two-layer net's P x P Hessian
    (P = m (d + 1) products, then a (paths, P) x (P, P) product) costs fewer operations than one
    Hessian-vector product per path (each about 6 m n (d + 1)): true for a few inputs and many
    paths (the default config), false for MNIST's 784 inputs."""
    P, hvp = m * (d + 1), 6 * m * n * (d + 1)
    return P * (hvp + 2 * paths * P) < paths * hvp


def device_bytes(device: str) -> int:
    if device in DEVICE_BYTES:
        return DEVICE_BYTES[device]
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def vmap_chunk(count: int, item_bytes: float, budget: float, most: int) -> int:
    """How many items (Hessian-vector columns, line points) to vmap at once: as many of the
    ``count`` as fit in ``VMAP_SHARE`` of the device's ``budget`` bytes, at least one, at most
    ``most``."""
    return int(min(count, most, max(1, VMAP_SHARE * budget // max(item_bytes, 1))))


def hessian_columns(B: int, column_bytes: float, budget: float) -> int:
    return vmap_chunk(B, column_bytes, budget, HESSIAN_COLUMNS)


def line_points(point_bytes: float, budget: float) -> int:
    return vmap_chunk(LINE_POINTS, point_bytes, budget, LINE_POINTS)


def closed_form_hessian(model: dict, block: str) -> bool:
    """The FNN's last hidden weight block: its Hessian has a closed form (``models.fnn``), no
    vmapped columns."""
    return architectures.of(model).fnn_kernel and block == f"w{len(model['hidden'])}"


def hvp_column_bytes(model: dict, data: Data, rows: int, head_only: bool = False,
                     itemsize: int = 4) -> float:
    """Bytes one vmapped Hessian-vector column holds over ``rows`` samples."""
    return HVP_COLUMN * rows * activations(model, data, head_only) * itemsize


def line_point_bytes(model: dict, data: Data, rows: int, head_only: bool = False,
                     itemsize: int = 4) -> float:
    """Bytes one vmapped point of a line loss (a forward pass) holds over ``rows`` samples."""
    return LINE_POINT * rows * activations(model, data, head_only) * itemsize
