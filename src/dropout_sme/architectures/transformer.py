"""``transformer``: a pre-LayerNorm decoder-only transformer (causal self-attention over the whole
row, learned positional embeddings) on token ids stored as floats, with dropout, as in Vaswani et
al., on each sublayer's output before the residual sum and after the feed-forward activation (the
attention weights and the embeddings carry none). Its outputs cover every position.
Initialisation: embeddings N(0, 1) as nn.Embedding, linear maps as nn.Linear, LayerNorm scale 1
and shift 0. The attention and LayerNorm are ``models.transformer``'s, shared with the
encoder-decoder."""

from __future__ import annotations

from . import Architecture, register


def positions_needed(model: dict, n_in: int | None) -> int:
    """A sequence model's positions (its masks' first dimension), which the caller must give."""
    if n_in is None:
        raise ValueError(f"a {model['arch']}'s masks need n_in, the number of positions")
    return n_in


@register
class Transformer(Architecture):
    name = "transformer"
    sequence = True

    def param_names(self, model):
        names = ["embed", "pos"]
        for i in range(1, model["layers"] + 1):
            names += [f"l{i}_ln1_g", f"l{i}_ln1_s", f"l{i}_q_w", f"l{i}_k_w", f"l{i}_v_w",
                      f"l{i}_o_w", f"l{i}_o_b", f"l{i}_ln2_g", f"l{i}_ln2_s", f"l{i}_ff1_w",
                      f"l{i}_ff1_b", f"l{i}_ff2_w", f"l{i}_ff2_b"]
        return names + ["lnf_g", "lnf_s", "out_w", "out_b"]

    def mask_shapes(self, model, n_in=None):
        n_in = positions_needed(model, n_in)
        d, ff = model["d_model"], model["d_ff"]
        return [shape for _ in range(model["layers"])
                for shape in ((n_in, d), (n_in, ff), (n_in, d))]

    def init(self, model, n_in, n_out, draw):
        d, ff, heads = model["d_model"], model["d_ff"], model["heads"]
        if d % heads:
            raise ValueError(f"transformer d_model {d} is not a multiple of heads {heads}")
        params = {"embed": draw.normal(n_out, d, std=1.0), "pos": draw.normal(n_in, d, std=1.0)}

        def norm(name):
            params[f"{name}_g"] = draw.ones(d)
            params[f"{name}_s"] = draw.zeros(d)

        for i in range(1, model["layers"] + 1):
            norm(f"l{i}_ln1")
            for name in ("q", "k", "v"):
                draw.linear(params, f"l{i}_{name}_w", None, d, d)
            draw.linear(params, f"l{i}_o_w", f"l{i}_o_b", d, d)
            norm(f"l{i}_ln2")
            draw.linear(params, f"l{i}_ff1_w", f"l{i}_ff1_b", ff, d)
            draw.linear(params, f"l{i}_ff2_w", f"l{i}_ff2_b", d, ff)
        norm("lnf")
        draw.linear(params, "out_w", "out_b", n_out, d)
        return params

    def forward(self, model, params, x, masks=None):
        import torch

        from ..models.activations import ACTIVATIONS
        from ..models.transformer import attention, layer_norm

        act = ACTIVATIONS[model["activation"]]
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

    def flops(self, model, data, head_only=False):
        d, T = model["d_model"], data.features
        per_token = model["layers"] * (8 * d * d + 4 * T * d + 4 * d * model["d_ff"])
        return T * (per_token + 2 * d * data.outputs)

    def kept(self, model, data, head_only=False):
        d, T = model["d_model"], data.features
        return model["layers"] * T * (6 * d + model["d_ff"] + model["heads"] * T) + T * data.outputs

    def block_size(self, model, data, block):
        if block.endswith("_w"):
            return model["d_model"] * max(model["d_model"], model["d_ff"])
        return super().block_size(model, data, block)

    def label(self, model):
        return f"transformer d={model['d_model']}, {model['layers']} layer(s)"

    def toy(self, model, narrow, length):
        return narrow_widths(model, narrow, model.get("heads", 1))


def narrow_widths(model: dict, narrow, multiple: int) -> dict:
    """A sequence model's d_model (to a multiple of ``multiple``), d_k and d_ff narrowed."""
    out = {**model, "d_model": narrow(model["d_model"], multiple)}
    for key in ("d_k", "d_ff"):
        if model.get(key):
            out[key] = narrow(model[key])
    return out
