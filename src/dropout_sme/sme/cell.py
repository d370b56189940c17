"""One E1 cell (the ``sme_cell`` rule): every method's paths at one (keep_prob, lr), with the
simulators of ``simulate``; the arrays the rule writes and what each method cost."""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import rng
from ..devices import resolve_device
from ..models import init_params
from .simulate import FLOWS, Problem, simulate
from .methods import Method


def scalar_targets(data: dict, target: str | None) -> dict:
    """The theory's net has a scalar output: regression targets as they are; class labels turned
    into +1 (even digit) / -1 (odd digit) with ``target: parity`` (used for MNIST)."""
    if target is None:
        return data
    if target != "parity":
        raise ValueError(f"unknown sme target {target!r}; allowed: parity")
    out = dict(data)
    for split in ("train", "test"):
        labels = np.asarray(data[f"y_{split}"])
        out[f"y_{split}"] = np.where(labels % 2 == 0, 1.0, -1.0)
    return out


def method_arrays(method: Method, out: dict) -> dict:
    """One method's arrays of a cell file (read back by ``weak.load_cell``) from the output of
    ``simulate``."""
    key = method.key
    arrays = {"times": out["times"], f"{key}__method": np.str_(method.name),
              f"{key}__l": np.int64(method.l)}
    for name in ("batch_means", "batch_sizes", "batch_diverged", "batch_fluct",
                 "uncorrected_means"):
        if name in out:
            arrays[f"{key}__{name}"] = out[name]
    return arrays


def run_cell(spec: dict, data: dict, progress: bool = True) -> tuple[dict, dict]:
    """Every method of one (keep_prob, lr) cell. ``spec`` is the rule's params (see run_spec in
    workflow/rules/common.smk): keep_prob, lr, methods, svag_l, model, init_seed, mask,
    horizon, record_every, paths, chunk, batch, substeps, extrapolate, control_variate, dtype,
    device, seed."""
    data = scalar_targets(data, spec.get("target"))
    d = np.asarray(data["x_train"]).shape[1]
    model = {"arch": "two_layer", **spec["model"]}
    theta0 = init_params(model, d, 1, rng.torch_stream("init", spec["init_seed"]), torch.float64)
    device = resolve_device(spec.get("device", "auto"))
    prob = Problem(data, theta0["a"], theta0["w"], spec["keep_prob"], spec["mask"],
                   model["activation"], getattr(torch, spec["dtype"]), device)
    arrays, info = run_methods(prob, spec, progress)
    arrays["activation"] = np.str_(model["activation"])
    return arrays, info


def run_methods(prob: Problem, spec: dict, progress: bool = True) -> tuple[dict, dict]:
    """Dropout, gradient flow and ``spec["methods"]`` (of sme1, sme2, gf2 and svag, with each l
    of ``svag_l``) on ``prob`` at ``spec["lr"]``: the arrays of a cell file (``method_arrays``,
    with keep_prob and lr) and what each method cost. ``spec``: lr, methods, svag_l, horizon,
    record_every, paths, chunk, batch, substeps, extrapolate, control_variate, seed."""
    runs = [("dropout", None), ("gf", None)]
    runs += [(m, None) for m in spec["methods"] if m in ("sme1", "sme2", "gf2")]
    if "svag" in spec["methods"]:
        runs += [("svag", l) for l in spec["svag_l"]]
    arrays, info = {}, {"seconds": {}, "path_steps_per_second": {}}
    total = sum(1 if m in FLOWS else spec["paths"] for m, _ in runs)
    bar = tqdm(total=total, disable=not progress, file=sys.stderr, unit="path",
               mininterval=1.0 if sys.stderr.isatty() else 15.0,
               desc=f"sme p={prob.p:g} lr={spec['lr']:g}")
    n_steps = round(spec["horizon"] / spec["lr"])
    for method, l in runs:
        key = Method(method, l or 0).key
        started = time.perf_counter()
        out = simulate(prob, method, spec["lr"], spec["horizon"], spec["record_every"],
                       spec["paths"], spec["chunk"], spec["seed"], spec["substeps"], l or 2,
                       spec["extrapolate"], spec["batch"], bar.update,
                       spec.get("control_variate", False))
        elapsed = time.perf_counter() - started
        arrays.update(method_arrays(Method(method, l or 0), out))
        integrator_steps = {"dropout": n_steps,
                            "svag": n_steps * (l or 1)}.get(method, n_steps * spec["substeps"])
        if method in ("sme1", "sme2", *FLOWS) and spec["extrapolate"]:
            integrator_steps *= 3                       # h and two h/2 steps
        paths = out["batch_sizes"].sum()
        info["seconds"][key] = elapsed
        info["path_steps_per_second"][key] = float(paths * integrator_steps / elapsed)
        info.setdefault("diverged_paths", {})[key] = int(out["batch_diverged"].sum())
    bar.close()
    arrays["keep_prob"], arrays["lr"] = np.float64(prob.p), np.float64(spec["lr"])
    return arrays, info
