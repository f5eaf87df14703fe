"""Notebook hygiene: outputs stripped except the cells nbval checks; a parameters cell each."""

from __future__ import annotations

import json
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
