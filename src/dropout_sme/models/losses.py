"""Training losses and accuracy of the models' outputs."""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE = -1                         # a transformer label scored by nothing
LOSSES = ("mse", "cross_entropy", "cross_entropy_smoothed")
# eps_ls of Vaswani et al. 2017 (section 5.4), The Annotated Transformer's: the precursor's
# transformer trains on a label-smoothed cross-entropy whose eps it does not state
LABEL_SMOOTHING = 0.1
# torch's CPU (log-)softmax runs a scalar loop over a last dimension shorter than this and
# vectorises across rows over any other dimension (``log_softmax``)
SHORT_CLASSES = 16


def is_classification(kind: str) -> bool:
    return kind != "mse"


def _check(kind: str) -> None:
    if kind not in LOSSES:
        raise ValueError(f"unknown loss {kind!r}; allowed: {', '.join(LOSSES)}")


def _smoothing(kind: str) -> float:
    return LABEL_SMOOTHING if kind == "cross_entropy_smoothed" else 0.0


def _aligned(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The 2-d labels of ``out``'s positions: a model whose outputs cover only the last
    positions (an encoder-decoder's target) is scored against the last labels; the ones before
    must all be IGNORE (the sequence datasets' source part)."""
    return y[..., y.shape[-1] - out.shape[-2]:]


def log_softmax(out: torch.Tensor) -> torch.Tensor:
    """log_softmax over the last dimension (classes or tokens). On the CPU, fewer than
    ``SHORT_CLASSES`` classes go through a transposed copy (classes before rows), where torch
    vectorises across rows: the same values up to float rounding, several times faster for the
    digits' 10 classes (benchmarks/run.py times both)."""
    if out.dim() >= 2 and out.shape[-1] < SHORT_CLASSES and out.device.type == "cpu":
        return out.mT.contiguous().log_softmax(-2).mT
    return out.log_softmax(-1)


def _cross_entropy(kind: str, out: torch.Tensor, y: torch.Tensor, reduction: str):
    """Cross-entropy of 1-d labels, as ``F.cross_entropy`` (label smoothing included) on
    ``log_softmax``'s log-probabilities."""
    logp = log_softmax(out)
    eps = _smoothing(kind)
    if not eps:
        return F.nll_loss(logp, y, reduction=reduction)
    per = _smoothed(F.nll_loss(logp, y, reduction="none"), logp, eps)
    return per.mean() if reduction == "mean" else per.sum()


def _smoothed(nll: torch.Tensor, logp: torch.Tensor, eps: float) -> torch.Tensor:
    """Label smoothing: (1 - eps) on the label, eps spread evenly over every class or token
    (torch's convention)."""
    return (1 - eps) * nll - eps * logp.mean(-1)


def _token_terms(kind: str, out: torch.Tensor, y: torch.Tensor):
    """(per-position loss, scored positions) of 2-d labels (aligned by ``_aligned``)."""
    y = _aligned(out, y)
    logp = log_softmax(out)
    nll = -logp.gather(-1, y.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    eps = _smoothing(kind)
    if eps:
        nll = _smoothed(nll, logp, eps)
    return nll, (y != IGNORE).to(out.dtype)


def loss_value(kind: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``mse``: R_S = 1/(2n) sum_i (f(x_i) - y_i)^2 (the paper's convention); ``cross_entropy``
    (per sequence position for 2-d labels, averaged over the positions not marked ``IGNORE``);
    ``cross_entropy_smoothed``: the same with labels smoothed by ``LABEL_SMOOTHING``."""
    _check(kind)
    if kind == "mse":
        return 0.5 * torch.mean((out - y) ** 2)
    if y.dim() == 1:
        return _cross_entropy(kind, out, y, "mean")
    nll, scored = _token_terms(kind, out, y)
    return (nll * scored).sum() / scored.sum()


def loss_sum(kind: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The numerator of ``loss_value`` (``loss_value`` = ``loss_sum`` / ``loss_count``): summed
    over chunks of a batch and divided by the whole batch's count, it is the full-batch loss."""
    _check(kind)
    if kind == "mse":
        return 0.5 * ((out - y) ** 2).sum()
    if y.dim() == 1:
        return _cross_entropy(kind, out, y, "sum")
    nll, scored = _token_terms(kind, out, y)
    return (nll * scored).sum()


def loss_count(kind: str, y: torch.Tensor) -> float:
    """The denominator of ``loss_value``: the labels it averages over."""
    if is_classification(kind) and y.dim() > 1:
        return float((y != IGNORE).sum())
    return float(y.numel())


def chunked_mean(grad_and_sum, params, x, y, kind: str, chunk: int, masks_of=None):
    """(gradient dict, loss) of the mean loss over (x, y) from micro-batches of ``chunk`` rows:
    ``grad_and_sum(params, x_c, y_c, masks)`` gives a micro-batch's loss-sum gradient and sum;
    they are added and divided by the batch's ``loss_count``, which is the one-batch result.
    ``masks_of(rows)``: a micro-batch's dropout masks (None: none)."""
    grads, total = None, 0.0
    for start in range(0, x.shape[0], chunk):
        rows = slice(start, start + chunk)
        g, value = grad_and_sum(params, x[rows], y[rows], masks_of(rows) if masks_of else None)
        grads = g if grads is None else {k: grads[k] + g[k] for k in grads}
        total = total + value
    count = loss_count(kind, y)
    return {k: v / count for k, v in grads.items()}, total / count


def accuracy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Share of correct classes (of correct tokens over the scored positions for 2-d labels,
    aligned from the right as in the losses)."""
    if y.dim() == 1:
        return (out.argmax(-1) == y).to(out.dtype).mean()
    y = _aligned(out, y)
    hit = (out.argmax(-1) == y).to(out.dtype)
    scored = (y != IGNORE).to(out.dtype)
    return (hit * scored).sum() / scored.sum()
