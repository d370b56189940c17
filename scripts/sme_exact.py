"""Rule `sme_exact`: weak errors and orders of the exactly solvable reference (no Monte Carlo),
at its own learning rates and at those of its Monte Carlo runs (``grid``)."""

import pandas as pd

from dropout_sme import io
from dropout_sme.sme import exact

sm = snakemake  # noqa: F821
with io.rule_job(sm):
    spec = sm.params.spec
    model, w0 = exact.problem(spec)
    grids = {"exact": spec["lrs"], "monte_carlo": spec["monte_carlo"]["lrs"]}
    tables = [(grid, exact.order_table(model, w0, lrs, spec["horizon"]))
              for grid, lrs in grids.items() if lrs]
    points = pd.concat([p.assign(grid=grid) for grid, (p, _) in tables], ignore_index=True)
    orders = pd.concat([o.assign(grid=grid) for grid, (_, o) in tables], ignore_index=True)
    print(orders.to_string())
    io.save_csv(sm.output.points, points.assign(keep_prob=spec["keep_prob"]))
    io.save_csv(sm.output.orders, orders.assign(keep_prob=spec["keep_prob"]))
