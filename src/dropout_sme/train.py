"""Multi-seed dropout training: full-batch (or mini-batch) GD, all seeds of a setting in one process
(or Adam with warm-up, ``optim``, for the precursor's transformer).

Parameters of all seeds are stacked (leading seed dimension). The gradient step runs either as one
``torch.func.vmap`` over the seeds or as a loop of plain autograd calls (``seed_batching``: ``vmap``,
``loop`` or ``auto`` = loop on the CPU, where it measured faster at the default sizes, and vmap on a
GPU; see benchmarks/train_speed.py). Each seed keeps its own random streams (init, masks, data
order), so a seed's run does not depend on which other seeds share its job. A run saves a resume
state every ``resume_every`` steps; a killed run restarted with the same spec continues from it and
ends bitwise identical (on the CPU) to an uninterrupted run.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.func import grad_and_value, vmap
from tqdm.auto import tqdm

from . import architectures, models, optim, rng
from .devices import resolve_device
from .io import config_hash, load_torch, save_torch

log = logging.getLogger(__name__)

METRIC_COLUMNS = ["step", "seed", "train_loss_dropout", "train_loss", "train_acc", "test_loss",
                  "test_acc"]


class DivergenceError(RuntimeError):
    """A seed's loss became NaN or infinite."""


def stack(dicts: list[dict]) -> dict:
    return {k: torch.stack([d[k] for d in dicts]) for k in dicts[0]}


def init_seeds(run: dict, n_in: int, n_out: int) -> dict:
    """Stacked initial parameters, one slice per seed, each from that seed's own init stream."""
    dtype = getattr(torch, run["dtype"])
    return stack([models.init_params(run["model"], n_in, n_out, rng.torch_stream("init", s), dtype)
                  for s in run["seeds"]])


class Trainer:
    """Holds the data on the device and the vmapped step/eval functions of one run."""

    def __init__(self, run: dict, data: dict):
        self.run = run
        self.device = resolve_device(run.get("device", "auto"))
        self.dtype = getattr(torch, run["dtype"])
        self.classification = models.is_classification(run["loss"])
        label_dtype = torch.long if self.classification else self.dtype
        as_t = lambda a, dt: torch.as_tensor(np.asarray(a), dtype=dt, device=self.device)  # noqa: E731
        self.x = {s: as_t(data[f"x_{s}"], self.dtype) for s in ("train", "test")}
        self.y = {s: as_t(data[f"y_{s}"], label_dtype) for s in ("train", "test")}
        self.n_in = self.x["train"].shape[1]
        # the dataset names its classes (tokens: the vocabulary), whichever the labels hold
        if self.classification and "n_classes" not in data:
            raise ValueError("classification data must name n_classes (data.prepare writes it): "
                             "the output width cannot be read off the labels of a subset")
        self.n_out = int(data["n_classes"]) if self.classification else 1
        self.n = self.x["train"].shape[0]
        arch = architectures.of(run["model"])
        src = arch.scored_from(run["model"])                # outputs that skip the source part
        if src and any((self.y[s][:, :src] != models.IGNORE).any() for s in self.y):
            raise ValueError(f"{arch.name} scores the positions after src_length = {src}; "
                             f"the data's labels there must all be {models.IGNORE} (unscored)")
        self.batch_size = run.get("batch_size") or self.n
        if self.batch_size > self.n:
            raise ValueError(f"batch_size {self.batch_size} exceeds the {self.n} training examples")
        model, loss_kind = run["model"], run["loss"]

        def dropout_loss(params, x, y, masks):
            return models.loss_value(loss_kind, models.forward(model, params, x, masks), y)

        def dropout_loss_sum(params, x, y, masks):
            return models.loss_sum(loss_kind, models.forward(model, params, x, masks), y)

        # chunk: the full batch's exact gradient as the sum of micro-batch gradients (memory)
        self.chunk = run.get("chunk")
        if self.chunk and self.batch_size < self.n:
            raise ValueError("chunk splits the full batch of full-batch GD; with batch_size set "
                             "each step's batch is already small: leave chunk unset")
        refusal = arch.chunk_refusal(model) if self.chunk else None
        if refusal:
            what, why, fix = refusal
            raise ValueError(f"chunk: a {what}: {why}; leave chunk unset, or set {fix}")
        self.use_masks = run["keep_prob"] < 1.0
        self.dropout_loss, self.dropout_loss_sum = dropout_loss, dropout_loss_sum
        mode = run.get("seed_batching", "auto")
        if mode == "auto":
            mode = "loop" if self.device.type == "cpu" else "vmap"
        self.seed_batching = mode
        if mode == "vmap":
            data_dim = None if self.batch_size == self.n else 0
            mask_dim = 0 if self.use_masks else None
            self._vmapped = vmap(grad_and_value(dropout_loss),
                                 in_dims=(0, data_dim, data_dim, mask_dim))
            self._vmapped_sum = vmap(grad_and_value(dropout_loss_sum),
                                     in_dims=(0, data_dim, data_dim, mask_dim))

        def evaluate(params):
            out = {}
            for split in ("train", "test"):
                pred = models.forward(model, params, self.x[split])
                out[f"{split}_loss"] = models.loss_value(loss_kind, pred, self.y[split])
                out[f"{split}_acc"] = (models.accuracy(pred, self.y[split]) if self.classification
                                       else torch.full((), float("nan"), dtype=pred.dtype))
            return out

        if mode == "vmap":
            self.eval_fn = vmap(evaluate)
        else:       # a loop like the step: no torch.func call, which imports torch._dynamo (seconds)
            def eval_fn(params):
                with torch.no_grad():
                    rows = [evaluate({k: v[i] for k, v in params.items()})
                            for i in range(len(run["seeds"]))]
                return {k: torch.stack([r[k] for r in rows]) for k in rows[0]}

            self.eval_fn = eval_fn

    def batch(self, step: int):
        """Inputs and labels of one step: the full batch, or each seed's mini-batch."""
        if self.batch_size == self.n:
            return self.x["train"], self.y["train"]
        per_epoch = self.n // self.batch_size  # the incomplete last batch is dropped
        epoch, pos = divmod(step, per_epoch)
        idx = []
        for s in self.run["seeds"]:
            ss = rng.seed_sequence("data_order", s)
            epoch_ss = np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, epoch))
            perm = np.random.default_rng(epoch_ss).permutation(self.n)
            idx.append(perm[pos * self.batch_size:(pos + 1) * self.batch_size])
        idx = torch.as_tensor(np.stack(idx), device=self.device)
        return self.x["train"][idx], self.y["train"][idx]

    def step(self, params: dict, t: int, generators) -> tuple[dict, torch.Tensor]:
        """Dropout gradients and dropout losses of every seed at step t: (grads, values (S,))."""
        xb, yb = self.batch(t)
        n = xb.shape[-2]
        masks = [models.sample_masks(self.run["model"], self.run["keep_prob"], self.run["mask"],
                                     n, g, self.dtype, self.device, n_in=self.n_in)
                 if self.use_masks else None
                 for g in generators]
        chunked = self.chunk and n > self.chunk
        if self.seed_batching == "vmap":
            stacked = tuple(torch.stack(layer) for layer in zip(*masks)) if self.use_masks else None
            if not chunked:
                return self._vmapped(params, xb, yb, stacked)
            return self._in_chunks(self._vmapped_sum, params, xb, yb, stacked, 1)
        grads, values = [], []
        full = xb.dim() == self.x["train"].dim()
        for i, m in enumerate(masks):
            p = {k: v[i].detach().requires_grad_() for k, v in params.items()}
            xi, yi = (xb, yb) if full else (xb[i], yb[i])
            if chunked:                                     # (full batch: see __init__)
                g, value = self._in_chunks(self._loop_sum, p, xi, yi, m, 0)
            else:
                value = self.dropout_loss(p, xi, yi, m)
                g = dict(zip(p, torch.autograd.grad(value, list(p.values()))))
            grads.append(g)
            values.append(value.detach())
        return stack(grads), torch.stack(values)

    def _loop_sum(self, p, x, y, m):
        value = self.dropout_loss_sum(p, x, y, m)
        return dict(zip(p, torch.autograd.grad(value, list(p.values())))), value.detach()

    def _in_chunks(self, grad_and_sum, params, x, y, masks, mask_dim):
        """(gradient, loss) of the full batch from micro-batches (``models.chunked_mean``): a
        per-sample mask is cut with its samples (its sample dimension is ``mask_dim``), a
        per-step one is shared."""
        def masks_of(rows):
            if masks is None or self.run["mask"] != "per_sample":
                return masks
            return tuple(m[:, rows] if mask_dim else m[rows] for m in masks)

        return models.chunked_mean(grad_and_sum, params, x, y, self.run["loss"], self.chunk,
                                   masks_of)

def streams(run: dict) -> list[dict]:
    """The named streams a training job draws: each seed's init, masks and mini-batch order."""
    purposes = ["init"] + (["masks"] if run["keep_prob"] < 1 else [])
    purposes += ["data_order"] if run.get("batch_size") else []
    return [{"purpose": p, "seed": s} for s in run["seeds"] for p in purposes]


def schedule(run: dict) -> dict:
    """The steps at which a run evaluates, checkpoints and records its trajectory (the
    trajectory's start is always a checkpoint: the noise stage's theta*)."""
    steps = run["steps"]
    evals = set(range(0, steps + 1, run["eval_every"])) | {steps}
    ckpts = set(run.get("checkpoints") or []) | {steps}
    traj = run.get("trajectory")
    record = set()
    if traj:
        ckpts.add(traj["start"])
        record = set(range(traj["start"], min(traj["start"] + traj["length"], steps + 1),
                           traj["stride"]))
    return {"eval": evals, "checkpoint": ckpts, "record": record}


def train(run: dict, data: dict, resume_path=None, progress: bool = True) -> dict:
    """Train every seed of one (experiment, setting); returns metrics, checkpoints and trajectory.

    ``run`` keys: experiment, setting, model, loss, keep_prob, lr, mask, steps, batch_size,
    eval_every, checkpoints, trajectory, seeds, dtype, device, resume_every.
    """
    tr = Trainer(run, data)
    seeds = list(run["seeds"])
    sched = schedule(run)
    block = (run.get("trajectory") or {}).get("block")
    # the resume state fits any run of the same spec on the same kind of device (its generator
    # states are CPU- or CUDA-specific), whichever GPU index the job was given
    spec_hash = config_hash({**{k: v for k, v in run.items() if k != "resume_every"},
                             "device": tr.device.type})
    mask_gens = [rng.torch_stream("masks", s, tr.device) for s in seeds]
    opt = optim.make(run.get("optimizer"), run["lr"])

    state = _load_resume(resume_path, spec_hash)
    if state is None:
        t0, rows, ckpts, traj = 0, [], {}, []
        params = {k: v.to(tr.device) for k, v in init_seeds(run, tr.n_in, tr.n_out).items()}
    else:
        t0, rows, ckpts, traj = state["step"], state["rows"], state["checkpoints"], state["trajectory"]
        params = {k: v.to(tr.device) for k, v in state["params"].items()}
        for g, s in zip(mask_gens, state["mask_gen_states"]):
            g.set_state(s)
        opt.load(state.get("optimizer", {}), tr.device)
        log.info("resuming %s/%s at step %d", run["experiment"], run["setting"], t0)

    steps, every = run["steps"], run["resume_every"]
    bar = tqdm(total=steps + 1, initial=t0, disable=not progress, file=sys.stderr,
               mininterval=1.0 if sys.stderr.isatty() else 15.0,
               desc=f"{run['experiment']}/{run['setting']}")
    started = time.perf_counter()
    for t in range(t0, steps + 1):
        if resume_path is not None and t > t0 and t % every == 0:
            _save_resume(resume_path, spec_hash, t, params, mask_gens, rows, ckpts, traj, opt)
        grads, values = tr.step(params, t, mask_gens)
        bad = ~torch.isfinite(values)
        if bad.any():
            seed = seeds[int(bad.nonzero()[0, 0])]
            raise DivergenceError(
                f"{run['experiment']}/{run['setting']} (keep_prob={run['keep_prob']}, "
                f"lr={run['lr']}): seed {seed} diverged at step {t} (dropout loss is "
                f"{values[bad][0].item()}); lower lr. No output was written.")
        if t in sched["record"]:
            value = params[block] if block != models.ALL else models.block_vector(params, block, 1)
            traj.append(value.detach().to("cpu", torch.float32).clone())
        if t in sched["checkpoint"]:
            ckpts[t] = {k: v.detach().cpu().clone() for k, v in params.items()}
        if t in sched["eval"]:
            ev = {k: v.cpu() for k, v in tr.eval_fn(params).items()}
            vals = values.cpu()
            for i, s in enumerate(seeds):
                rows.append([t, s, vals[i].item(), *(ev[c][i].item() for c in METRIC_COLUMNS[3:])])
        if t < steps:
            params = opt.update(params, grads, t + 1)
        bar.update(1)
    bar.close()
    elapsed = time.perf_counter() - started

    metrics = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    ck_steps = sorted(ckpts)
    checkpoints = {"steps": torch.tensor(ck_steps), "seeds": torch.tensor(seeds),
                   "params": {k: torch.stack([ckpts[t][k] for t in ck_steps]) for k in params}}
    rec_steps = sorted(sched["record"])
    trajectory = {"steps": np.asarray(rec_steps, dtype=np.int64), "seeds": np.asarray(seeds),
                  "block": block or "",
                  "params": (torch.stack(traj).numpy() if traj else np.zeros((0, len(seeds))))}
    info = {"device": str(tr.device), "seed_batching": tr.seed_batching,
            "steps_run": steps + 1 - t0, "resumed_from": t0, "seconds": elapsed,
            "seed_steps_per_second": len(seeds) * (steps + 1 - t0) / elapsed}
    return {"metrics": metrics, "checkpoints": checkpoints, "trajectory": trajectory, "info": info}


def _save_resume(path, spec_hash, step, params, gens, rows, ckpts, traj, opt):
    save_torch(path, {
        "spec_hash": spec_hash, "step": step,
        "params": {k: v.detach().cpu() for k, v in params.items()}, "optimizer": opt.state(),
        "mask_gen_states": [g.get_state() for g in gens],
        "rows": rows, "checkpoints": ckpts, "trajectory": traj,
    })


def _load_resume(path, spec_hash):
    if path is None or not Path(path).exists():
        return None
    state = load_torch(path)
    if state.get("spec_hash") != spec_hash:
        log.warning("ignoring resume state %s: it belongs to another configuration", path)
        return None
    return state
