"""The code hash that reruns a rule when the package code it runs changes (``codehash``)."""

import ast
import glob
from pathlib import Path

from dropout_sme import codehash

ROOT = Path(__file__).resolve().parents[1]

NESTED = '''
import dropout_sme.io
if x:
    from dropout_sme import plan
else:
    from dropout_sme.noise import flatness
try:
    from dropout_sme.sme import exact
except ImportError:
    from dropout_sme.sme import linear
finally:
    import dropout_sme.report.stats
with open(f) as g:
    for i in y:
        while z:
            from dropout_sme.models import fnn
class A:
    def f(self):
        async def g():
            from dropout_sme.noise import masks
match v:
    case 1:
        from dropout_sme.data import files
'''


def walk_everything(tree):
    """The reference: every node of the tree (the slow walk the statement walk replaced)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def test_imports_are_found_at_any_depth_of_statements():
    tree = ast.parse(NESTED)
    found = codehash._imports(tree, None, False)
    expected = {"dropout_sme", "dropout_sme.io", "dropout_sme.plan", "dropout_sme.noise",
                "dropout_sme.noise.flatness", "dropout_sme.sme", "dropout_sme.sme.exact",
                "dropout_sme.sme.linear", "dropout_sme.report", "dropout_sme.report.stats",
                "dropout_sme.models", "dropout_sme.models.fnn", "dropout_sme.noise.masks",
                "dropout_sme.data", "dropout_sme.data.files"}
    assert found == expected
    assert walk_everything(tree) <= found          # and every parent package besides


def test_every_script_and_notebook_reaches_what_a_full_walk_reaches(monkeypatch):
    """The statement walk and the per-module cache give the modules that a walk of every node
    gives, for every script and notebook of the workflow."""
    sources = sorted(glob.glob(str(ROOT / "scripts/*.py")) + glob.glob(str(ROOT / "notebooks/*.py")))
    assert len(sources) > 20

    def all_modules():
        codehash.modules.cache_clear()
        codehash._module_imports.cache_clear()
        return {source: codehash.modules(source) for source in sources}

    fast = all_modules()
    monkeypatch.setattr(codehash, "_statements", ast.walk)
    try:
        assert all_modules() == fast
    finally:
        monkeypatch.undo()
        all_modules()
    # the noise stage's script reaches the flatness search through the package
    assert "dropout_sme.noise.flatness" in fast[str(ROOT / "scripts/noise.py")]


def test_the_hash_changes_with_a_module_the_script_reaches(tmp_path, monkeypatch):
    script = tmp_path / "s.py"
    script.write_text("from dropout_sme.noise import flatness\n")
    other = tmp_path / "t.py"
    other.write_text("from dropout_sme.sme import exact\n")
    before = codehash.code_hash(script), codehash.code_hash(other)
    real = codehash._module_file

    def edited(name):                       # flatness.py replaced by an edited copy
        path = real(name)
        if name == "dropout_sme.noise.flatness":
            copy = tmp_path / "flatness.py"
            copy.write_text(path.read_text() + "\n# edited\n")
            return copy
        return path

    monkeypatch.setattr(codehash, "_module_file", edited)
    after = codehash.code_hash(script), codehash.code_hash(other)
    assert after[0] != before[0] and after[1] == before[1]
