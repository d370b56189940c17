"""Atomic file writes, provenance sidecars and seals.

Every artefact is written under a temporary name in its destination folder and renamed into place,
so a killed job never leaves a file that looks complete. Every job that writes under ``results/``
seals its outputs (``results/seals/...``: each file's sha256 and size) and every job verifies the
files it reads from ``results/`` against their seals (``rule_job``), so a file damaged after its
job ended (a truncated cache entry shared by every checkout that links to it) stops the reader
with the file's name instead of changing a table.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

SEALS = Path("results/seals")
_PACKAGES = ("dropout-sme", "torch", "numpy", "scipy", "pandas", "scikit-learn", "snakemake")


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())        # as open() would: mkstemp's 0600 hides it from the group
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_npz(path, **arrays) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def save_json(path, obj) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n")


def save_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def save_csv(path, frame) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def save_torch(path, obj) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_torch(path):
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def _jsonable(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def config_hash(obj) -> str:
    """A stable hash of a (JSON-serialisable) configuration fragment."""
    text = json.dumps(obj, sort_keys=True, default=_jsonable)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def arrays_hash(arrays: dict) -> str:
    """sha256 over names, dtypes, shapes and bytes of a dict of arrays (order independent)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def git_revision() -> str:
    """The git revision of the checkout this package runs from ("+dirty" when modified)."""
    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def versions() -> dict:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def provenance(config_fragment, **extra) -> dict:
    """The sidecar fields every artefact carries: config hash, versions, git revision."""
    return {
        "config": config_fragment,
        "config_hash": config_hash(config_fragment),
        "versions": versions(),
        "git_revision": git_revision(),
        **extra,
    }


class DamagedFile(RuntimeError):
    """A file under results/ does not match the seal its job wrote, or has none."""


def file_hash(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def seal(outputs: dict, seal_path) -> None:
    """Record the sha256 and size of every output file (name -> path) in ``seal_path``."""
    save_json(seal_path, {"outputs": {str(p): {"sha256": file_hash(p), "bytes": os.path.getsize(p)}
                                      for p in outputs.values()}})


def _seal_index(root=SEALS) -> dict:
    """path -> (seal file, record) of every seal under ``root``."""
    index = {}
    for f in sorted(Path(root).rglob("*.json")):
        try:
            records = json.loads(f.read_text())["outputs"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DamagedFile(f"{f}: the seal is unreadable ({exc}); delete it and the outputs "
                              f"of its job, then rerun") from None
        index.update({path: (f, rec) for path, rec in records.items()})
    return index


def verify(paths, root=SEALS) -> None:
    """Stop with the file's name when a file read from results/ differs from its seal."""
    paths = [str(p) for p in paths if str(p).startswith("results/")]
    if not paths:
        return
    index = _seal_index(root)
    for path in paths:
        if path not in index:
            raise DamagedFile(f"{path}: no seal under {root} records this file, so its content "
                              f"cannot be checked; rerun the job that writes it")
        where, rec = index[path]
        size, real = os.path.getsize(path), os.path.realpath(path)
        if size != rec["bytes"] or file_hash(path) != rec["sha256"]:
            link = f" (a link to {real}: the cache entry is damaged)" if real != \
                os.path.abspath(path) else ""
            raise DamagedFile(f"{path}{link}: {size} bytes that do not match the {rec['bytes']} "
                              f"bytes and sha256 its job sealed in {where}; the file was damaged "
                              f"or changed after the job ended. Delete it (and the cache entry), "
                              f"then rerun")


@contextlib.contextmanager
def rule_job(sm, planned_mb=None):
    """A rule script's frame (``sm``: the snakemake object): its log (``rule_log``), the check of
    every input from results/ against its seal, and the seal of its outputs when the rule
    declares one (output ``seal``)."""
    with rule_log(sm.log[0], planned_mb):
        verify(list(sm.input))
        yield
        outputs = dict(sm.output.items())
        if "seal" in outputs:
            seal_path = outputs.pop("seal")
            seal(outputs, seal_path)


@contextlib.contextmanager
def rule_log(log_path, planned_mb=None):
    """Send stdout and stderr (progress bars included) of a rule's script to its log file; it
    starts with the cost plan's memory estimate (``planned_mb``: what to compare with when the OS
    kills the job for memory and nothing else gets written), holds the traceback of a job that
    fails, and ends with the job's wall time and peak memory (the compute rules carry no
    Snakemake ``benchmark``, which cannot coexist with the between-workflow cache)."""
    if log_path is None:
        yield
        return
    import time
    import traceback

    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log_path, "w", buffering=1) as fh, contextlib.redirect_stdout(fh), \
            contextlib.redirect_stderr(fh):
        if planned_mb is not None:
            print(f"job: the cost plan's memory estimate {planned_mb} MiB")
        try:
            yield
        except BaseException:
            traceback.print_exc(file=fh)
            raise
        finally:
            print(f"job: {time.perf_counter() - started:.1f} s wall time, peak memory "
                  f"{peak_rss_mib():.0f} MiB{_device_peak()}")


class Laps:
    """Seconds of a job's named parts, for its log: ``lap(name)`` charges the time since the
    previous lap (or since ``Laps()``) to ``name``, adding to what it has; ``text()`` lists the
    parts in the order they first ran. ``clock``: seconds now (``time.perf_counter``)."""

    def __init__(self, clock=None):
        import time

        self._clock = clock or time.perf_counter
        self.seconds: dict[str, float] = {}
        self._last = self._clock()

    def lap(self, name: str) -> None:
        now = self._clock()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._last
        self._last = now

    def text(self) -> str:
        return "; ".join(f"{name} {s:.1f} s" for name, s in self.seconds.items())


def peak_rss_mib() -> float:
    """This process's peak resident memory: Linux's VmHWM, which, unlike getrusage's maxrss,
    does not carry the peak of the process that forked it (pytest's, Snakemake's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024                    # kB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux


def _device_peak() -> str:
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return ""
    return f", peak GPU memory {torch.cuda.max_memory_allocated() / 2 ** 20:.0f} MiB"
