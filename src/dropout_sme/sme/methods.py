"""What identifies a simulated method: its name and, for SVAG, its l, stored by the E1 cells as
values (``sme.cell``) and read by the analysis (``sme.weak``). Without torch."""

from __future__ import annotations

from typing import NamedTuple

LABELS = {"sme1": "order-1 SME", "sme2": "order-2 SME", "gf": "gradient flow (no noise)",
          "gf2": "order-2 drift (no noise)"}


class Method(NamedTuple):
    """A simulated method: its name (dropout, sme1, sme2, svag, gf, gf2) and, for SVAG, its l
    (0 otherwise). Cells store both as values; frames carry them as the ``method`` and ``l``
    columns."""

    name: str
    l: int = 0

    @property
    def key(self) -> str:
        """The prefix of the method's arrays in a cell file (a file name, never read back)."""
        return f"{self.name}{self.l}" if self.l else self.name

    @property
    def label(self) -> str:
        return f"SVAG, l = {self.l}" if self.name == "svag" else LABELS[self.name]


DROPOUT = Method("dropout")
