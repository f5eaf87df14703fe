"""`make student`: lessons without solution cells; every lesson has exercises and references."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from mailviz import student
from mailviz.figures import list_notebooks
from mailviz.paths import project_root


def _nb(cells: list[tuple[str, str, list[str]]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for kind, source, tags in cells:
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        cell = make(source)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    return nb


def test_strip_solutions_removes_tagged_cells_and_outputs() -> None:
    nb = _nb([("code", "x = 1", []), ("markdown", "**Exercise 1.** compute y", []),
              ("code", "y = x + 1\nassert y == 2", ["solution"]),
              ("markdown", "because ...", ["solution", "other"]), ("code", "print(x)", [])])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="hi")]
    nb.cells[0].execution_count = 3
    out, removed = student.strip_solutions(nb)
    assert removed == 2
    assert [c.source for c in out.cells] == ["x = 1", "**Exercise 1.** compute y", "print(x)"]
    assert out.cells[0].outputs == [] and out.cells[0].execution_count is None
    assert len(nb.cells) == 5  # the original is untouched


def test_solution_only_names_finds_a_later_cell_that_needs_a_solution() -> None:
    nb = _nb([("code", "a = 1", []), ("code", "b = a * 2\nimport math as m", ["solution"]),
              ("code", "print(a)", []), ("code", "print(b, m.pi)", []),
              ("code", "b = 3\nprint(b)", [])])
    assert student.solution_only_names(nb) == {3: {"b", "m"}}


def test_write_student_copies(tmp_path: Path) -> None:
    src = tmp_path / "nbs"
    src.mkdir()
    nbformat.write(_nb([("code", "x = 1", []), ("code", "x + 1", ["solution"])]),
                   str(src / "01_demo.ipynb"))
    written = student.write_student_copies(tmp_path / "out", src)
    assert [p.name for p in written] == ["01_demo.ipynb"]
    copy = nbformat.read(str(written[0]), as_version=4)
    assert [c.source for c in copy.cells] == ["x = 1"]
    assert written[0].read_text().endswith("\n")
    nbformat.write(_nb([("code", "y = 2", ["solution"]), ("code", "print(y)", [])]),
                   str(src / "02_broken.ipynb"))
    with pytest.raises(ValueError, match=r"02_broken.ipynb: cell 1 reads \['y'\]"):
        student.write_student_copies(tmp_path / "out", src)
    with pytest.raises(ValueError, match="no lessons"):
        student.write_student_copies(tmp_path / "out", tmp_path / "empty")


def test_main_prints_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert student.main(["--help"]) == 2
    assert "usage" in capsys.readouterr().err
    (tmp_path / "notebooks").mkdir()
    nbformat.write(_nb([("code", "y = 2", ["solution"]), ("code", "print(y)", [])]),
                   str(tmp_path / "notebooks" / "01_broken.ipynb"))
    monkeypatch.setattr(student, "project_root", lambda: tmp_path)
    assert student.main([str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "01_broken.ipynb: cell 1 reads ['y']" in err
    assert not (tmp_path / "out" / "01_broken.ipynb").exists()


LESSONS = list_notebooks(project_root() / "notebooks")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lessons_survive_make_student(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    assert student.solution_only_names(nb) == {}, "a cell needs a name only a solution defines"


def _headings(nb: dict) -> list[str]:
    return [line.strip() for c in nb["cells"] if c["cell_type"] == "markdown"
            for line in "".join(c["source"]).splitlines() if line.startswith("## ")]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_ends_with_references_with_venues(path: Path) -> None:
    nb = json.loads(path.read_text())
    last = "".join(nb["cells"][-1]["source"])
    assert last.startswith("## References"), "the last cell must be the References section"
    entries = re.split(r"\n[*-] ", last)[1:]  # markdown bullets
    assert entries, "References lists no paper"
    for entry in entries:  # a year, and an arXiv id or a venue, on every entry
        assert re.search(r"(19|20)\d\d", entry), entry


@pytest.mark.parametrize("path", [p for p in LESSONS if "01" <= p.stem[:2] <= "09"],
                         ids=lambda p: p.stem)
def test_lessons_01_to_09_have_exercises_with_solutions(path: Path) -> None:
    nb = json.loads(path.read_text())
    assert "## Exercises" in _headings(nb)
    solutions = [c for c in nb["cells"] if "solution" in c["metadata"].get("tags", [])]
    assert any(c["cell_type"] == "code" for c in solutions), "no solution that needs code"
    start = next(i for i, c in enumerate(nb["cells"]) if "## Exercises" in "".join(c["source"]))
    prompts = [c for c in nb["cells"][start:] if c["cell_type"] == "markdown"
               and "solution" not in c["metadata"].get("tags", [])]
    assert len(prompts) >= 2, "the exercises section has no exercise prompts"
