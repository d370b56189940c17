"""pyproject.toml and environment.yml list the same dependencies with the same ranges."""

import re
import tomllib

import yaml

CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def split(req: str) -> tuple[str, str]:
    name, spec = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", req.strip()).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_pyproject_and_environment_agree(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    pip = dict(split(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((root / "environment.yml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            assert dep["pip"] == ["-e ."]
            continue
        name, spec = split(dep)
        if name in ("python", "pip"):
            continue
        conda[CONDA_NAMES.get(name, name)] = spec
    assert conda == pip


def test_job_environment_has_the_runtime_dependencies(root):
    """workflow/envs/pipeline.yaml (what --sdm conda builds for every job) = pyproject's runtime
    dependencies, without the package itself and without the test extra."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    pip = dict(split(r) for r in project["dependencies"])
    env = yaml.safe_load((root / "workflow/envs/pipeline.yaml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        assert not isinstance(dep, dict), "no pip section: the job imports the checkout"
        name, spec = split(dep)
        if name != "python":
            conda[CONDA_NAMES.get(name, name)] = spec
    assert conda == pip


def test_readme_quick_start_installs_what_ci_installs(root):
    readme = (root / "README.md").read_text()
    ci = (root / ".ci/run").read_text()
    commands = re.findall(r"^(python3 -m venv .*)$", readme, flags=re.M)
    assert len(commands) == 2
    assert commands[0].endswith("snakemake --cores all")
    assert commands[1].endswith("pytest")
    assert commands[1] in ci  # CI runs the README's test command as written
