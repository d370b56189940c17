"""Job time of the last DAG run by rule, from the jobs' logs (each ends with "job: <s> s wall
time, peak memory <MiB> MiB"), and the machine's rates now (``machine``): run it right after the
DAG, so that the times can be set beside another run's.

Usage: python benchmarks/dag_times.py [results/logs]
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

import machine

LINE = re.compile(r"job: ([0-9.]+) s wall time, peak memory ([0-9]+) MiB")


def main():
    logs = Path(sys.argv[1] if len(sys.argv) > 1 else "results/logs")
    if not logs.is_dir():
        sys.exit(f"{logs}: no such folder; run the DAG first (snakemake --cores all)")
    seconds, counts, longest = defaultdict(float), defaultdict(int), defaultdict(float)
    for log in logs.rglob("*.log"):
        found = LINE.findall(log.read_text(errors="replace"))
        if not found:
            continue
        rule, s = log.relative_to(logs).parts[0], float(found[-1][0])
        seconds[rule] += s
        counts[rule] += 1
        longest[rule] = max(longest[rule], s)
    total = sum(seconds.values())
    print(f"{'rule':<18} {'jobs':>5} {'job time s':>11} {'share':>6} {'longest s':>10}")
    for rule in sorted(seconds, key=seconds.get, reverse=True):
        print(f"{rule:<18} {counts[rule]:5d} {seconds[rule]:11.0f} "
              f"{100 * seconds[rule] / total:5.0f}% {longest[rule]:10.0f}")
    print(f"{'all':<18} {sum(counts.values()):5d} {total:11.0f}")
    print(f"machine now: {machine.describe()}")


if __name__ == "__main__":
    main()
