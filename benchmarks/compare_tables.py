"""Compare the tables (every *.csv) of two runs' figures/ folders within a stated tolerance: the
check that a speed change left the results alone up to float rounding (issue 27).

Numbers are compared with numpy's isclose (rtol, atol; NaN equals NaN), in numeric columns and
inside text cells alike ("0.45 [0.41, 0.49]" is three numbers and the text around them, which
must match exactly). A changed verdict word or a NaN on one side only always counts.

The default rtol, 1e-2, is float32 rounding carried through the Monte Carlo estimates: a path's
arithmetic in another order moves it by ~1e-7, but a weak error at a small lr is a difference of
two means that agree to ~1e-4, and an order fitted on a log scale to three or four such errors
moved by up to 0.4% when only the SME step's arithmetic changed (docs/performance.md). ``--skip
TABLE:COLUMN`` leaves out a column whose value is a poorly determined nuisance near zero (table 2's
``correction``, the c of C lr^q (1 + c lr), moved from 0.0035 to -0.023 there): say so when
quoting the comparison.

Usage: python benchmarks/compare_tables.py BEFORE AFTER [--rtol 1e-2] [--atol 1e-9]
                                                         [--skip TABLE:COLUMN ...]
Prints each table's largest relative difference and where it is; exits 1 if any table differs.
"""

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf", re.IGNORECASE)


def split(cell) -> tuple[str, list[float]]:
    """A text cell as (its text with every number replaced by #, the numbers)."""
    text = str(cell)
    return NUMBER.sub("#", text), [float(v) for v in NUMBER.findall(text)]


def compare(a: pd.DataFrame, b: pd.DataFrame, rtol: float, atol: float,
            skip=()) -> tuple[float, str, list]:
    """(largest relative difference, where, problems) of two versions of one table, leaving out
    the columns ``skip``."""
    problems = []
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return np.inf, "shape", [f"columns or rows differ: {a.shape} against {b.shape}"]
    worst, where = 0.0, ""
    for col in [c for c in a.columns if c not in skip]:
        if pd.api.types.is_numeric_dtype(a[col]) and pd.api.types.is_numeric_dtype(b[col]):
            pairs = [(a[col].to_numpy(float), b[col].to_numpy(float), range(len(a)))]
        else:
            pairs = []
            for i, (x, y) in enumerate(zip(a[col], b[col])):
                (tx, vx), (ty, vy) = split(x), split(y)
                if tx != ty or len(vx) != len(vy):
                    problems.append(f"{col} row {i}: {x!r} against {y!r}")
                    continue
                pairs.append((np.asarray(vx), np.asarray(vy), [i] * len(vx)))
        for x, y, rows in pairs:
            close = np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=True)
            for i in np.flatnonzero(~close):
                problems.append(f"{col} row {list(rows)[i]}: {x[i]!r} against {y[i]!r}")
            both = np.isfinite(x) & np.isfinite(y) & ((x != 0) | (y != 0))
            if both.any():
                rel = np.abs(x - y)[both] / np.maximum(np.abs(x), np.abs(y))[both]
                if rel.max() > worst:
                    row = list(rows)[np.flatnonzero(both)[rel.argmax()]]
                    worst, where = float(rel.max()), f"{col} row {row}"
    return worst, where, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--rtol", type=float, default=1e-2)
    ap.add_argument("--atol", type=float, default=1e-9)
    ap.add_argument("--skip", action="append", default=[], metavar="TABLE:COLUMN")
    args = ap.parse_args()
    skip = {}
    for item in args.skip:
        table, _, column = item.partition(":")
        skip.setdefault(table if table.endswith(".csv") else f"{table}.csv", []).append(column)
    names = sorted({p.name for folder in (args.before, args.after) for p in folder.glob("*.csv")})
    if not names:
        sys.exit(f"no tables (*.csv) in {args.before} or {args.after}")
    failed = 0
    print(f"{'table':<36} {'largest rel. diff':>18}  where")
    for name in names:
        if not (args.before / name).exists() or not (args.after / name).exists():
            print(f"{name:<36} {'missing':>18}  in one of the two folders")
            failed += 1
            continue
        worst, where, problems = compare(pd.read_csv(args.before / name),
                                         pd.read_csv(args.after / name), args.rtol, args.atol,
                                         skip.get(name, ()))
        left_out = f"  (not compared: {', '.join(skip[name])})" if name in skip else ""
        print(f"{name:<36} {worst:18.2e}  {where}{left_out}")
        for line in problems[:5]:
            print(f"    beyond rtol {args.rtol:g}: {line}")
        if len(problems) > 5:
            print(f"    ... and {len(problems) - 5} more")
        failed += bool(problems)
    print(f"{len(names) - failed} of {len(names)} tables within rtol {args.rtol:g}, "
          f"atol {args.atol:g}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
