"""``encoder_decoder``: the precursor's encoder-decoder (Vaswani et al. 2017, in the pre-LayerNorm
arrangement of The Annotated Transformer, which the precursor's hyper-parameter names follow):
sinusoidal positions added to embeddings scaled by sqrt(d_model), ``layers`` encoder layers
(self-attention, feed-forward) and decoder layers (causal self-attention, cross-attention to the
encoder's output, feed-forward), d_k = d_v per head, PAD source tokens hidden from every
attention. Dropout, as the precursor lists it, on each sublayer's output and on the embedding +
position sums (none inside the feed-forward or on the attention weights). Inputs: ``src_length``
source tokens, then the decoder's input; its outputs cover the target positions only (the losses
align labels from the right; the source's labels are all unscored). Initialisation as The
Annotated Transformer: every matrix (embeddings too) Xavier-uniform, biases as nn.Linear,
LayerNorm 1 and 0."""

from __future__ import annotations

import math

from . import Architecture, register
from .transformer import narrow_widths, positions_needed


def attention_width(model: dict) -> int:
    """heads x d_k: the width of an attention's queries, keys and values (d_k = d_v; default
    d_model / heads)."""
    heads = model["heads"]
    d_k = model.get("d_k") or model["d_model"] // heads
    if not model.get("d_k") and model["d_model"] % heads:
        raise ValueError(f"d_model {model['d_model']} is not a multiple of heads {heads}: set d_k")
    return heads * d_k


def shapes(model: dict, vocab: int) -> dict:
    """name -> shape of every parameter with a ``vocab``-token vocabulary shared by source and
    target, in initialisation order: the embeddings, each encoder layer (self-attention,
    feed-forward, a LayerNorm before each), each decoder layer (self-attention, cross-attention,
    feed-forward), the stacks' final LayerNorms and the output projection."""
    d, ff, a = model["d_model"], model["d_ff"], attention_width(model)
    out = {"src_embed": (vocab, d), "tgt_embed": (vocab, d)}

    def norm(name):
        out.update({f"{name}_g": (d,), f"{name}_s": (d,)})

    def attention(name):
        for proj in "qkv":
            out.update({f"{name}_{proj}_w": (a, d), f"{name}_{proj}_b": (a,)})
        out.update({f"{name}_o_w": (d, a), f"{name}_o_b": (d,)})

    def feed_forward(name):
        out.update({f"{name}_ff1_w": (ff, d), f"{name}_ff1_b": (ff,),
                    f"{name}_ff2_w": (d, ff), f"{name}_ff2_b": (d,)})

    for i in range(1, model["layers"] + 1):
        norm(f"enc{i}_ln1")
        attention(f"enc{i}_self")
        norm(f"enc{i}_ln2")
        feed_forward(f"enc{i}")
    for i in range(1, model["layers"] + 1):
        norm(f"dec{i}_ln1")
        attention(f"dec{i}_self")
        norm(f"dec{i}_ln2")
        attention(f"dec{i}_cross")
        norm(f"dec{i}_ln3")
        feed_forward(f"dec{i}")
    norm("enc_lnf")
    norm("dec_lnf")
    out.update({"out_w": (vocab, d), "out_b": (vocab,)})
    return out


@register
class EncoderDecoder(Architecture):
    name = "encoder_decoder"
    sequence = True

    def param_names(self, model):
        return list(shapes(model, 1))

    def mask_shapes(self, model, n_in=None):
        d, src = model["d_model"], model["src_length"]
        tgt = positions_needed(model, n_in) - src
        return [(src, d)] * (1 + 2 * model["layers"]) + [(tgt, d)] * (1 + 3 * model["layers"])

    def init(self, model, n_in, n_out, draw):
        if not 0 < model["src_length"] < n_in:
            raise ValueError(f"encoder_decoder src_length {model['src_length']} leaves no target "
                             f"position of the data's {n_in}")
        params = {}
        for name, shape in shapes(model, n_out).items():
            if name.endswith("_g"):
                params[name] = draw.ones(*shape)
            elif name.endswith("_s"):
                params[name] = draw.zeros(*shape)
            elif len(shape) == 2:
                params[name] = draw.uniform(*shape, bound=math.sqrt(6.0 / sum(shape)))
            else:       # a bias: nn.Linear's bound from its weight's fan-in
                fan_in = params[name[:-1] + "w"].shape[1]
                params[name] = draw.uniform(*shape, bound=1.0 / math.sqrt(fan_in))
        return params

    def forward(self, model, params, x, masks=None):
        import torch

        from ..data.common import PAD
        from ..models.activations import ACTIVATIONS
        from ..models.transformer import attention, layer_norm, sinusoid

        act = ACTIVATIONS[model["activation"]]
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
        visible = (src != PAD)[..., None, None, :]              # (n, 1, 1, S): real source tokens
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

    def flops(self, model, data, head_only=False):
        d, a, ff = model["d_model"], attention_width(model), model["d_ff"]
        S = model["src_length"]
        T = data.features - S
        encoder = S * (8 * d * a + 4 * S * a + 4 * d * ff)
        decoder = T * (8 * d * a + 4 * T * a + 4 * d * a + 4 * S * a + 4 * d * ff) + 4 * S * d * a
        return model["layers"] * (encoder + decoder) + 2.0 * T * d * data.outputs

    def kept(self, model, data, head_only=False):
        d, a, ff, heads = model["d_model"], attention_width(model), model["d_ff"], model["heads"]
        S = model["src_length"]
        T = data.features - S
        encoder = S * (6 * d + 4 * a + ff + heads * S)
        decoder = T * (9 * d + 8 * a + ff + heads * (T + S))
        return model["layers"] * (encoder + decoder) + T * data.outputs

    def block_size(self, model, data, block):
        from . import ALL

        sizes = {k: math.prod(v) for k, v in shapes(model, data.outputs).items()}
        return sum(sizes.values()) if block == ALL else sizes[block]

    def config_error(self, model, name, dataset):
        try:
            attention_width(model)
        except ValueError as err:
            return "", str(err)
        src = dataset.get("src_length", dataset.get("length"))
        if model["src_length"] != src:
            return "src_length", (f"got {model['src_length']}; allowed: {src}, the source "
                                  f"positions of dataset {name!r}")
        return None

    def scored_from(self, model):
        return model["src_length"]

    def label(self, model):
        return f"encoder-decoder d={model['d_model']}, {model['layers']}+{model['layers']} layers"

    def toy(self, model, narrow, length):
        return {**narrow_widths(model, narrow, 1), "src_length": length}
