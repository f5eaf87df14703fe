"""The course site: a static, offline Sphinx site built from the executed lessons (``make site``).

:func:`build_site` reads the executed copies in ``build/notebooks/`` (papermill's, from ``make
figures``, or nbval's, from ``make test``), stages
them with the static pages of ``docs/`` in ``build/site-src/`` and runs Sphinx (myst-nb, the book
theme, MathJax served from the site itself) into ``build/site/``. Staging transforms each lesson
(:func:`transform_lesson`) so that the pages need nothing from the network and keep the exercises
closed:

* papermill's ``injected-parameters`` cell becomes one line naming the values the page ran with;
* widget outputs and the notebook's saved widget state are removed: a static page cannot run the
  kernel behind a widget, and rendering the state would pull require.js and the widget manager
  from a CDN. A widget the lesson also saves as a figure (:data:`WIDGET_SNAPSHOTS`) is replaced
  by that figure, captioned as a snapshot;
* cells tagged ``solution`` are collapsed: code cells behind a "Show the solution" toggle
  (myst-nb's ``hide-cell``), markdown cells inside a dropdown admonition.

Example:
    >>> build_site()  # doctest: +SKIP
    site: 12 pages (10 lessons) in build/site, ... s
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailviz.checkpoint import atomic_write
from mailviz.figures import list_notebooks
from mailviz.lesson_files import INJECTED_TAG, NBVAL_RUNNER, SOLUTION_TAG
from mailviz.paths import build_root, figures_root, project_root

__all__ = ["SiteError", "WidgetSnapshot", "WIDGET_SNAPSHOTS", "build_site", "check_executed",
           "transform_lesson", "lesson_title", "earlier_lessons", "landing_page",
           "stage_sources", "run_sphinx"]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
#: where the staged copies of the figures a lesson's widgets are replaced with go (site source)
SNAPSHOT_DIR = "_figures"
#: what the fix for missing or incomplete executed lessons is
RUN_FIGURES = "run `make figures` first"
_LESSON_MARKER = "<!-- learning-path -->"
_TOCTREE_MARKER = "<!-- toctree -->"


class SiteError(ValueError):
    """The site cannot be built from what is there; the message is one line naming the fix."""


@dataclass(frozen=True)
class WidgetSnapshot:
    """A widget a lesson displays and the figure(s) the same lesson saves of it.

    ``cell_pattern`` is a regular expression searched (``re.M``: ``^`` is any line start) in the
    source of the cell that displayed the widget; ``figures`` are file names under
    ``<figures root>/<lesson>/``.
    """

    cell_pattern: str
    figures: tuple[str, ...]
    widget: str


#: lesson stem -> the widgets it displays that have a saved static snapshot
WIDGET_SNAPSHOTS: dict[str, tuple[WidgetSnapshot, ...]] = {
    "03_weight_functions": (
        WidgetSnapshot(r"^explorer = widgets\.weight_explorer\(", ("explorer_sigmoid.png",),
                       "weight-function explorer"),
        WidgetSnapshot(r"^playground = widgets\.pgd_playground\(", ("pgd_paths.png",),
                       "PGD-path playground"),
    ),
}


# ------------------------------------------------------------------------------------------------
# Checking the executed lessons
# ------------------------------------------------------------------------------------------------


def check_executed(notebooks_dir: Path, lessons: Sequence[str]) -> list[Path]:
    """The executed copy of every lesson in ``lessons`` (stems), in order.

    An executed copy comes from papermill (``make figures``) or from nbval's run in ``make test``
    (:mod:`mailviz.nbval_capture`). Raises :class:`SiteError` (one line, ending in "run `make
    figures` first") when the folder is missing, a lesson has no executed copy, a copy is not
    valid JSON or was never executed, or its run stopped on an exception.
    """
    import nbformat

    if not notebooks_dir.is_dir():
        raise SiteError(f"no executed lessons: {notebooks_dir} does not exist — {RUN_FIGURES}")
    missing = [s for s in lessons if not (notebooks_dir / f"{s}.ipynb").is_file()]
    if missing:
        raise SiteError(f"{notebooks_dir} lacks {len(missing)} of {len(lessons)} executed "
                        f"lessons ({', '.join(missing)}) — {RUN_FIGURES}")
    paths = [notebooks_dir / f"{s}.ipynb" for s in lessons]
    for path in paths:
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception as err:  # nbformat raises several types for damaged files
            raise SiteError(f"{path} is not a readable notebook ({type(err).__name__}) — "
                            f"{RUN_FIGURES}") from None
        run = nb.metadata.get("papermill", {})
        checked = nb.metadata.get("mailviz", {})  # nbval's run, kept by mailviz.nbval_capture
        if not run and checked.get("runner") != NBVAL_RUNNER:
            raise SiteError(f"{path} was not executed by papermill or nbval — {RUN_FIGURES}")
        if run.get("exception") or checked.get("failed"):
            raise SiteError(f"{path} stopped on an error when it was executed — {RUN_FIGURES}")
    return paths


def _stale_note(executed: Any, source: Path) -> str | None:
    """A note when the lesson's cells changed since its executed copy was made (else ``None``)."""
    import nbformat

    if not source.is_file():
        return None
    current = [c.source for c in nbformat.read(str(source), as_version=4).cells]
    ran = [c.source for c in executed.cells if INJECTED_TAG not in c.metadata.get("tags", [])]
    if current == ran:
        return None
    return f"note: {source.name} changed after its executed copy was made; rerun `make figures`"


# ------------------------------------------------------------------------------------------------
# Transforming one lesson
# ------------------------------------------------------------------------------------------------


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _snapshot_cell(snap: WidgetSnapshot, stem: str, figures_dir: Path) -> tuple[Any, list[Path]]:
    """A markdown cell showing ``snap``'s saved figure(s) and the files it refers to."""
    import nbformat

    files = [figures_dir / stem / name for name in snap.figures]
    absent = [str(f) for f in files if not f.is_file()]
    if absent:
        raise SiteError(f"the saved snapshot {absent[0]} of lesson {stem}'s {snap.widget} is "
                        f"missing — {RUN_FIGURES}")
    blocks = []
    for f in files:
        blocks.append(
            f":::{{figure}} {SNAPSHOT_DIR}/{stem}/{f.name}\n"
            f":alt: saved snapshot of the {snap.widget}\n\n"
            f"A saved snapshot of the interactive {snap.widget} (`{f.name}`). In JupyterLab "
            f"the widget is live: run the lesson to move its controls.\n:::"
        )
    # a fixed id (nbformat draws random ones) keeps the staged copy byte-identical from one
    # build to the next, so Sphinx's incremental build skips the unchanged lessons
    cell_id = "snapshot-" + "-".join(f.stem for f in files)
    return nbformat.v4.new_markdown_cell("\n\n".join(blocks), id=cell_id), files


def _drop_widgets(cell: Any) -> bool:
    """Remove ``cell``'s widget outputs in place; whether it had any."""
    outputs = cell.get("outputs", [])
    kept = [o for o in outputs if WIDGET_MIME not in o.get("data", {})]
    cell["outputs"] = kept
    return len(kept) < len(outputs)


def _collapse_solution(cell: Any) -> Any:
    """A ``solution`` cell made collapsed: code behind myst-nb's ``hide-cell`` toggle, markdown
    inside a dropdown admonition (fences one colon longer than any inside the text)."""
    cell = copy.deepcopy(cell)
    if cell.cell_type == "code":
        tags = _tags(cell)
        cell.metadata["tags"] = tags + ([] if "hide-cell" in tags else ["hide-cell"])
        cell.metadata["mystnb"] = {"code_prompt_show": "Show the solution",
                                   "code_prompt_hide": "Hide the solution"}
        return cell
    longest = max((len(m) for m in re.findall(r"^\s*(:{3,})", cell.source, flags=re.M)),
                  default=2)
    fence = ":" * max(3, longest + 1)
    cell.source = (f"{fence}{{admonition}} Solution\n:class: dropdown\n\n"
                   f"{cell.source.strip()}\n{fence}")
    return cell


def _executed_with(parameters: dict[str, Any] | None) -> list[Any]:
    """A markdown cell naming the parameters papermill injected (none when it recorded none)."""
    import nbformat

    if not parameters:
        return []
    values = ", ".join(f"`{name} = {value!r}`" for name, value in parameters.items())
    text = f"*This page shows the lesson as executed with* {values}."
    return [nbformat.v4.new_markdown_cell(text, id="executed-with")]  # fixed ids: see below


def transform_lesson(nb: Any, stem: str, figures_dir: Path) -> tuple[Any, list[Path]]:
    """The site's copy of the executed lesson ``nb`` and the figure files it now refers to.

    Replaces the ``injected-parameters`` cell with one line naming the values the page was
    executed with (papermill's record); drops every widget output and ``metadata.widgets``; after
    a cell that displayed a widget listed in :data:`WIDGET_SNAPSHOTS` for ``stem`` it inserts the
    saved figure(s) from ``figures_dir/<stem>/`` with a caption; collapses ``solution`` cells.
    ``nb`` is left as it was.
    """
    out = copy.deepcopy(nb)
    out.metadata.pop("widgets", None)
    snapshots = WIDGET_SNAPSHOTS.get(stem, ())
    cells, figures = [], []
    for cell in out.cells:
        if INJECTED_TAG in _tags(cell):
            cells.extend(_executed_with(out.metadata.get("papermill", {}).get("parameters")))
            continue
        had_widget = cell.cell_type == "code" and _drop_widgets(cell)
        cell.metadata.pop("widgets", None)
        cells.append(_collapse_solution(cell) if SOLUTION_TAG in _tags(cell) else cell)
        for snap in snapshots if had_widget else ():
            if re.search(snap.cell_pattern, cell.source, flags=re.M):
                extra, files = _snapshot_cell(snap, stem, figures_dir)
                cells.append(extra)
                figures.extend(files)
    out.cells = cells
    return out, figures


# ------------------------------------------------------------------------------------------------
# The landing page
# ------------------------------------------------------------------------------------------------


def lesson_title(nb: Any, stem: str) -> str:
    """The text of the lesson's first markdown heading, without its ``NN —`` prefix."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        match = re.search(r"^#{1,6}\s+(.+?)\s*#*\s*$", cell.source, flags=re.M)
        if match:
            return re.sub(rf"^{stem[:2]}\s*[—–:-]\s*", "", match.group(1)).strip()
    raise SiteError(f"lesson {stem} has no markdown heading to title its page")


def earlier_lessons(nb: Any, stem: str) -> list[str]:
    """Numbers of the earlier lessons ``nb``'s markdown refers to ("notebooks 04–05", "lesson
    06", "lessons 05 and 06"), sorted."""
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    found: set[int] = set()
    pattern = r"\b(?:notebooks?|lessons?)\s+(\d\d(?:\s*(?:–|-|,|and|or)\s*\d\d)*)"
    for group in re.findall(pattern, text, flags=re.I):
        numbers = [int(n) for n in re.findall(r"\d\d", group)]
        found.update(numbers)
        for a, b in zip(numbers, numbers[1:], strict=False):  # "04–07" is a range
            if re.search(rf"{a:02d}\s*[–-]\s*{b:02d}", group):
                found.update(range(a, b + 1))
    return [f"{n:02d}" for n in sorted(found) if n < int(stem[:2])]


def landing_page(template: str, lessons: Sequence[tuple[str, str, list[str]]]) -> str:
    """``template`` (docs/index.md) with its learning path and toctree markers filled in from
    ``lessons``: (stem, title, earlier lessons it refers to)."""
    for marker in (_LESSON_MARKER, _TOCTREE_MARKER):
        if marker not in template:
            raise SiteError(f"docs/index.md lacks the marker {marker}; restore it")
    rows = []
    for stem, title, earlier in lessons:
        after = f" *(builds on {', '.join(earlier)})*" if earlier else ""
        rows.append(f"- **{stem[:2]}** [{title}]({stem}.ipynb){after}")
    toc = "\n".join(["```{toctree}", ":maxdepth: 1", ":caption: Lessons", ":hidden:", "",
                     *(s for s, _, _ in lessons), "```", "",
                     "```{toctree}", ":maxdepth: 1", ":caption: Background", ":hidden:", "",
                     "authors_code", "```"])
    return template.replace(_LESSON_MARKER, "\n".join(rows)).replace(_TOCTREE_MARKER, toc)


# ------------------------------------------------------------------------------------------------
# Staging and building
# ------------------------------------------------------------------------------------------------


def _write_if_changed(path: Path, data: bytes) -> None:
    """Write ``data`` unless ``path`` holds it already (unchanged sources keep their mtime, so
    Sphinx's incremental build skips them)."""
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: fh.write(data), binary=True)


def stage_sources(executed: Sequence[Path], src_dir: Path, figures_dir: Path,
                  docs_dir: Path) -> list[str]:
    """Write the Sphinx sources into ``src_dir``: ``docs_dir``'s files (``index.md`` filled in)
    and the transformed lessons with their snapshot figures; returns the notes for stale copies.
    Files in ``src_dir`` not written this time are removed."""
    import nbformat

    wanted: set[Path] = set()
    entries, notes = [], []
    for path in executed:
        nb = nbformat.read(str(path), as_version=4)
        note = _stale_note(nb, project_root() / "notebooks" / path.name)
        notes += [note] if note else []
        staged, figures = transform_lesson(nb, path.stem, figures_dir)
        target = src_dir / path.name
        _write_if_changed(target, nbformat.writes(staged).encode())
        wanted.add(target)
        for fig in figures:
            copy_to = src_dir / SNAPSHOT_DIR / path.stem / fig.name
            _write_if_changed(copy_to, fig.read_bytes())
            wanted.add(copy_to)
        entries.append((path.stem, lesson_title(nb, path.stem), earlier_lessons(nb, path.stem)))
    for doc in sorted(p for p in docs_dir.rglob("*") if p.is_file() and "__pycache__" not in
                      p.parts):  # fmt: skip
        target = src_dir / doc.relative_to(docs_dir)
        data = doc.read_bytes()
        if doc.relative_to(docs_dir) == Path("index.md"):
            data = landing_page(data.decode(), entries).encode()
        _write_if_changed(target, data)
        wanted.add(target)
    for old in [p for p in src_dir.rglob("*") if p.is_file() and p not in wanted]:
        if not old.relative_to(src_dir).parts[0].startswith(("_doctrees", "sphinx.log")):
            old.unlink()
    return notes


def run_sphinx(src_dir: Path, out_dir: Path) -> None:
    """``sphinx-build -b html -W --keep-going -q`` in a subprocess of this interpreter.

    Doctrees are cached in ``src_dir/_doctrees`` (a rebuild redoes only changed lessons). Warnings
    are errors: on any, the full log stays in ``src_dir/sphinx.log`` and :class:`SiteError` names
    the first one.
    """
    log = src_dir / "sphinx.log"
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
           "-d", str(src_dir / "_doctrees"), str(src_dir), str(out_dir)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=src_dir, check=False)
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        problems = [line for line in done.stderr.splitlines() if line.strip()]
        first = problems[0] if problems else f"exit status {done.returncode}"
        raise SiteError(f"sphinx-build failed ({len(problems)} warning/error lines; full log "
                        f"{log}): {first}")


def build_site(
    notebooks_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    figures_dir: str | Path | None = None,
    *,
    lessons: Sequence[str] | None = None,
    src_dir: str | Path | None = None,
    docs_dir: str | Path | None = None,
) -> Path:
    """Build the course site; returns the path of its ``index.html``.

    Args:
        notebooks_dir: the executed lessons (default ``build/notebooks``, what ``make figures``
            writes).
        out_dir: the site (default ``build/site``).
        figures_dir: the figure root the widget snapshots are read from (default the figures
            root, ``figures/`` or ``$MAILVIZ_FIGURES``).
        lessons: the lesson stems the site must hold (default every ``notebooks/NN_*.ipynb``).
        src_dir: the staging folder of the Sphinx sources (default ``build/site-src``).
        docs_dir: the static pages and ``conf.py`` (default ``docs/``).

    Raises:
        SiteError: one line naming the fix (missing or failed lessons: run `make figures`
            first; a Sphinx warning: the first one and where the full log is).
    """
    start = time.perf_counter()
    notebooks = Path(notebooks_dir) if notebooks_dir is not None else build_root() / "notebooks"
    out = Path(out_dir) if out_dir is not None else build_root() / "site"
    figures = Path(figures_dir) if figures_dir is not None else figures_root()
    src = Path(src_dir) if src_dir is not None else build_root() / "site-src"
    docs = Path(docs_dir) if docs_dir is not None else project_root() / "docs"
    stems = list(lessons) if lessons is not None else [p.stem for p in list_notebooks()]
    if not stems:
        raise SiteError("no lessons to build a site from (notebooks/NN_*.ipynb)")
    if not (docs / "conf.py").is_file():
        raise SiteError(f"{docs / 'conf.py'} is missing: the site needs docs/ from the repository")
    executed = check_executed(notebooks, stems)
    src.mkdir(parents=True, exist_ok=True)
    for note in stage_sources(executed, src, figures, docs):
        print(note)
    run_sphinx(src, out)
    pages = sum(1 for p in out.glob("*.html") if p.name not in {"search.html", "genindex.html"})
    print(f"site: {pages} pages ({len(stems)} lessons) in {out}, "
          f"{time.perf_counter() - start:.1f} s")
    return out / "index.html"

