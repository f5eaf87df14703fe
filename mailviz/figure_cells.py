"""Which notebook cell makes which figure, and regenerating one figure on its own.

A figure belongs to the lesson cell that calls ``plots.save(<fig>, "<name>", ...)``. The cells'
source is parsed with :mod:`ast` (never run): a constant name is the figure's name; an f-string
(``f"samples_{name}"``) or a loop variable becomes a glob pattern (``samples_*``) — expanded when
the loop runs over literal values (``for name in ("sigmoid", "hinge")``), else matched against
the figures the lesson is known to produce (``figures/<lesson>/*.png``) or reported as a pattern.

:func:`regenerate` executes a trimmed copy of the lesson — the cells up to and including the
figure's cell — with papermill at a profile (the machinery of :mod:`mailviz.figures`), into a
temporary figure folder, and copies only the requested ``NAME.png`` / ``NAME.svg`` into
``<figures root>/<lesson>/``.

Example:
    >>> [f.name for f in save_calls('plots.save(fig, f"explorer_{n}")  # doctest: +SKIP')]
    ['explorer_*']
"""

from __future__ import annotations

import ast
import difflib
import fnmatch
import itertools
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailviz.figures import list_notebooks

__all__ = ["FigureCell", "SaveCall", "save_calls", "figure_cells", "find_figure", "regenerate"]


@dataclass(frozen=True)
class SaveCall:
    """One name a ``plots.save`` call writes: exact, or a glob pattern (``pattern=True``)."""

    name: str
    pattern: bool


@dataclass(frozen=True)
class FigureCell:
    """A figure and the cell that saves it: ``lesson`` (notebook stem), ``name`` (file stem, or
    a glob pattern when ``pattern``), ``cell`` (0-based index into the notebook's cells)."""

    lesson: str
    name: str
    cell: int
    pattern: bool = False

    @property
    def key(self) -> str:
        """``<lesson>/<name>``."""
        return f"{self.lesson}/{self.name}"


def _is_save(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr == "save" and isinstance(func.value, ast.Name) and func.value.id == "plots"
    return isinstance(func, ast.Name) and func.id == "save"


def _literal_strings(node: ast.AST) -> list[str] | None:
    """``("a", "b")`` / ``["a", "b"]`` → ``["a", "b"]``; anything else ``None``."""
    if isinstance(node, (ast.Tuple, ast.List)) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return [e.value for e in node.elts]  # type: ignore[attr-defined]
    return None


def _loop_values(tree: ast.AST) -> dict[str, list[str]]:
    """Loop variables bound to literal strings: ``for n in ("a", "b")`` and
    ``for n, x in zip(("a", "b"), ...)``."""
    out: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, (ast.For, ast.comprehension)):
            continue
        target, it = node.target, node.iter
        if isinstance(target, ast.Name) and (values := _literal_strings(it)) is not None:
            out[target.id] = values
        elif (isinstance(target, ast.Tuple) and isinstance(it, ast.Call)
              and isinstance(it.func, ast.Name) and it.func.id == "zip"):  # fmt: skip
            for element, arg in zip(target.elts, it.args, strict=False):
                if isinstance(element, ast.Name) and (values := _literal_strings(arg)) is not None:
                    out[element.id] = values
    return out


#: stands for the unknown part of a name (an f-string field or a variable the parser cannot
#: resolve); figure names are letters, digits and ``_.-`` (``plots.save``), so ``*`` is free
_ANY = "*"


def _alternatives(node: ast.AST, loops: dict[str, list[str]]) -> list[str]:
    """The strings an expression can be; :data:`_ANY` stands for an unknown part."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name):
        return list(loops.get(node.id, [])) or [_ANY]
    if isinstance(node, ast.FormattedValue):
        return _alternatives(node.value, loops)
    if isinstance(node, ast.JoinedStr):
        parts = [_alternatives(v, loops) for v in node.values]
        return ["".join(p) for p in itertools.product(*parts)]
    return [_ANY]


def save_calls(source: str) -> list[SaveCall]:
    """The figure names the ``plots.save`` calls of one cell's source write (in order).

    Raises:
        SyntaxError: the source does not parse (IPython magics are dropped first).
    """
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    tree = ast.parse("\n".join(lines))
    loops = _loop_values(tree)
    out: list[SaveCall] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _is_save(node)):
            continue
        arg = node.args[1] if len(node.args) > 1 else next(
            (k.value for k in node.keywords if k.arg == "name"), None)  # fmt: skip
        if arg is not None:
            out += [SaveCall(alt, _ANY in alt) for alt in _alternatives(arg, loops)]
    return list(dict.fromkeys(out))


def _known(figures_dir: Path, lesson: str) -> list[str]:
    return sorted(p.stem for p in (figures_dir / lesson).glob("*.png"))


def figure_cells(
    notebooks_dir: str | Path | None = None, figures_dir: str | Path | None = None
) -> list[FigureCell]:
    """Every figure the lessons save, with its cell, in notebook and cell order.

    Patterns are matched against ``<figures_dir>/<lesson>/*.png`` (default: the committed
    ``figures/``); a pattern that matches no file is kept as a pattern.
    """
    import nbformat

    from mailviz.paths import project_root

    root = Path(figures_dir) if figures_dir is not None else project_root() / "figures"
    out: list[FigureCell] = []
    for nb_path in list_notebooks(notebooks_dir):
        nb = nbformat.read(str(nb_path), as_version=4)
        known = _known(root, nb_path.stem)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or "save" not in cell.source:
                continue
            try:
                calls = save_calls(cell.source)
            except SyntaxError:
                continue
            for call in calls:
                matches = fnmatch.filter(known, call.name) if call.pattern else []
                if matches:
                    out += [FigureCell(nb_path.stem, m, index) for m in matches]
                else:
                    out.append(FigureCell(nb_path.stem, call.name, index, call.pattern))
    return out


def find_figure(name: str, cells: list[FigureCell]) -> FigureCell:
    """The cell of ``name`` (``samples_digits`` or ``00_tour/samples_digits``; a name a
    pattern such as ``samples_*`` covers also counts).

    Raises:
        ValueError: unknown or ambiguous name — one line with the close matches.
    """
    lesson, _, stem = name.rpartition("/")

    def fits(c: FigureCell) -> bool:
        same = fnmatch.fnmatchcase(stem, c.name) if c.pattern else c.name == stem
        return same and (not lesson or c.lesson == lesson or c.lesson.startswith(lesson))

    found = list(dict.fromkeys(c for c in cells if fits(c)))
    exact = [c for c in found if not c.pattern]
    found = exact or found
    if len(found) == 1:
        c = found[0]
        return FigureCell(c.lesson, stem, c.cell) if c.pattern else c
    keys = [c.key for c in cells]
    if found:
        raise ValueError(f"figure {name!r} is in several lessons: "
                         f"{', '.join(c.key for c in found)} — give <lesson>/<name>")  # fmt: skip
    close = difflib.get_close_matches(name, keys, n=5, cutoff=0.5) or [
        c.key for n in difflib.get_close_matches(stem, [c.name for c in cells], n=5, cutoff=0.5)
        for c in cells if c.name == n]  # fmt: skip
    hint = f"close matches: {', '.join(close)}" if close else "no close match"
    raise ValueError(f"unknown figure {name!r}; {hint} (`mailviz figures --list` shows all)")


def trimmed_notebook(path: Path, cell: int, target: Path) -> Path:
    """Write the notebook at ``path`` cut after cell ``cell`` (0-based) to ``target``."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    nb.cells = nb.cells[: cell + 1]
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return target


def regenerate(
    name: str,
    profile: str = "quick",
    *,
    parameters: dict[str, Any] | None = None,
    notebooks_dir: str | Path | None = None,
    prepare: bool = False,
    workers: int = 1,
    verbose: bool = True,
) -> tuple[list[Path], float]:
    """Regenerate one figure: run its lesson up to its cell, copy only ``NAME.png``/``.svg``.

    The trimmed lesson runs through papermill (``mailviz.figures``' runner, inline backend, one
    kernel in a worker process) with its figures going to a temporary folder; the two files are
    then written atomically into ``<figures root>/<lesson>/`` (``$MAILVIZ_FIGURES`` or
    ``figures/``). Nothing else is touched: no other figure, no ``claims.csv``, no executed copy.

    Args:
        name: ``name`` or ``lesson/name`` (see ``mailviz figures --list``).
        profile: injected as ``PROFILE``.
        parameters: extra notebook parameters (``{"SEED": 1}``).
        notebooks_dir: where the lessons live (default ``notebooks/``).
        prepare: first train / evaluate the lesson's models (:func:`mailviz.catalogue.prepare`).
        workers: processes for that preparation.
        verbose: print what was written and the seconds taken.

    Returns:
        The written paths and the seconds taken.

    Raises:
        ValueError: unknown figure name (one line with close matches), or the lesson ran but
            wrote no such figure.
        mailviz.figures.NotebookFailed: a cell of the trimmed lesson raised.
    """
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from mailviz import figures
    from mailviz.checkpoint import atomic_write
    from mailviz.paths import figures_root

    start = time.perf_counter()
    figure = find_figure(name, figure_cells(notebooks_dir))
    source = next(p for p in list_notebooks(notebooks_dir) if p.stem == figure.lesson)
    params = figures.injected_parameters(source, profile, parameters)
    if prepare:
        from mailviz.catalogue import prepare as prepare_models

        prepare_models(profile, seed=int(params.get("SEED", 0)),
                       replicates=int(params.get("REPLICATES", 1)), workers=workers,
                       lessons=[figure.lesson[:2]], progress=verbose)  # fmt: skip
    figures.put_interpreter_on_path()
    with tempfile.TemporaryDirectory(prefix="mailviz-figure-") as tmp:
        work = Path(tmp)
        nb = trimmed_notebook(source, figure.cell, work / "notebooks" / source.name)
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            pool.submit(figures._execute, str(nb), str(work / "executed.ipynb"), params,
                        "python3", str(work / "figures")).result()  # fmt: skip
        out = work / "figures" / figure.lesson
        made = [out / f"{figure.name}{ext}" for ext in (".png", ".svg")]
        if not all(p.is_file() for p in made):
            raise ValueError(f"{figure.lesson} cell {figure.cell + 1} ran but wrote no "
                             f"{figure.name}.png/.svg — check the name (`mailviz figures --list`)")
        folder = figures_root() / figure.lesson
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for path in made:
            data = path.read_bytes()
            atomic_write(folder / path.name, lambda fh, d=data: fh.write(d), binary=True)
            written.append(folder / path.name)
    seconds = time.perf_counter() - start
    if verbose:
        shown = ", ".join(str(p) if os.path.relpath(p).startswith("..") else os.path.relpath(p)
                          for p in written)  # fmt: skip
        print(f"wrote {shown} ({figure.lesson} cells 1–{figure.cell + 1} at {profile}) "
              f"in {seconds:.1f} s", flush=True)
    return written, seconds


def listing(cells: list[FigureCell]) -> str:
    """``mailviz figures --list``: one line per figure, ``<lesson>/<name>`` and its cell."""
    width = max((len(c.key) for c in cells), default=0)
    return "\n".join(f"{c.key:<{width}}  lesson {c.lesson[:2]}, cell {c.cell + 1}"
                     f"{'  (pattern)' if c.pattern else ''}" for c in cells)  # fmt: skip
