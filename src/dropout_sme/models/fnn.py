"""The FNN kernel: the layer loop of a feed-forward net (the FNN, and the head of a cnn or resnet)
and the hand-written products that the noise stage and the Hessians run on it.

- ``layers``: hidden layers i = start..stop-1, h -> sigma(h W_i^T + b_i), times the layer's mask;
- ``padded_output``: a cross-entropy output layer padded to ``BLAS_COLUMNS`` rows (zero weights,
  bias -inf: softmax gives the pads exactly 0, so they add nothing): BLAS runs the
  (rows x width) @ (width x 16) product much faster than with 10 columns;
- ``weight_gradients``: the dropout gradients of a weight block w_i (i >= 2) for many masks at once;
- ``line_loss``: the dropout-free loss along lines through a weight block;
- ``last_hidden_hessian``: the closed-form Hessian in the last hidden weight matrix.

Each is checked against autograd on the generic functions of ``models`` in the tests.
"""

from __future__ import annotations

import torch
from torch.func import grad, vmap

from .. import architectures
from ..architectures import head_layer
from .activations import ACTIVATIONS, DERIVATIVES
from .losses import loss_value

BLAS_COLUMNS = 16
# On the CPU the masks of one call go through the kernel a few at a time, so that their
# activations stay in a core's cache between the elementwise passes, and their 0/1 bytes become
# floats there (bytes cost a quarter of the memory traffic; products with bytes are slow).
CACHE_BYTES = 1 << 20


def linear(h, params: dict, i: int):
    """h W_i^T + b_i (no b_i in a network without biases, ``model.bias: false``); one fused
    product and sum (``addmm``) for rows of one sample set."""
    w, b = params[f"w{i}"], params.get(f"b{i}")
    if b is None:
        return h @ w.T
    return torch.addmm(b, h, w.T) if h.dim() == 2 else h @ w.T + b


def bias(params: dict, i: int):
    """b_i, or zeros where the network has no biases (for products that take a bias)."""
    w = params[f"w{i}"]
    return params.get(f"b{i}", torch.zeros(w.shape[0], dtype=w.dtype, device=w.device))


def layers(model: dict, params: dict, h, start: int, stop: int, masks=None):
    """h through hidden layers start..stop-1 (1-based), each followed by its mask if given."""
    act = ACTIVATIONS[model["activation"]]
    for i in range(start, stop):
        h = act(linear(h, params, i))
        if masks is not None:
            h = h * masks[i - 1]
    return h


def padded_output(w, b):
    """(w, b) of a cross-entropy output layer, (classes, width) and (classes,), padded to a
    multiple of ``BLAS_COLUMNS`` rows: zero weights, bias -inf."""
    pad = -w.shape[0] % BLAS_COLUMNS
    return (torch.nn.functional.pad(w, (0, 0, 0, pad)),
            torch.nn.functional.pad(b, (0, pad), value=-torch.inf))


def weight_layer(model: dict, block: str) -> int | None:
    """i when ``block`` is the FNN's weight matrix w_i, else None (any other model or block)."""
    layer = head_layer(block)
    whole = architectures.of(model).fnn_kernel
    return layer if whole and block[0] == "w" and layer is not None else None


def masks_per_pass(rows: int, width: int, itemsize: int) -> int:
    """Masks that ``weight_gradients`` runs at a time on the CPU: as many as keep about
    ``CACHE_BYTES`` of (rows, width) activations."""
    return max(1, CACHE_BYTES // (rows * width * itemsize))


def weight_gradients(model: dict, params: dict, x, y, loss: str, keep_prob: float, layer: int):
    """masks (0/1 floats or bytes, per layer (M, n or 1, width)) -> (M, B) gradients of w_layer
    (layer >= 2).

    Forward: the first layer (mask-independent) once, the later ones batched over the M draws with
    the 1/p of inverted dropout folded into the weights; backward from the output down to
    ``layer`` only; the block gradient is one batched product delta^T a.
    """
    act = ACTIVATIONS[model["activation"]]
    dact = DERIVATIVES[model["activation"]][0]
    relu = model["activation"] == "relu"
    last = len(model["hidden"]) + 1
    n = x.shape[0]
    backward_w = {i: (params[f"w{i}"] / keep_prob).contiguous() for i in range(2, last + 1)}
    forward_w = {i: w.T.contiguous() for i, w in backward_w.items()}
    rows = params[f"w{layer}"].shape[0]                 # the block's rows (the output unpadded)
    biases = {i: bias(params, i) for i in range(2, last + 1)}
    h1 = layers(model, params, x, 1, 2)
    if loss == "cross_entropy":             # d/d out of the mean cross-entropy, in closed form
        backward_w[last], biases[last] = padded_output(backward_w[last], biases[last])
        forward_w[last] = backward_w[last].T
        onehot = torch.nn.functional.one_hot(y, biases[last].shape[0]).to(x.dtype) / n

        def dloss(out):
            return torch.softmax(out, -1).div_(n).sub_(onehot)
    else:
        dloss = vmap(grad(lambda out: loss_value(loss, out, y)))

    step = masks_per_pass(n, max([*model["hidden"], BLAS_COLUMNS]), x.element_size())

    def gradients(masks):
        M = masks[0].shape[0]
        if x.device.type != "cpu" or M <= step:
            return part(masks)
        return torch.cat([part([m[s:s + step] for m in masks]) for s in range(0, M, step)])

    def part(masks):
        M = masks[0].shape[0]
        masks = [m.to(x.dtype) for m in masks]        # 0/1 bytes to floats, a few masks at a time
        a = h1 * masks[0]                   # a_1, with the 1/p left to the next layer's weights
        inputs, derivs = {2: a}, {}
        for i in range(2, last + 1):
            z = torch.addmm(biases[i], a.reshape(M * n, -1), forward_w[i]).reshape(M, n, -1)
            if i == last:
                break
            if relu:                        # in place: z is not needed again
                a = z.relu_().mul_(masks[i - 1])
                derivs[i] = None            # relu' x mask = [a > 0]: applied by the backward
            else:
                h = act(z)
                derivs[i] = dact(z, h).mul_(masks[i - 1])
                a = h.mul_(masks[i - 1])
            inputs[i + 1] = a
        delta = dloss(z)                    # d loss / d out, (M, n, classes)
        for i in range(last, layer, -1):
            delta = delta @ backward_w[i]
            if derivs[i - 1] is None:       # relu: keep delta where a > 0, one fused pass
                delta = torch.ops.aten.threshold_backward(delta, inputs[i], 0)
            else:
                delta = delta.mul_(derivs[i - 1])
        g = torch.bmm(delta.transpose(1, 2), inputs[layer]).div_(keep_prob)
        return g[:, :rows].reshape(M, -1)

    return gradients


def line_loss(model: dict, params: dict, x, y, loss: str, layer: int, V, chunk: int = 16):
    """(t, rows) -> dropout-free loss with w_layer = w* + t_ds V_d (V: (D, B) unit directions)
    for the directions ``rows`` (None: all), t (len(rows), S).

    The block's input a is fixed, so its pre-activation moves on a line, z0 + t (a V_d^T), and
    only the layers above it are recomputed, about ``chunk`` (direction, distance) pairs at a
    time, direction by direction (consecutive directions broadcast from the (D, n, width) line
    data, others gathered ``chunk`` at a time, never all D); a cross-entropy output layer
    above the block is padded (``padded_output``).
    """
    act = ACTIVATIONS[model["activation"]]
    last = len(model["hidden"]) + 1
    w = params[f"w{layer}"]
    a = layers(model, params, x, 1, layer)
    z0 = linear(a, params, layer)                                   # (n, width)
    dz = a @ V.reshape(-1, *w.shape).transpose(1, 2)                 # (D, n, width)
    above = {i: (params[f"w{i}"].T, bias(params, i)) for i in range(layer + 1, last + 1)}
    classes = params[f"w{last}"].shape[0]
    if loss == "cross_entropy" and last > layer:
        wp, bp = padded_output(params[f"w{last}"], bias(params, last))
        above[last] = (wp.T.contiguous(), bp)           # the pads are sliced off before softmax

    def losses(z):                                              # (..., n, width) -> (...)
        for wi, bi in above.values():
            z = torch.addmm(bi, act(z).flatten(0, -2), wi).view(*z.shape[:-1], -1)
        if loss == "cross_entropy":         # logsumexp - z_y: log_softmax is slow on 10 classes
            z = z[..., :classes]
            target = y.expand(*z.shape[:-2], -1)[..., None]
            return (torch.logsumexp(z, -1) - z.gather(-1, target)[..., 0]).mean(-1)
        flat = z.flatten(0, -3)
        return vmap(lambda out: loss_value(loss, out, y))(flat).view(z.shape[:-2])

    def line(t, rows=None):
        rows = range(V.shape[0]) if rows is None else [int(r) for r in rows]
        t = torch.as_tensor(t, dtype=w.dtype, device=w.device).expand(len(rows), -1)
        per = max(1, chunk // t.shape[1])                      # directions per evaluation
        out = torch.empty_like(t)
        for d in range(0, t.shape[0], per):
            sl, part = slice(d, d + per), rows[d:d + per]
            # consecutive directions are a view of dz; others gathered, ``per`` of them
            line_dz = (dz[part[0]:part[-1] + 1] if part[-1] - part[0] == len(part) - 1
                       else dz[list(part)])
            out[sl] = losses(torch.addcmul(z0, t[sl, :, None, None], line_dz[:, None]))
        return out

    return line


def last_hidden_hessian(model: dict, params: dict, x, y, loss: str) -> torch.Tensor:
    """Closed-form Hessian in the last hidden weight matrix W (out = V sigma(W a + b) + c).

    With z_i = W a_i + b, D_i = diag sigma'(z_i), A_i = d^2 l_i / d out^2 and g_i = V^T dl_i/d out
    (l_i the sample's share of the mean loss): d^2 L / dW_jk dW_JK = sum_i M_i[j, J] a_ik a_iK with
    M_i = D_i V^T A_i V D_i + diag(g_i sigma''(z_i)); i.e. H = P^T Q over samples, with
    P_i = vec M_i and Q_i = vec(a_i a_i^T), reordered to the row-major (j, k) index of W.
    """
    from torch.func import hessian as func_hessian

    last = len(model["hidden"]) + 1
    act = ACTIVATIONS[model["activation"]]
    h = layers(model, params, x, 1, last - 1)
    W, V = params[f"w{last - 1}"], params[f"w{last}"]
    z = linear(h, params, last - 1)
    out = linear(act(z), params, last)
    n = x.shape[0]

    if loss == "cross_entropy":                             # A_i = (diag s - s s^T) / n
        prob = torch.softmax(out, -1)
        dl = (prob - torch.nn.functional.one_hot(y, out.shape[-1]).to(prob.dtype)) / n
        A = (torch.diag_embed(prob) - prob[:, :, None] * prob[:, None, :]) / n
    else:
        def sample_loss(o, t):
            return loss_value(loss, o[None], t[None]) / n

        dl = vmap(grad(sample_loss))(out, y)                # (n, C)
        A = vmap(func_hessian(sample_loss))(out, y)         # (n, C, C)

    def d_act(u):                                           # sigma' elementwise (separable)
        return grad(lambda v: act(v).sum())(u)

    d1 = d_act(z)                                           # sigma'(z), (n, width)
    d2 = grad(lambda v: d_act(v).sum())(z)                  # sigma''(z)
    VD = V[None] * d1[:, None, :]                           # V D_i, (n, C, width)
    M = VD.transpose(1, 2) @ A @ VD + torch.diag_embed((dl @ V) * d2)
    width, fan_in = W.shape
    P = M.reshape(n, width * width)
    Q = (h[:, :, None] * h[:, None, :]).reshape(n, fan_in * fan_in)
    H = (P.T @ Q).reshape(width, width, fan_in, fan_in).permute(0, 2, 1, 3)
    H = H.reshape(width * fan_in, width * fan_in)
    return 0.5 * (H + H.T)
