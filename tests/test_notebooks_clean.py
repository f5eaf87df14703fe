"""Notebook hygiene: outputs stripped except the cells nbval checks; a parameters cell each."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ holds no .ipynb file"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_committed_without_stray_outputs(path: Path) -> None:
    nb = json.loads(path.read_text())
    stray = []
    for i, cell in enumerate(nb["cells"]):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "code" or "keep_output" in tags:
            continue
        if cell.get("outputs") or cell.get("execution_count") is not None:
            stray.append(i)
    assert not stray, (
        f"{path.name}: cells {stray} carry outputs; "
        f"run `.venv/bin/nbstripout {path}` before committing"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_parameters_cell_first_among_code(path: Path) -> None:
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code cell"
    first_tags = code[0].get("metadata", {}).get("tags", [])
    assert "parameters" in first_tags, f"{path.name}: first code cell must be tagged 'parameters'"
    src = "".join(code[0]["source"])
    for name in ("PROFILE", "DEVICE", "SEED"):
        assert name in src, f"{path.name}: parameters cell must define {name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_name_follows_convention(path: Path) -> None:
    stem = path.stem
    assert stem[:2].isdigit() and stem[2] == "_", f"{path.name}: name notebooks NN_slug.ipynb"


LESSONS = [p for p in NOTEBOOKS if p.stem[:2].isdigit() and 1 <= int(p.stem[:2]) <= 9]


def _parameters(path: Path) -> dict:
    import ast

    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    out = {}
    for node in ast.parse("".join(cell["source"])).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = node.value
    return out


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lessons_take_seed_and_replicates_as_integer_literals(path: Path) -> None:
    import ast

    params = _parameters(path)
    for name in ("SEED", "REPLICATES"):
        assert name in params, f"{path.name}: the parameters cell must define {name}"
        node = params[name]
        assert isinstance(node, ast.Constant) and type(node.value) is int, (
            f"{path.name}: {name} must be a plain integer literal (papermill -p {name} N)"
        )
    from mailviz.replicates import default_replicates

    assert params["REPLICATES"].value == default_replicates("quick")


# Run-dependent numbers look like decimals (67.0), percentages (12 %), "±", "N of M" or "×N":
# none of them may be typed into a "What we saw" section, which is generated from the claims.
_RUN_NUMBER = re.compile(r"\d+\.\d+|\d\s*%|±|\b\d+\s+of\s+\d+\b|\d+\s*×|×\s*\d")


def _what_we_saw_markdown(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    cells, inside = [], False
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and re.match(r"#+\s", src):
            inside = bool(re.match(r"#+\s*what we saw", src, re.I))
        if inside and cell["cell_type"] == "markdown":
            cells.append(src)
    return cells


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_what_we_saw_carries_no_typed_run_numbers(path: Path) -> None:
    cells = _what_we_saw_markdown(path)
    assert cells, f"{path.name}: no '## What we saw' section"
    for src in cells:
        plain = re.sub(r"\$[^$]*\$", "", src)  # equations state definitions, not results
        found = _RUN_NUMBER.findall(plain)
        assert not found, (f"{path.name}: the 'What we saw' section types run numbers {found}; "
                           "render them from the claims table (claims.what_we_saw)")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_what_we_saw_is_rendered_from_the_claims(path: Path) -> None:
    nb = json.loads(path.read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "claims.what_we_saw(" in code and "claims.check(" in code, path.name


def test_the_run_number_pattern_catches_typed_results() -> None:
    for typed in ("TRADES 67.0 / 50.4", "+4.0 points", "about 12 % of them", "3 of 84 rows",
                  "1.7× the uniform", "±2"):
        assert _RUN_NUMBER.search(typed), typed
    for fine in ("Table 9", "base seeds 0, 10 and 20", "ResNet-18", "notebook 05"):
        assert not _RUN_NUMBER.search(fine), fine
