"""The pieces the sequence models share (``architectures.transformer``, the decoder-only, and
``architectures.encoder_decoder``): LayerNorm, Vaswani et al.'s sinusoidal positions and
multi-head attention.

Inputs are token ids stored as floats in the sequence datasets' layout: ``src_length`` source
tokens, then the decoder's input (BOS and the target shifted right); labels are the target ids
with ``IGNORE`` over the source and the padding.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F



def layer_norm(h: torch.Tensor, scale, shift, eps: float = 1e-5) -> torch.Tensor:
    return F.layer_norm(h, h.shape[-1:], scale, shift, eps)


def sinusoid(positions: int, d: int, dtype, device) -> torch.Tensor:
    """Vaswani et al.'s positional encoding: PE[t, 2i] = sin(t / 10000^(2i/d)) and
    PE[t, 2i + 1] = cos(t / 10000^(2i/d))."""
    t = torch.arange(positions, dtype=torch.float64, device=device)[:, None]
    rate = torch.exp(torch.arange(0, d, 2, dtype=torch.float64, device=device)
                     * (-math.log(10000.0) / d))
    pe = torch.zeros(positions, d, dtype=torch.float64, device=device)
    pe[:, 0::2] = torch.sin(t * rate)
    pe[:, 1::2] = torch.cos(t * rate)[:, :d // 2]
    return pe.to(dtype)


def attention(params: dict, name: str, queries, keys, heads: int, allowed) -> torch.Tensor:
    """Multi-head attention ``name`` of ``queries`` (n, T, d) over ``keys`` (n, S, d): heads of
    width d_k, scores hidden where ``allowed`` (broadcast to (n, heads, T, S)) is False; a
    projection without a bias parameter (the decoder-only model's q, k, v) has none."""
    def project(z, p):
        z = z @ params[f"{name}_{p}_w"].T
        bias = params.get(f"{name}_{p}_b")
        return z if bias is None else z + bias

    def split(z):                                                   # (n, T, H d_k) -> (n, H, T, d_k)
        return z.unflatten(-1, (heads, -1)).transpose(-3, -2)

    q, k, v = split(project(queries, "q")), split(project(keys, "k")), split(project(keys, "v"))
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    # the lowest finite score, not -inf: a row with every key hidden stays finite
    scores = torch.where(allowed, scores, torch.finfo(scores.dtype).min)
    o = (scores.softmax(-1) @ v).transpose(-3, -2).flatten(-2)
    return o @ params[f"{name}_o_w"].T + params[f"{name}_o_b"]
