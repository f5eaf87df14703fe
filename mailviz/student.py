"""Student copies of the lessons: every cell tagged ``solution`` removed, outputs cleared.

Each lesson 01–09 ends with exercises; their solutions are cells tagged ``solution`` (code that
nbval executes, so a solution cannot rot, or markdown with the reasoning). ``make student`` —
``python -m mailviz.student [OUT_DIR]`` — writes copies without them to ``build/student/``
(default), ready to hand out. The exercise prompts stay; nothing outside a solution cell may
depend on a name that only a solution cell defines (:func:`solution_only_names` finds such
names, and a test keeps the lessons free of them).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mailviz.lesson_files import SOLUTION_TAG, write_notebook
from mailviz.paths import build_root, project_root

__all__ = ["SOLUTION_TAG", "strip_solutions", "solution_only_names", "write_student_copies",
           "main"]  # fmt: skip

def _is_solution(cell: Any) -> bool:
    return SOLUTION_TAG in (cell.get("metadata", {}).get("tags") or [])


def strip_solutions(nb: Any) -> tuple[Any, int]:
    """A copy of notebook ``nb`` (an ``nbformat`` node) without solution cells, outputs cleared.

    Returns ``(copy, removed)`` with the number of solution cells removed.
    """
    import copy

    out = copy.deepcopy(nb)
    kept = [c for c in out.cells if not _is_solution(c)]
    removed = len(out.cells) - len(kept)
    for cell in kept:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.get("metadata", {}).pop("execution", None)
    out.cells = kept
    return out, removed


def _assigned(source: str) -> set[str]:
    """Names a cell binds at top level (assignments, imports, defs, loop targets)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _loaded(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def solution_only_names(nb: Any) -> dict[int, set[str]]:
    """Cells (index → names) that read a name which, before them, only solution cells bound.

    Such a cell breaks once ``make student`` removes the solutions; the lessons have none.
    """
    bound: set[str] = set()
    by_solution: set[str] = set()
    broken: dict[int, set[str]] = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        names = _assigned(cell.source)
        if _is_solution(cell):
            by_solution |= names - bound
            continue
        missing = (_loaded(cell.source) & by_solution) - names
        if missing:
            broken[i] = missing
        bound |= names
        by_solution -= names
    return broken


def write_student_copies(
    out_dir: str | Path | None = None, notebooks_dir: str | Path | None = None
) -> list[Path]:
    """Write every lesson without its solutions to ``out_dir`` (default ``build/student``).

    Raises:
        ValueError: there are no lessons, or a lesson reads a name only a solution defines.
    """
    import nbformat

    from mailviz.figures import list_notebooks

    source = Path(notebooks_dir) if notebooks_dir is not None else project_root() / "notebooks"
    lessons = list_notebooks(source)
    if not lessons:
        raise ValueError(f"no lessons NN_slug.ipynb in {source}; pass the notebooks folder")
    out = Path(out_dir) if out_dir is not None else build_root() / "student"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in lessons:
        nb = nbformat.read(str(path), as_version=4)
        broken = solution_only_names(nb)
        if broken:
            cell, names = next(iter(broken.items()))
            raise ValueError(
                f"{path.name}: cell {cell} reads {sorted(names)}, defined only in a solution "
                "cell; define it outside the solutions"
            )
        copy, _ = strip_solutions(nb)
        target = out / path.name
        write_notebook(target, copy)
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mailviz.student [OUT_DIR]``: write the student copies, one line each."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or any(a.startswith("-") for a in args):
        print("usage: python -m mailviz.student [OUT_DIR]   (default build/student)",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        written = write_student_copies(args[0] if args else None)
    except (ValueError, OSError) as err:
        print(f"mailviz student: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(f"{path}")
    print(f"{len(written)} student copies without solutions in {written[0].parent}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
