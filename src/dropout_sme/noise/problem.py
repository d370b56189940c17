"""One analysed problem: a model's parameters, the training data, the loss and the parameter block
whose noise and landscape the stage measures, with the head applied once.

With ``chunk`` (the experiment's key, as in training) every quantity of the full-batch loss is
computed over row chunks of the data and summed: the loss, its gradient, Hessian-vector products
and the Hessian, mask gradients and line losses are means over the batch, so the whole batch's
value is the sum over the parts weighted by each part's share of the loss's count
(``models.loss_count``: examples, or scored tokens for sequences). ``parts`` yields them.

For a cnn or resnet and a block of its FNN head, ``Problem.of`` runs the mask-free trunk once and
keeps the head (``models.head``): every later gradient, Hessian and line loss then runs on the
head alone, with the FNN kernel. ``at_checkpoint`` is the one place where the noise stage, the
comparisons and the keep sweep set up a checkpoint of a training run (theta* among them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import torch
from torch.func import grad

from .. import architectures, memory, models
from ..devices import total_memory_mb


@dataclass(frozen=True)
class Problem:
    model: dict
    params: dict
    x: torch.Tensor
    y: torch.Tensor
    loss: str
    block: str
    chunk: int | None = None

    @classmethod
    def of(cls, model: dict, params: dict, x, y, loss: str, block: str,
           chunk: int | None = None, head: bool = True) -> Problem:
        """The problem (``head``: on the FNN head alone where the block is in it)."""
        models.block_vector(params, block)          # a clear error for an unknown block
        if head:
            model, params, x = models.head(model, params, x, block)
        refusal = architectures.of(model).chunk_refusal(model) if chunk else None
        if refusal:
            what, why, fix = refusal
            raise ValueError(f"chunk: block {block!r} is inside a {what}: {why}; leave chunk "
                             f"unset, or set {fix}")
        return cls(model, params, x, y, loss, block, chunk)

    @property
    def chunked(self) -> bool:
        return bool(self.chunk) and self.chunk < self.x.shape[0]

    def parts(self):
        """(part, weight) over row chunks of the data (one part, weight 1, without ``chunk``):
        a mean over the batch is the weighted sum of the parts' means."""
        if not self.chunked:
            yield self, 1.0
            return
        total = models.loss_count(self.loss, self.y)
        for start in range(0, self.x.shape[0], self.chunk):
            rows = slice(start, start + self.chunk)
            part = replace(self, x=self.x[rows], y=self.y[rows], chunk=None)
            yield part, models.loss_count(self.loss, part.y) / total

    def summed(self, fn):
        """sum over ``parts`` of weight * fn(part): fn of the whole batch, a part at a time."""
        total = None
        for part, weight in self.parts():
            value = fn(part) * weight
            total = value if total is None else total + value
        return total

    @property
    def theta(self) -> torch.Tensor:
        """The block's parameters, flat."""
        return models.block_vector(self.params, self.block)

    def loss_fn(self):
        """theta_block (flat) -> dropout-free training loss, the other parameters fixed."""
        def f(theta):
            full = models.with_block(self.params, self.block, theta)
            return models.loss_value(self.loss, models.forward(self.model, full, self.x), self.y)

        if not self.chunked:
            return f
        return lambda theta: self.summed(lambda part: part.loss_fn()(theta))

    def grad_fn(self):
        """theta_block -> gradient of the dropout-free loss; chunked, each part's graph is freed
        before the next part's is built."""
        if not self.chunked:
            return grad(self.loss_fn())
        return lambda theta: self.summed(lambda part: grad(part.loss_fn())(theta))

    def vmap_chunk(self, kind: str) -> int:
        """How many Hessian-vector columns (``kind`` "hessian") or line-loss points ("line") to
        vmap at once over this problem's rows: as many as the cost plan's model of what each
        holds fits in the device's memory (``memory.vmap_chunk``)."""
        x = self.x
        with torch.no_grad():
            outputs = models.forward(self.model, self.params, x[:1]).shape[-1]
        image = tuple(self.model.get("image") or ()) or None
        data = memory.Data(x.shape[0], 0, x.shape[-1], outputs, image)
        budget = total_memory_mb(x.device) * 2 ** 20
        itemsize = self.theta.element_size()
        if kind == "hessian":
            column = memory.hvp_column_bytes(self.model, data, x.shape[0], itemsize=itemsize)
            return memory.hessian_columns(self.theta.numel(), column, budget)
        point = memory.line_point_bytes(self.model, data, x.shape[0], itemsize=itemsize)
        return memory.line_points(point, budget)

    @cached_property
    def loss0(self) -> float:
        """The dropout-free training loss at the parameters (computed once per problem)."""
        return float(self.loss_fn()(self.theta))


def at_checkpoint(spec: dict, x, y, checkpoints: dict, step: int, seed: int,
                  head: bool = True) -> Problem:
    """The problem of ``spec`` (model, loss, block, chunk) at checkpoint ``step`` of run
    ``seed`` (``checkpoints``: {"steps", "seeds", "params"} as written by training), on x's
    device; ``head=False`` keeps the whole network (runs that move every parameter)."""
    i = [int(s) for s in checkpoints["steps"]].index(step)
    s = [int(s) for s in checkpoints["seeds"]].index(seed)
    params = {k: v[i, s].to(x.device) for k, v in checkpoints["params"].items()}
    return Problem.of(spec["model"], params, x, y, spec["loss"], spec["block"],
                      spec.get("chunk"), head)


def load_inputs(data_path, checkpoints_path, dtype: str, device):
    """The training data (x, y on ``device``, x in ``dtype``) and the checkpoints (parameters in
    ``dtype``) that the noise rules read."""
    from .. import data, io

    arrays = data.load(data_path)
    x = torch.as_tensor(arrays["x_train"], dtype=getattr(torch, dtype), device=device)
    y = torch.as_tensor(arrays["y_train"], device=device)
    ckpt = io.load_torch(checkpoints_path)
    ckpt["params"] = {k: v.to(x.dtype) for k, v in ckpt["params"].items()}
    return x, y, ckpt
