"""The one plotting style of every figure, loaded explicitly by each notebook, and small helpers."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402


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


def save(fig, pdf, png) -> None:
    """PDF and PNG, byte-for-byte reproducible (no creation date in the PDF)."""
    Path(pdf).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(pdf, metadata={"CreationDate": None})
    fig.savefig(png)
