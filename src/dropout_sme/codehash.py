"""The package code a rule runs, as a hash the DAG can track (a ``params:`` value).

Snakemake reruns a job when its script changes, but not when the package code the script calls
changes, so an edited method would leave old figures in place. ``code_hash`` follows the imports
of a script (or notebook) into this package, transitively, by reading the sources (``ast``: no
import, no torch at parse time) and hashes every module reached. Editing a module changes the hash
of exactly the rules whose scripts reach it.
"""

from __future__ import annotations

import ast
import hashlib
from functools import lru_cache
from pathlib import Path

PACKAGE = "dropout_sme"
SRC = Path(__file__).resolve().parent          # the package folder


def _module_file(name: str) -> Path | None:
    """The source file of a module of this package (``dropout_sme.a.b``), or None."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = SRC.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(tree: ast.AST, module: str | None, is_package: bool) -> set[str]:
    """Names of the modules of this package that a source imports (anywhere in it)."""
    found = set()
    for node in _statements(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if module is None:
                    continue
                parts = module.split(".")
                keep = len(parts) - node.level + (1 if is_package else 0)
                base = ".".join(parts[:keep] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)   # submodules imported by name
    out = set()
    for name in found:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):          # a package's __init__ runs on import too
            if _module_file(".".join(parts[:i])) is not None:
                out.add(".".join(parts[:i]))
    return out


def _statements(node: ast.AST):
    """Every statement inside ``node``, at any depth (imports are statements: walking only the
    statement lists, not every expression, is what keeps a parse of the workflow fast)."""
    for field in ("body", "orelse", "finalbody", "handlers", "cases"):
        for child in getattr(node, field, ()):
            yield child
            yield from _statements(child)


def _source_tree(path: Path) -> ast.AST:
    text = path.read_text()
    return ast.parse(text, filename=str(path))


@lru_cache(maxsize=None)
def modules(source: str) -> tuple[str, ...]:
    """The modules of this package that ``source`` (a script or notebook path) runs, sorted."""
    todo = list(_imports(_source_tree(Path(source)), None, False))
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_module_imports(name) - seen)
    return tuple(sorted(seen))


@lru_cache(maxsize=None)
def _module_imports(name: str) -> frozenset[str]:
    """The package modules that module ``name`` imports, each module parsed once per process
    (every rule's script reaches most of the package)."""
    path = _module_file(name)
    return frozenset(_imports(_source_tree(path), name, path.name == "__init__.py"))


def code_hash(*sources) -> str:
    """sha256 (16 hex digits) over the package modules that the given sources run."""
    h = hashlib.sha256()
    for name in sorted({m for s in sources for m in modules(str(s))}):
        h.update(name.encode() + b"\0" + _module_file(name).read_bytes() + b"\0")
    return h.hexdigest()[:16]
