"""What the architectures are made of, without torch: their parameter blocks, a cnn's stages, a
ResNet's blocks and the mask conventions. The config checks block names with it at parse time
(no network is built there); ``models`` builds the networks from the same definitions."""

from __future__ import annotations

ARCHS = ("two_layer", "fnn", "cnn", "resnet", "transformer", "encoder_decoder")
SEQUENCE = ("transformer", "encoder_decoder")   # token inputs, a label per position
HEADED = ("fnn", "cnn", "resnet")   # a mask-free trunk (none for fnn), then an FNN head
MASK_MODES = ("per_step", "per_sample")
RESNET_WIDTHS = (16, 32, 64)
ALL = "all"   # the block name of every parameter at once (flattened in the dict's order)


def conv_stages(model: dict) -> list[list[int]]:
    """A cnn's ``channels`` as stages (each a list of convolution widths, closed by pooling)."""
    return [[c] if isinstance(c, int) else list(c) for c in model["channels"]]


def resnet_blocks(model: dict) -> int:
    """Basic blocks per stage of ResNet-depth: depth = 6 k + 2."""
    depth = model["depth"]
    if (depth - 2) % 6:
        raise ValueError(f"resnet depth must be 6k + 2 (20, 32, 44, ...), got {depth}")
    return (depth - 2) // 6


def resnet_trunk_masks(model: dict) -> list[tuple]:
    """Per-sample (channels, height, width) of a resnet's trunk dropout sites, in forward order,
    with ``conv_dropout`` (the precursor's dropout after the convolutions): the stem's output,
    then in every basic block the first convolution's activation and the block's output (its
    second convolution after the residual sum); none without it."""
    if model["arch"] != "resnet" or not model.get("conv_dropout"):
        return []
    _, height, width = model["image"]
    shapes = [(RESNET_WIDTHS[0], height, width)]
    for s, channels in enumerate(RESNET_WIDTHS, start=1):
        for b in range(1, resnet_blocks(model) + 1):
            if s > 1 and b == 1:
                height, width = (height + 1) // 2, (width + 1) // 2
            shapes += [(channels, height, width)] * 2
    return shapes


def attention_width(model: dict) -> int:
    """heads x d_k: the width of an attention's queries, keys and values (d_k = d_v; default
    d_model / heads, as in a decoder-only ``transformer``)."""
    heads = model["heads"]
    d_k = model.get("d_k") or model["d_model"] // heads
    if not model.get("d_k") and model["d_model"] % heads:
        raise ValueError(f"d_model {model['d_model']} is not a multiple of heads {heads}: set d_k")
    return heads * d_k


def encoder_decoder_shapes(model: dict, vocab: int) -> dict:
    """name -> shape of every parameter of an ``encoder_decoder`` (Vaswani et al. 2017) with a
    ``vocab``-token vocabulary shared by source and target, in initialisation order: the
    embeddings, each encoder layer (self-attention, feed-forward, a LayerNorm before each), each
    decoder layer (self-attention, cross-attention, feed-forward), the stacks' final
    LayerNorms and the output projection."""
    d, ff, a = model["d_model"], model["d_ff"], attention_width(model)
    shapes = {"src_embed": (vocab, d), "tgt_embed": (vocab, d)}

    def norm(name):
        shapes.update({f"{name}_g": (d,), f"{name}_s": (d,)})

    def attention(name):
        for proj in "qkv":
            shapes.update({f"{name}_{proj}_w": (a, d), f"{name}_{proj}_b": (a,)})
        shapes.update({f"{name}_o_w": (d, a), f"{name}_o_b": (d,)})

    def feed_forward(name):
        shapes.update({f"{name}_ff1_w": (ff, d), f"{name}_ff1_b": (ff,),
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
    shapes.update({"out_w": (vocab, d), "out_b": (vocab,)})
    return shapes


def head_layer(block: str) -> int | None:
    """i for a parameter ``w<i>`` or ``b<i>`` of an FNN (or of a cnn/resnet's FNN head)."""
    if len(block) > 1 and block[0] in "wb" and block[1:].isdigit():
        return int(block[1:])
    return None


def param_names(model: dict) -> list[str]:
    """The parameter blocks of a model, in ``models.init_params``'s order."""
    arch = model["arch"]
    if arch == "two_layer":
        return ["w", "a"]
    if arch == "encoder_decoder":
        return list(encoder_decoder_shapes(model, 1))
    if arch == "transformer":
        names = ["embed", "pos"]
        for i in range(1, model["layers"] + 1):
            names += [f"l{i}_ln1_g", f"l{i}_ln1_s", f"l{i}_q_w", f"l{i}_k_w", f"l{i}_v_w",
                      f"l{i}_o_w", f"l{i}_o_b", f"l{i}_ln2_g", f"l{i}_ln2_s", f"l{i}_ff1_w",
                      f"l{i}_ff1_b", f"l{i}_ff2_w", f"l{i}_ff2_b"]
        return names + ["lnf_g", "lnf_s", "out_w", "out_b"]
    if arch not in HEADED:
        raise ValueError(f"unknown arch {arch!r}; allowed: {', '.join(ARCHS)}")
    names = []
    if arch == "cnn":
        convs = sum(len(stage) for stage in conv_stages(model))
        names += [f"conv{c}_{p}" for c in range(1, convs + 1) for p in "wb"]
    if arch == "resnet":
        units = ["stem"] + [f"s{s}b{b}_{k}" for s in range(1, len(RESNET_WIDTHS) + 1)
                            for b in range(1, resnet_blocks(model) + 1) for k in (1, 2)]
        names += [f"{u}_{p}" for u in units for p in "wgs"]
    layers = len(model["hidden"]) + 1
    kinds = "wb" if model.get("bias", True) else "w"
    return names + [f"{p}{i}" for i in range(1, layers + 1) for p in kinds]
