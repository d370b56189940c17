"""The paper config at toy scale: every experiment, architecture, option and stage of
``config/paper.yaml``, every size shrunk by one declared rule, on fixture files in the real formats.
CI runs its whole DAG (tests/test_paper_toy.py), so every job of the paper config has run through
Snakemake before a researcher starts it on a cluster; it is derived from the paper config each
time, so it cannot drift from it.

    python -m dropout_sme.toy OUT [--paper config/paper.yaml]
    snakemake --cores all --configfile OUT/toy.yaml

The rule (``SHRINK``; config/README.md gives the reasons):

- time: ``steps`` steps per run, checkpoints at the first and middle step (training adds theta*
  and the last), Adam's warm-up scaled to them; the trajectory window is the last ``window``
  steps at stride 1 (each paper window ends its run);
  ``eval_every`` and ``resume_every`` fixed; the first ``seeds`` seeds;
- data: image sets keep their image size and the first max(``n_train``, classes) training and
  ``n_test`` test images (every class present: the fixture labels cycle through the classes);
  Multi30k ``pairs`` pairs of ``length`` tokens and a ``vocab``-token vocabulary;
- widths: every hidden width, channel count (a ResNet's three stages too, GroupNorm's groups then
  their greatest common divisor with the narrowed stages), d_model, d_k and d_ff divided by
  ``width`` (rounded up; d_model to a multiple of the heads); ResNets at depth 8, the family's
  smallest (one block per stage); layers, norms, dropout sites, losses and optimizers as they are;
- ``chunk``: ``chunks`` micro-batches per step (the exact sum over parts, without the cost of the
  paper's 20 or 25);
- E1: ``paths`` paths (``chunk_paths`` at once), the first ``grid`` values of every grid (all
  activations), fig. 1's panels that remain in the grid, ``bootstrap`` resamples;
- E2-E5: at most ``masks`` masks at theta*, ``alignment_masks`` per checkpoint, ``directions``
  directions, ``null_draws`` draws, ``reference_masks`` masks a reference step; the positive
  control's batch at most half the data and its burn-in ``window`` steps; the first ``grid``
  flatness factors, the sweeps' first ``grid`` values and ``seeds`` seeds; the
  sharpness job's ``probes`` probes and ``points`` points; a block of more than
  ``full_hessian`` numbers outside the FNN's closed form would take ``hessian: lanczos`` (no
  block of the paper config's is that large at toy scale: its Hessians are formed whole, as the
  paper config forms them);
- the CPU, no GPU, one thread per job.
"""

from __future__ import annotations

import argparse
import copy
import math
from pathlib import Path

SHRINK = {"steps": 24, "window": 8, "eval_every": 4, "resume_every": 8, "seeds": 2,
          "n_train": 40, "n_test": 40, "pairs": 24, "length": 8, "vocab": 40, "width": 8,
          "paths": 64, "chunk_paths": 32, "grid": 2, "bootstrap": 20, "masks": 64,
          "alignment_masks": 16, "directions": 6, "null_draws": 2, "probes": 8, "points": 9,
          "full_hessian": 1024, "chunks": 2, "reference_masks": 2}
CLASSES = {"mnist": 10, "cifar10": 10, "cifar100": 100}
FULL_SIZE = {"mnist": 60000, "cifar10": 50000, "cifar100": 50000}


def _narrow(n: int, multiple: int = 1) -> int:
    return multiple * max(1, math.ceil(n / SHRINK["width"] / multiple))


def _model(model: dict) -> dict:
    """Every width narrowed, as the architecture shrinks itself (``Architecture.toy``)."""
    from . import architectures

    return architectures.of(model).toy(copy.deepcopy(model), _narrow, SHRINK["length"])


def _dataset(spec: dict) -> dict:
    d = dict(spec)
    if d["source"] == "multi30k":
        d.update(n_train=SHRINK["pairs"], n_test=SHRINK["pairs"] // 2, vocab=SHRINK["vocab"],
                 src_length=SHRINK["length"], tgt_length=SHRINK["length"])
    elif d["source"] in CLASSES:
        want = max(SHRINK["n_train"], CLASSES[d["source"]])
        d["n_train"] = min(want, d.get("n_train") or want)
        d["n_test"] = min(SHRINK["n_test"], d.get("n_test") or SHRINK["n_test"])
    return d


def _experiment(exp: dict, paper_n: int, toy_n: int) -> dict:
    e = copy.deepcopy(exp)
    steps, scale = SHRINK["steps"], SHRINK["steps"] / exp["steps"]
    e["model"] = _model(exp["model"])
    e["seeds"] = exp["seeds"][:SHRINK["seeds"]]
    e["steps"] = steps
    e["checkpoints"] = [0, steps // 2]       # training adds theta* (the window's start) and the end
    e["eval_every"] = SHRINK["eval_every"]
    e["resume_every"] = SHRINK["resume_every"]
    if exp.get("trajectory"):
        e["trajectory"] = {**exp["trajectory"], "start": steps + 1 - SHRINK["window"],
                           "length": SHRINK["window"], "stride": 1}
    if e["optimizer"].get("warmup"):
        e["optimizer"]["warmup"] = max(1, round(exp["optimizer"]["warmup"] * scale))
    if exp.get("batch_size"):
        e["batch_size"] = max(1, math.ceil(toy_n * exp["batch_size"] / paper_n))
    if exp.get("chunk"):                 # the exact sum over parts, without the cost of many
        e["chunk"] = math.ceil(toy_n / min(SHRINK["chunks"], math.ceil(paper_n / exp["chunk"])))
    return e


def _sme(sme: dict) -> dict:
    s = copy.deepcopy(sme)
    g = SHRINK["grid"]
    s["model"]["width"] = _narrow(sme["model"]["width"])
    s.update(paths=SHRINK["paths"], chunk=SHRINK["chunk_paths"],
             batch=SHRINK["chunk_paths"] // 2, bootstrap=SHRINK["bootstrap"],
             svag_l=sme["svag_l"][:g])
    s["order"] = {k: v[:g] for k, v in sme["order"].items() if k != "paths"}
    s["heatmap"] = {**{k: v for k, v in sme["heatmap"].items() if k != "paths"},
                    "keep_probs": sme["heatmap"]["keep_probs"][:g],
                    "scaled_lrs": sme["heatmap"]["scaled_lrs"][:g]}
    if sme.get("activations"):
        a = {k: v for k, v in sme["activations"].items() if k != "paths"}
        s["activations"] = {**a, "keep_probs": a["keep_probs"][:1], "lrs": a["lrs"][:g]}
    kept = [f for f in sme["figure1"] if f["keep_prob"] in s["order"]["keep_probs"]
            and f["lr"] in s["order"]["lrs"]]
    s["figure1"] = kept or [{"keep_prob": s["order"]["keep_probs"][0],
                             "lr": s["order"]["lrs"][0]}]
    return s


def _noise_keys(own: dict) -> dict:
    out = dict(own)
    for key in ("masks", "alignment_masks", "directions", "null_draws", "reference_masks"):
        if key in out:
            out[key] = min(out[key], SHRINK[key])
    return out


def toy_config(paper: dict, data_dir) -> dict:
    """The toy-scale config of a schema-valid paper config (defaults filled), reading its data
    from ``data_dir`` (fixture files: ``write_fixtures``)."""
    from . import architectures, plan

    config = copy.deepcopy(paper)
    config.update(device="cpu", gpus=0, threads=1, data_dir=str(data_dir))
    config["datasets"] = {k: _dataset(v) for k, v in paper["datasets"].items()}
    for name, exp in paper["experiments"].items():
        spec = paper["datasets"][exp["dataset"]]
        paper_n = spec.get("n_train") or FULL_SIZE.get(spec["source"], 1)
        toy_n = config["datasets"][exp["dataset"]].get("n_train") or paper_n
        config["experiments"][name] = _experiment(exp, paper_n, toy_n)
    config["sme"] = _sme(paper["sme"])
    noise = _noise_keys(paper["noise"])
    noise["flatness_factors"] = noise["flatness_factors"][:SHRINK["grid"]]
    noise["keep_sweep"] = {**noise["keep_sweep"],
                           "keep_probs": noise["keep_sweep"]["keep_probs"][:SHRINK["grid"]],
                           "masks": min(noise["keep_sweep"]["masks"], SHRINK["masks"]),
                           "seeds": min(noise["keep_sweep"]["seeds"], SHRINK["seeds"])}
    noise["positive_control"] = {**noise["positive_control"],
                                 "batch": min(noise["positive_control"]["batch"],
                                              SHRINK["n_train"] // 2),
                                 "burn_in": min(noise["positive_control"]["burn_in"],
                                                SHRINK["window"])}
    noise["mask_sensitivity"] = {"seeds": min(noise["mask_sensitivity"]["seeds"], SHRINK["seeds"])}
    noise["sharpness"] = {**noise["sharpness"],
                          "probes": min(noise["sharpness"]["probes"], SHRINK["probes"]),
                          "points": min(noise["sharpness"]["points"], SHRINK["points"])}
    config["noise"] = noise
    universality = {}
    for name, own in paper.get("universality", {}).get("experiments", {}).items():
        own = _noise_keys(own)
        exp = config["experiments"][name]
        data = plan.data_of(config["datasets"][exp["dataset"]])
        block = own.get("block", noise["block"])
        closed_form = architectures.of(exp["model"]).fnn_kernel
        if not closed_form and plan.block_size(exp["model"], data, block) > SHRINK["full_hessian"]:
            own["hessian"] = "lanczos"
        universality[name] = own
    config["universality"] = {"experiments": universality}
    return config


def write_fixtures(config: dict, folder) -> None:
    """Fixture files in the real formats for every local dataset of a (toy) config, each large
    enough for the datasets that read it."""
    from .data.fixtures import make_cifar, make_mnist, make_multi30k, multi30k_lines

    folder = Path(folder)
    need: dict = {}
    for spec in config["datasets"].values():
        n = need.setdefault(spec["source"], [0, 0])
        n[0] = max(n[0], spec.get("n_train") or 0)
        n[1] = max(n[1], spec.get("n_test") or 0)
    if "mnist" in need:
        make_mnist(folder, *need["mnist"], gz=True)
    for source in ("cifar10", "cifar100"):
        if source in need:
            batches = 5 if source == "cifar10" else 1
            per_batch = max(math.ceil(need[source][0] / batches), need[source][1])
            make_cifar(folder, source, per_batch=per_batch)
    if "multi30k" in need:
        make_multi30k(folder / "multi30k", lines=multi30k_lines(*need["multi30k"]))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dropout_sme.toy",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="folder for toy.yaml and the fixture files (data/)")
    parser.add_argument("--paper", default="config/paper.yaml")
    args = parser.parse_args(argv)
    import yaml

    from .config import load

    out = Path(args.out).resolve()
    config = toy_config(load(args.paper), out / "data")
    write_fixtures(config, out / "data")
    (out / "toy.yaml").write_text(
        f"# derived by python -m dropout_sme.toy from {args.paper}: do not edit\n"
        + yaml.safe_dump(config, sort_keys=False))
    print(f"wrote {out / 'toy.yaml'} and fixture files in {out / 'data'}")


if __name__ == "__main__":
    main()
