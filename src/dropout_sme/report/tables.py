"""What the notebooks read, and the null bands they draw, each in one place.

- ``read``: the CSVs of several jobs as one frame;
- ``read_tagged``: the same, each row tagged with what the workflow says its file belongs to (the
  experiment of a noise job, an activation of E1): never parsed from a path;
- ``read_metrics``, ``final_rows``: training metrics, refused when a file ends before its run's
  final step (``final_step``, written by the training job), and their rows at that step;
- ``mask_note``: which dropout mask convention produced a frame, in words, for every E2-E5
  figure and table;
- ``null_bands``: the two null models of alpha as bands, mean +- ``NULL_Z`` standard deviations
  of the exact moments (the same-spectra null: ``spectra_mean`` / ``spectra_sd``; the centred
  Wishart null: mean 0, ``wishart_sd``); the upper end is the null's 97.5% point.
"""

from __future__ import annotations

import pandas as pd

from ..io import DamagedFile

NULL_Z = 1.96          # the two-sided 95% point of a normal distribution


def read(files) -> pd.DataFrame:
    """The CSVs ``files`` concatenated (a single path counts as one file)."""
    files = [files] if isinstance(files, str) else list(files)
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)


def read_tagged(files, tag_of: dict, column: str = "experiment") -> pd.DataFrame:
    """The CSVs ``files`` concatenated, each row with ``column`` = ``tag_of[its file]``."""
    missing = [f for f in files if str(f) not in tag_of]
    if missing:
        raise KeyError(f"no {column} given for {', '.join(map(str, missing))}")
    return pd.concat([pd.read_csv(f).assign(**{column: tag_of[str(f)]}) for f in files],
                     ignore_index=True)


def read_metrics(files, tag_of: dict | None = None, column: str = "experiment") -> pd.DataFrame:
    """Training metrics CSVs concatenated (each row tagged as ``read_tagged`` does when
    ``tag_of`` is given); a file in which a seed's rows end before the run's final step stops
    the reader with the file's name: its last rows are not the final ones."""
    files = [files] if isinstance(files, str) else list(files)
    frames = []
    for f in files:
        m = pd.read_csv(f)
        if m.empty or "final_step" not in m or m.final_step.isna().any():
            raise DamagedFile(f"{f}: no rows or no final_step: not a complete metrics file")
        last = m.groupby("seed").step.max()
        short = last[last < m.final_step.max()]
        if len(short):
            raise DamagedFile(f"{f}: seed {short.index[0]} ends at step {short.iloc[0]}, before "
                              f"the run's final step {m.final_step.max()}: the file ends early")
        frames.append(m if tag_of is None else m.assign(**{column: tag_of[str(f)]}))
    return pd.concat(frames, ignore_index=True)


def final_rows(metrics: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``read_metrics`` at each run's final step (never the largest step present)."""
    return metrics[metrics.step == metrics.final_step]


def null_bands(alignment: pd.DataFrame) -> pd.DataFrame:
    """A copy of alignment rows with the bands of both null models: ``spectra_lo``,
    ``spectra_hi``, ``wishart_lo``, ``wishart_hi`` (the ``_hi`` columns are the 97.5% points)."""
    out = alignment.copy()
    out["spectra_hi"] = out.spectra_mean + NULL_Z * out.spectra_sd
    out["spectra_lo"] = out.spectra_mean - NULL_Z * out.spectra_sd
    out["wishart_hi"] = NULL_Z * out.wishart_sd
    out["wishart_lo"] = -out["wishart_hi"]
    return out


MASKS = {"per_sample": "per_sample (one mask per example, as nn.Dropout)",
         "per_step": "per_step (one mask per step shared by the batch, the theory's)"}


def mask_note(frame: pd.DataFrame) -> str:
    """'Dropout masks: ...' for the mask conventions in ``frame`` (its ``mask`` column)."""
    found = sorted(set(frame["mask"])) if "mask" in frame else []
    return "Dropout masks: " + (", ".join(MASKS.get(m, m) for m in found) or "not recorded")

