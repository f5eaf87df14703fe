"""Packaging: environment.yml mirrors pyproject.toml; torch pins admit the local wheels."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _conda_pip_requirements() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_block = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return {str(Requirement(r)) for r in pip_block if not r.startswith("-e")}


def test_environment_yml_lists_exactly_the_pyproject_dependencies() -> None:
    project = _pyproject()["project"]
    wanted = set(project["dependencies"])
    for extra in ("dev", "zoo", "site"):
        wanted |= set(project["optional-dependencies"][extra])
    wanted = {str(Requirement(r)) for r in wanted}
    conda = _conda_pip_requirements()
    assert conda == wanted, (
        f"only in environment.yml: {sorted(conda - wanted)}; "
        f"only in pyproject: {sorted(wanted - conda)}"
    )


def test_environment_yml_installs_the_package_itself() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_block = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-e ." in pip_block


def test_torch_ranges_admit_the_wheels_on_this_machine() -> None:
    reqs = {Requirement(r).name: Requirement(r) for r in _pyproject()["project"]["dependencies"]}
    assert reqs["torch"].specifier.contains("2.14.1")
    assert reqs["torchvision"].specifier.contains("0.29.1")


def test_console_script_points_at_cli_main() -> None:
    assert _pyproject()["project"]["scripts"]["mailviz"] == "mailviz.cli:main"


def test_top_level_layout() -> None:
    for name in ("notebooks", "mailviz", "data", "figures", "tests", "environment.yml",
                 "README.md", "pyproject.toml", "Makefile", ".ci/run", "data/README.md"):
        assert (ROOT / name).exists(), f"{name} is missing from the repository layout"
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "data/*" in ignored and "!data/README.md" in ignored


def test_every_committed_figure_is_listed_in_figures_readme() -> None:
    """figures/README.md names each PNG (with its notebook and parameters); each has its SVG."""
    import re

    listed = set(re.findall(r"figures/[\w/.\-]+\.png", (ROOT / "figures/README.md").read_text()))
    files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "figures").rglob("*.png")}
    assert files == listed, {"unlisted": files - listed, "missing": listed - files}
    assert all((ROOT / f).with_suffix(".svg").exists() for f in files)
