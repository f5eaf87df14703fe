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


# --------------------------------------------------------------------------------------------
# Opening a lesson in JupyterLab leaves git clean: the committed file already holds what
# JupyterLab would save (mailviz.lesson_files). language_info.version is the kernel's Python
# patch release: these tests compare with the interpreter that runs them (.venv/bin/python).
# --------------------------------------------------------------------------------------------

NORMALISE = "run `.venv/bin/python -m mailviz.lesson_files notebooks/*.ipynb` and commit"


def test_language_info_is_what_ipykernel_reports() -> None:
    from ipykernel.ipkernel import IPythonKernel
    from jupyter_client.kernelspec import KernelSpecManager

    from mailviz.lesson_files import KERNELSPEC, language_info

    assert language_info() == IPythonKernel.language_info
    spec = KernelSpecManager().get_kernel_spec(KERNELSPEC["name"])
    assert {"display_name": spec.display_name, "language": spec.language} == {
        k: KERNELSPEC[k] for k in ("display_name", "language")
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lesson_is_saved_with_jupyterlab_metadata(path: Path) -> None:
    """Every lesson carries what JupyterLab writes on save (the Python patch release aside)."""
    from mailviz.lesson_files import as_saved, jupyterlab_metadata, normalised, same_minor

    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    wanted = jupyterlab_metadata()
    committed = nb["metadata"].get("language_info", {}).get("version", "")
    if same_minor(committed, wanted["language_info"]["version"]):
        # the patch release is the kernel's own (3.11.7 here): another 3.11.x kernel rewrites
        # that one line on save, and a fresh machine may well run another 3.11.x
        wanted["language_info"]["version"] = committed
    wrong = {k: nb["metadata"].get(k) for k, v in wanted.items() if nb["metadata"].get(k) != v}
    assert not wrong, f"{path.name}: JupyterLab would rewrite metadata {wrong}; {NORMALISE}"
    normalised(nb)  # raises on what JupyterLab would change beyond the metadata (ids, format)
    assert text == as_saved(nb), f"{path.name}: not laid out as saved; {NORMALISE}"


def test_normaliser_changes_only_the_metadata(tmp_path: Path) -> None:
    from mailviz.lesson_files import jupyterlab_metadata, normalise_metadata

    source = NOTEBOOKS[0]
    nb = json.loads(source.read_text(encoding="utf-8"))
    nb["metadata"] = {"kernelspec": {"display_name": "Python 3", "language": "python",
                                     "name": "python3"},
                      "language_info": {"name": "python"}, "papermill": {"x": 1}}  # fmt: skip
    copy = tmp_path / source.name
    copy.write_text(json.dumps(nb, indent=2))  # another layout too
    assert normalise_metadata(copy) is True
    text = copy.read_text(encoding="utf-8")
    after = json.loads(text)
    assert after["metadata"] == {**jupyterlab_metadata(), "papermill": {"x": 1}}
    assert after["cells"] == nb["cells"] and after["nbformat_minor"] == nb["nbformat_minor"]
    assert text.endswith("}\n") and text.startswith('{\n "cells": [\n')
    assert normalise_metadata(copy) is False  # idempotent: nothing left to change
    assert copy.read_text(encoding="utf-8") == text


def test_normaliser_matches_nbformat_write(tmp_path: Path) -> None:
    import nbformat

    from mailviz.lesson_files import as_saved, normalised

    for path in NOTEBOOKS:
        nb = normalised(json.loads(path.read_text(encoding="utf-8")))
        node = nbformat.from_dict(nb)
        target = tmp_path / path.name
        nbformat.write(node, target, version=nbformat.NO_CONVERT)  # what jupyter_server calls
        assert as_saved(nb) == target.read_text(encoding="utf-8"), path.name


def test_normaliser_rejects_what_it_cannot_predict(tmp_path: Path) -> None:
    from mailviz.lesson_files import normalise_metadata

    with pytest.raises(ValueError, match="is not a notebook file"):
        normalise_metadata(tmp_path / "missing.ipynb")
    nb = json.loads(NOTEBOOKS[0].read_text(encoding="utf-8"))
    del nb["cells"][1]["id"]
    path = tmp_path / "no_ids.ipynb"
    path.write_text(json.dumps(nb))
    with pytest.raises(ValueError, match=r"no_ids.ipynb: cells \[1\] have no id"):
        normalise_metadata(path)
    nb["nbformat_minor"] = 4
    path.write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="nbformat 4.4, JupyterLab saves 4.5"):
        normalise_metadata(path)
