"""Rule `sme_exact`: weak errors and orders of the exactly solvable reference (no Monte Carlo)."""

from dropout_sme import io
from dropout_sme.sme import exact

sm = snakemake  # noqa: F821
with io.rule_job(sm):
    spec = sm.params.spec
    model, w0 = exact.problem(spec)
    points, orders = exact.order_table(model, w0, spec["lrs"], spec["horizon"])
    print(orders.to_string())
    io.save_csv(sm.output.points, points.assign(keep_prob=spec["keep_prob"]))
    io.save_csv(sm.output.orders, orders.assign(keep_prob=spec["keep_prob"]))
