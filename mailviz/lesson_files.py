"""Lesson notebooks on disk exactly as JupyterLab saves them, so opening one leaves git clean.

When JupyterLab opens a notebook and its kernel starts, it copies the kernel's identity into the
notebook's metadata; the first save (or autosave, two minutes later) writes it to disk. What
JupyterLab 4 with ipykernel 7 writes (seen by ``tests/test_browser.py``, which opens a copy,
saves it untouched and diffs the bytes):

* ``metadata.kernelspec`` = ``{"display_name": "Python 3 (ipykernel)", "language": "python",
  "name": "python3"}`` (the kernel spec ipykernel installs);
* ``metadata.language_info`` = the kernel's ``kernel_info_reply``: ``codemirror_mode``
  ``{"name": "ipython", "version": 3}``, ``file_extension`` ``".py"``, ``mimetype``
  ``"text/x-python"``, ``name`` ``"python"``, ``nbconvert_exporter`` ``"python"``,
  ``pygments_lexer`` ``"ipython3"`` and ``version``, the kernel's Python version
  (``sys.version.split()[0]``, e.g. ``"3.11.7"``);
* the file as :func:`nbformat.write` lays it out: ``nbformat_minor`` as read (5 here, which keeps
  the cell ids), keys sorted, one-space indent, non-ASCII kept, multi-line strings split into
  lists of lines, a trailing newline.

:func:`jupyterlab_metadata` builds that metadata from the running interpreter, the way ipykernel
reports it; :func:`normalise_metadata` rewrites a notebook with it (and nothing else).

**The patch version matters**: ``language_info.version`` is the patch release of the *kernel's*
Python. Normalise with the interpreter that runs the lessons' kernel (``.venv/bin/python``); a
student whose venv runs another patch release (3.11.9) gets one changed line on opening.

Run it over every lesson::

    .venv/bin/python -m mailviz.lesson_files notebooks/*.ipynb
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

#: The kernel spec ipykernel installs (``python -m ipykernel install`` / the wheel's data files).
KERNELSPEC: dict[str, str] = {
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
    "name": "python3",
}
#: The tag of an exercise's solution cells (folded on the site, removed by ``make student``).
SOLUTION_TAG = "solution"
#: The tag of the cell papermill adds after the ``parameters`` cell.
INJECTED_TAG = "injected-parameters"
#: ``metadata.mailviz.runner`` of a lesson as nbval executed it (:mod:`mailviz.nbval_capture`).
NBVAL_RUNNER = "nbval"
#: nbformat 4.5: cells carry ids (JupyterLab keeps a 4.5 file's ids and its minor version).
NBFORMAT, NBFORMAT_MINOR = 4, 5


def language_info() -> dict[str, Any]:
    """The ``language_info`` ipykernel reports for this interpreter (``kernel_info_reply``).

    Example:
        >>> info = language_info()
        >>> info["name"], info["pygments_lexer"], info["version"].count(".")
        ('python', 'ipython3', 2)
    """
    major = sys.version_info[0]
    return {
        "codemirror_mode": {"name": "ipython", "version": major},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": f"ipython{major}",
        "version": sys.version.split()[0],
    }


def jupyterlab_metadata() -> dict[str, Any]:
    """The notebook-level ``metadata`` JupyterLab saves after this interpreter's kernel started.

    Example:
        >>> sorted(jupyterlab_metadata())
        ['kernelspec', 'language_info']
    """
    return {"kernelspec": dict(KERNELSPEC), "language_info": language_info()}


def as_saved(nb: dict[str, Any]) -> str:
    """``nb`` serialised exactly as JupyterLab's server writes it (``nbformat.write``).

    Keys sorted, indent 1, ``", "``/``": "`` separators, non-ASCII kept, multi-line strings
    split into lines, a trailing newline: :func:`nbformat.writes` itself (no conversion).
    ``nb`` itself is left as it was.
    """
    import nbformat

    text = nbformat.writes(nbformat.from_dict(copy.deepcopy(nb)), version=nbformat.NO_CONVERT)
    return text if text.endswith("\n") else text + "\n"


def normalised(nb: dict[str, Any]) -> dict[str, Any]:
    """``nb`` with JupyterLab's metadata; raises a one-line error for what JupyterLab would change.

    Other metadata keys (e.g. ``papermill``, ``widgets``) are kept; JupyterLab keeps them too.
    """
    if nb.get("nbformat") != NBFORMAT or nb.get("nbformat_minor") != NBFORMAT_MINOR:
        raise ValueError(
            f"notebook is nbformat {nb.get('nbformat')}.{nb.get('nbformat_minor')}, JupyterLab "
            f"saves {NBFORMAT}.{NBFORMAT_MINOR}: open and save it in JupyterLab once, or upgrade "
            "it with `jupyter nbconvert --to notebook --inplace`"
        )
    missing = [i for i, cell in enumerate(nb.get("cells", [])) if not cell.get("id")]
    if missing:
        raise ValueError(
            f"cells {missing} have no id (JupyterLab would invent random ones): give each cell "
            "an id, e.g. with nbformat.validator.normalize"
        )
    out = dict(nb)
    out["metadata"] = {**nb.get("metadata", {}), **jupyterlab_metadata()}
    return out


def same_minor(a: str, b: str) -> bool:
    """Two ``X.Y.Z`` Python versions of one minor release (``3.11.7``, ``3.11.9``): kernels of
    either write the same metadata but for ``language_info.version``."""
    return len(a.split(".")) == 3 and a.split(".")[:2] == b.split(".")[:2]


def write_notebook(path: str | Path, nb: Any) -> None:
    """Write the ``nbformat`` node ``nb`` to ``path`` as :func:`nbformat.write` lays it out
    (trailing newline included), atomically."""
    import nbformat

    from mailviz.checkpoint import atomic_write

    text = nbformat.writes(nb)
    atomic_write(path, lambda fh: fh.write(text if text.endswith("\n") else text + "\n"))


def normalise_metadata(path: str | Path) -> bool:
    """Rewrite the notebook at ``path`` as JupyterLab would save it; True when bytes changed.

    Only the notebook metadata (``kernelspec``, ``language_info``) and the layout change; cells,
    outputs and ids are kept.
    """
    target = Path(path)
    if target.suffix != ".ipynb" or not target.is_file():
        raise ValueError(f"{target} is not a notebook file: pass notebooks/NN_name.ipynb")
    before = target.read_text(encoding="utf-8")
    try:
        after = as_saved(normalised(json.loads(before)))
    except ValueError as err:
        raise ValueError(f"{target.name}: {err}") from None
    if after == before:
        return False
    from mailviz.checkpoint import atomic_write

    atomic_write(target, lambda fh: fh.write(after))
    return True


def main(argv: list[str] | None = None) -> int:
    """``python -m mailviz.lesson_files NOTEBOOK...``: normalise each, print the changed ones."""
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m mailviz.lesson_files notebooks/*.ipynb", file=sys.stderr)
        return 2
    for path in paths:
        if normalise_metadata(path):
            print(f"normalised {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
