"""The one plotting style of every figure, loaded explicitly by each notebook, and small helpers."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from ..sme.weak import FIT_POINTS  # noqa: E402


def use_style() -> None:
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.1)
    plt.rcParams.update({
        "figure.dpi": 110, "savefig.dpi": 200, "savefig.bbox": "tight",
        "axes.titlesize": "medium", "legend.frameon": False, "pdf.fonttype": 42,
    })


def band(ax, x, mean, lo, hi, label=None, **kw):
    """A mean line with a shaded interval (e.g. 95% over seeds)."""
    line, = ax.plot(x, mean, label=label, **kw)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    return line


def log_log(ax) -> None:
    """Log-log axes whose labels stay readable over less than a decade: ticks at 1, 2 and 5
    times the powers of ten, written as plain numbers."""
    from matplotlib import ticker

    ax.set_xscale("log")
    ax.set_yscale("log")
    fmt = ticker.FuncFormatter(lambda v, _: f"{v:.2g}")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_minor_locator(ticker.LogLocator(subs="auto"))
        axis.set_major_formatter(fmt)
        axis.set_minor_formatter(ticker.NullFormatter())


def save(fig, pdf, png) -> None:
    """PDF and PNG, byte-for-byte reproducible (no creation date in the PDF)."""
    Path(pdf).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(pdf, metadata={"CreationDate": None})
    fig.savefig(png)


def weak_error_curve(ax, points, order, color, label, linestyle="-") -> None:
    """One method's weak error against lr (``weak.error_points`` rows of one method, test
    function and keep_prob): bars of 1.96 Monte Carlo standard errors, resolved points filled,
    unresolved ones hollow, the fitted ``order`` row (``weak.order_table``) in the label."""
    sel = points.sort_values("lr")
    fit = (f"{order.order:.2f} [{order.order_lo:.2f}, {order.order_hi:.2f}]"
           if np.isfinite(order.order) else "n/a (outside the regime)"
           if getattr(order, "points_resolved", 0) >= FIT_POINTS else "n/a")
    ax.errorbar(sel.lr, sel.error, yerr=1.96 * sel.se, color=color, linewidth=1, capsize=2,
                linestyle=linestyle, label=f"{label}: order {fit}")
    res = sel[sel.resolved]
    ax.plot(res.lr, res.error, "o", color=color)
    unres = sel[~sel.resolved & ~sel.diverged]
    ax.plot(unres.lr, unres.error, "o", mfc="white", color=color)


def lr_axes(ax, lrs, ylabel: str, title: str) -> None:
    """Log-log axes over the learning rates, ticks at each lr, and the legend below the axes
    (inside them, a legend of six or more methods hides their curves)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(lrs, [f"{v:g}" for v in lrs])
    ax.minorticks_off()
    ax.set_xlabel("learning rate lr")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.2),
              borderaxespad=0)
