"""One paper-scale setting end to end on the GPU (or whatever device torch picks), timed per stage.

Runs config/paper.yaml reduced to one training setting (keep_prob 0.8, lr 0.1, all its seeds and
steps, plus its no-dropout baseline) and one E1 cell at paper scale, then prints the device and
the seconds of each job (from Snakemake's benchmark files). Without --data-dir it writes random
IDX files of MNIST's real size (60,000 + 10,000 images): the timings are those of real data.

    python benchmarks/gpu_check.py [--data-dir DIR] [--steps N] [--paths M] [--cell p0.5_lr0.1]
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", help="folder with the MNIST IDX files (default: random ones)")
    ap.add_argument("--steps", type=int, help="override the paper config's GD steps")
    ap.add_argument("--paths", type=int, help="override the paper config's SME paths")
    ap.add_argument("--cell", default="p0.5_lr0.1", help="the E1 cell to run")
    ap.add_argument("--workdir", help="where to run (default: a temporary folder)")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="gpu-check-"))
    work.mkdir(parents=True, exist_ok=True)
    if torch.cuda.is_available():
        print(f"device: {torch.cuda.get_device_name(0)} ({torch.cuda.device_count()} visible)")
    else:
        print("device: no GPU visible, running on the CPU")
    data_dir = args.data_dir
    if data_dir is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from fixtures import make_mnist

        data_dir = work / "mnist"
        make_mnist(data_dir, n_train=60000, n_test=10000)
    config = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    config["data_dir"] = str(data_dir)
    (exp_name, exp), = config["experiments"].items()
    exp["settings"] = [{"keep_prob": 0.8, "lr": 0.1}]
    if args.steps:
        exp["steps"] = args.steps
        exp["checkpoints"] = [c for c in exp["checkpoints"] if c <= args.steps]
        exp["trajectory"] = None
    if args.paths:
        config["sme"]["paths"] = args.paths
        config["sme"]["chunk"] = min(config["sme"]["chunk"], args.paths)
        config["sme"]["batch"] = min(config["sme"]["batch"], config["sme"]["chunk"])
    cfg_path = work / "gpu_check.yaml"
    cfg_path.write_text(yaml.safe_dump(config))
    targets = [f"results/runs/{exp_name}/p0.8_lr0.1/metrics.csv",
               f"results/runs/{exp_name}/p1_lr0.1/metrics.csv", f"results/sme/{args.cell}.npz"]
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", *targets, "-s", str(ROOT / "Snakefile"),
                    "-d", str(work), "--configfile", str(cfg_path), "--cores", "all",
                    "--resources", f"gpu={max(torch.cuda.device_count(), 1)}"], check=True)
    total = time.perf_counter() - started
    print(f"\n{'job':<45} {'seconds':>9} {'max RSS MB':>11}")
    for tsv in sorted((work / "results/benchmarks").rglob("*.tsv")):
        header, values = tsv.read_text().splitlines()[:2]
        row = dict(zip(header.split("\t"), values.split("\t")))
        name = str(tsv.relative_to(work / "results/benchmarks"))[:-4]
        print(f"{name:<45} {float(row['s']):9.1f} {float(row['max_rss']):11.0f}")
    print(f"{'total (snakemake, wall)':<45} {total:9.1f}")


if __name__ == "__main__":
    main()
