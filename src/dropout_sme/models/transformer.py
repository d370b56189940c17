"""The two sequence models, as pure functions of (params, tokens, masks).

Inputs are token ids stored as floats in the sequence datasets' layout: ``src_length`` source
tokens, then the decoder's input (BOS and the target shifted right); labels are the target ids
with ``IGNORE`` over the source and the padding.

- ``transformer``: a pre-LayerNorm decoder-only transformer (causal self-attention over the whole
  row, learned positional embeddings) with dropout, as in Vaswani et al., on each sublayer's
  output before the residual sum and after the feed-forward activation (the attention weights
  and the embeddings carry none). Its outputs cover every position.
- ``encoder_decoder``: the precursor's encoder-decoder (Vaswani et al. 2017, in the pre-LayerNorm
  arrangement of The Annotated Transformer, which the precursor's hyper-parameter names follow):
  sinusoidal positions added to embeddings scaled by sqrt(d_model), ``layers`` encoder layers
  (self-attention, feed-forward) and decoder layers (causal self-attention, cross-attention to
  the encoder's output, feed-forward), d_k = d_v per head, PAD source tokens hidden from every
  attention. Dropout, as the precursor lists it, on each sublayer's output and on the embedding
  + position sums (none inside the feed-forward or on the attention weights). Its outputs cover
  the target positions only: the losses align labels from the right (the source's labels are all
  ``IGNORE``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..architectures import encoder_decoder_shapes
from ..data.common import PAD


def mask_shapes(model: dict, n_in: int | None) -> list[tuple]:
    """Per-sample (positions, width) of every dropout site, in forward order."""
    if n_in is None:
        raise ValueError(f"a {model['arch']}'s masks need n_in, the number of positions")
    d = model["d_model"]
    if model["arch"] == "transformer":
        ff = model["d_ff"]
        return [shape for _ in range(model["layers"]) for shape in ((n_in, d), (n_in, ff), (n_in, d))]
    src, tgt = model["src_length"], n_in - model["src_length"]
    return ([(src, d)] * (1 + 2 * model["layers"])) + [(tgt, d)] * (1 + 3 * model["layers"])


def init(model, n_in, n_out, normal, uniform, linear, dtype) -> dict:
    """Initial parameters (``normal``, ``uniform``, ``linear``: ``nets.init_params``'s draws).

    transformer: embeddings N(0, 1) as nn.Embedding, linear maps as nn.Linear, LayerNorm scale 1
    and shift 0. encoder_decoder: as The Annotated Transformer, every matrix (embeddings too)
    Xavier-uniform, biases as nn.Linear, LayerNorm 1 and 0."""
    if model["arch"] == "encoder_decoder":
        if not 0 < model["src_length"] < n_in:
            raise ValueError(f"encoder_decoder src_length {model['src_length']} leaves no target "
                             f"position of the data's {n_in}")
        params = {}
        for name, shape in encoder_decoder_shapes(model, n_out).items():
            if name.endswith("_g"):
                params[name] = torch.ones(shape, dtype=dtype)
            elif name.endswith("_s"):
                params[name] = torch.zeros(shape, dtype=dtype)
            elif len(shape) == 2:
                params[name] = uniform(*shape, bound=math.sqrt(6.0 / sum(shape)))
            else:       # a bias: nn.Linear's bound from its weight's fan-in
                fan_in = params[name[:-1] + "w"].shape[1]
                params[name] = uniform(*shape, bound=1.0 / math.sqrt(fan_in))
        return params
    d, ff, heads = model["d_model"], model["d_ff"], model["heads"]
    if d % heads:
        raise ValueError(f"transformer d_model {d} is not a multiple of heads {heads}")
    params = {"embed": normal(n_out, d, std=1.0), "pos": normal(n_in, d, std=1.0)}

    def norm(name):
        params[f"{name}_g"] = torch.ones(d, dtype=dtype)
        params[f"{name}_s"] = torch.zeros(d, dtype=dtype)

    for i in range(1, model["layers"] + 1):
        norm(f"l{i}_ln1")
        for name in ("q", "k", "v"):
            linear(params, f"l{i}_{name}_w", None, d, d)
        linear(params, f"l{i}_o_w", f"l{i}_o_b", d, d)
        norm(f"l{i}_ln2")
        linear(params, f"l{i}_ff1_w", f"l{i}_ff1_b", ff, d)
        linear(params, f"l{i}_ff2_w", f"l{i}_ff2_b", d, ff)
    norm("lnf")
    linear(params, "out_w", "out_b", n_out, d)
    return params


def layer_norm(h: torch.Tensor, scale, shift, eps: float = 1e-5) -> torch.Tensor:
    return F.layer_norm(h, h.shape[-1:], scale, shift, eps)


def forward(model, params, x, masks, act) -> torch.Tensor:
    if model["arch"] == "encoder_decoder":
        return _encoder_decoder(model, params, x, masks, act)
    tokens = x.long()
    positions, heads = tokens.shape[-1], model["heads"]
    h = params["embed"][tokens] + params["pos"]                       # (n, T, d)
    causal = torch.ones(positions, positions, dtype=torch.bool, device=x.device).tril()
    for i in range(1, model["layers"] + 1):
        m = masks[3 * (i - 1):3 * i] if masks is not None else None
        a = layer_norm(h, params[f"l{i}_ln1_g"], params[f"l{i}_ln1_s"])
        o = attention(params, f"l{i}", a, a, heads, causal)
        h = h + (o * m[0] if m is not None else o)
        a = layer_norm(h, params[f"l{i}_ln2_g"], params[f"l{i}_ln2_s"])
        f = act(a @ params[f"l{i}_ff1_w"].T + params[f"l{i}_ff1_b"])
        if m is not None:
            f = f * m[1]
        f = f @ params[f"l{i}_ff2_w"].T + params[f"l{i}_ff2_b"]
        h = h + (f * m[2] if m is not None else f)
    h = layer_norm(h, params["lnf_g"], params["lnf_s"])
    return h @ params["out_w"].T + params["out_b"]


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


def _encoder_decoder(model, params, x, masks, act):
    tokens = x.long()
    S, heads, d = model["src_length"], model["heads"], model["d_model"]
    src, tgt = tokens[..., :S], tokens[..., S:]
    T = tgt.shape[-1]
    sites = iter(masks) if masks is not None else None

    def drop(h):
        return h if sites is None else h * next(sites)

    def norm(h, name):
        return layer_norm(h, params[f"{name}_g"], params[f"{name}_s"])

    def feed_forward(h, name):
        h = act(h @ params[f"{name}_ff1_w"].T + params[f"{name}_ff1_b"])
        return h @ params[f"{name}_ff2_w"].T + params[f"{name}_ff2_b"]

    pe = sinusoid(max(S, T), d, params["src_embed"].dtype, x.device)
    visible = (src != PAD)[..., None, None, :]                  # (n, 1, 1, S): real source tokens
    causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
    h = drop(params["src_embed"][src] * math.sqrt(d) + pe[:S])
    for i in range(1, model["layers"] + 1):
        a = norm(h, f"enc{i}_ln1")
        h = h + drop(attention(params, f"enc{i}_self", a, a, heads, visible))
        h = h + drop(feed_forward(norm(h, f"enc{i}_ln2"), f"enc{i}"))
    memory = norm(h, "enc_lnf")
    g = drop(params["tgt_embed"][tgt] * math.sqrt(d) + pe[:T])
    for i in range(1, model["layers"] + 1):
        a = norm(g, f"dec{i}_ln1")
        g = g + drop(attention(params, f"dec{i}_self", a, a, heads, causal))
        g = g + drop(attention(params, f"dec{i}_cross", norm(g, f"dec{i}_ln2"), memory, heads,
                               visible))
        g = g + drop(feed_forward(norm(g, f"dec{i}_ln3"), f"dec{i}"))
    return norm(g, "dec_lnf") @ params["out_w"].T + params["out_b"]
