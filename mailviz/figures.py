"""Regenerate every figure: run the notebooks through papermill (what ``make figures`` does).

Each notebook in ``notebooks/`` named ``NN_slug.ipynb`` starts with a cell tagged ``parameters``
(``PROFILE``, ``DEVICE``, ``SEED``, ...). :func:`run_notebooks` injects ``PROFILE`` (and any extra
parameters), executes the notebook with the repository root as working directory, writes the
executed copy under ``build/notebooks/`` (git-ignored) and lets the notebook save its figures
through :func:`mailviz.plots.save` into ``figures/<notebook>/``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mailviz.checkpoint import atomic_write
from mailviz.paths import build_root, project_root

__all__ = ["list_notebooks", "notebook_parameter_names", "run_notebooks"]


def list_notebooks(notebooks_dir: str | Path | None = None) -> list[Path]:
    """The course notebooks ``NN_slug.ipynb`` in order."""
    folder = Path(notebooks_dir) if notebooks_dir is not None else project_root() / "notebooks"
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if p.is_file())


def notebook_parameter_names(notebook: str | Path) -> list[str]:
    """The names a notebook's ``parameters`` cell assigns (what papermill can inject).

    Example:
        >>> "SEED" in notebook_parameter_names(list_notebooks()[0])
        True
    """
    import ast
    import json

    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    names: list[str] = []
    for cell in nb.get("cells", []):
        if "parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        for node in ast.parse(source).body:
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AnnAssign) else [])  # fmt: skip
            for target in targets:
                if isinstance(target, ast.Name) and target.id not in names:
                    names.append(target.id)
    return names


def _check_parameters(notebooks: list[Path], parameters: dict[str, Any]) -> None:
    """Refuse a parameter no chosen notebook declares (papermill would only warn and run the
    notebook with its default — a typo such as SEDD would silently do nothing)."""
    declared: dict[str, None] = {}
    for nb in notebooks:
        declared.update(dict.fromkeys(notebook_parameter_names(nb)))
    unknown = [name for name in parameters if name not in declared]
    if unknown:
        valid = ", ".join(n for n in declared if n != "PROFILE") or "none"
        raise ValueError(
            f"unknown notebook parameter(s) {', '.join(unknown)}; the parameters cells of "
            f"{', '.join(nb.stem for nb in notebooks)} declare: {valid} (PROFILE via --profile)"
        )


def _select(notebooks: list[Path], only: Sequence[str] | None) -> list[Path]:
    if not only:
        return notebooks
    def matches(nb: Path, o: str) -> bool:
        return nb.stem == o or nb.stem.startswith(o)

    chosen = [nb for nb in notebooks if any(matches(nb, o) for o in only)]
    missing = [o for o in only if not any(matches(nb, o) for nb in notebooks)]
    if missing:
        names = ", ".join(nb.stem for nb in notebooks)
        raise ValueError(f"no notebook matches {missing}; available: {names}")
    return chosen


def run_notebooks(
    profile: str = "quick",
    only: Sequence[str] | None = None,
    *,
    notebooks_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    parameters: dict[str, Any] | None = None,
    kernel_name: str = "python3",
    verbose: bool = True,
) -> list[Path]:
    """Execute the notebooks with papermill at ``profile``; return the executed copies' paths.

    Args:
        profile: value injected as ``PROFILE`` (``smoke``, ``quick``, ``mnist``, ``paper``).
        only: notebook stems or prefixes (``["00", "04_weight"]``); all when empty.
        notebooks_dir: where the notebooks live (default ``<project>/notebooks``).
        out_dir: where executed copies go (default ``<project>/build/notebooks``).
        parameters: extra parameters injected next to ``PROFILE``.
        kernel_name: Jupyter kernel; the kernel runs this interpreter (its ``bin`` is put first
            on ``PATH`` so the ``python3`` kernelspec resolves to the same environment).
        verbose: print one line per notebook with its run time.

    Raises:
        ValueError: ``only`` names no notebook, there are no notebooks, or ``parameters``
            names a parameter that no chosen notebook's ``parameters`` cell declares.
        papermill.PapermillExecutionError: a cell failed (the message names the cell).
    """
    from mailviz.config import PROFILES, ConfigError

    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; valid: {', '.join(PROFILES)}")
    notebooks = _select(list_notebooks(notebooks_dir), only)
    if not notebooks:
        raise ValueError("no notebooks found; expected notebooks/NN_slug.ipynb files")
    _check_parameters(notebooks, dict(parameters or {}))
    out = Path(out_dir) if out_dir is not None else build_root() / "notebooks"
    out.mkdir(parents=True, exist_ok=True)
    import papermill

    bin_dir = str(Path(sys.executable).parent)
    if not os.environ.get("PATH", "").startswith(bin_dir):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("MPLBACKEND", "Agg")
    written = []
    for nb in notebooks:
        target = out / nb.name
        start = time.perf_counter()
        os.environ["MAILVIZ_NOTEBOOK"] = nb.stem  # plots.save's default sub-folder
        # papermill rewrites its output after every cell: it writes a temporary file, which
        # replaces the executed copy atomically when it is complete (also after a failed cell,
        # so the copy shows the error)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=out)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            papermill.execute_notebook(
                str(nb),
                str(tmp),
                parameters={"PROFILE": profile, **(parameters or {})},
                kernel_name=kernel_name,
                cwd=str(project_root()),
                progress_bar=False,
            )
        except Exception as err:
            err.notebook = nb.name  # type: ignore[attr-defined]  # for the CLI's one line
            raise
        finally:
            _publish(tmp, target)
        if verbose:
            print(f"{nb.name}: {time.perf_counter() - start:.1f} s -> {target}", flush=True)
        written.append(target)
    return written


def _publish(tmp: Path, target: Path) -> None:
    """Move papermill's output into place through the one atomic writer if it is a complete
    notebook (valid JSON); drop it otherwise (nothing written yet, or cut mid-save)."""
    import json

    try:
        data = tmp.read_bytes()
        json.loads(data)
    except (OSError, ValueError):
        data = None
    if data:
        atomic_write(target, lambda fh: fh.write(data), binary=True)
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()


def keep_outputs(executed: str | Path, source: str | Path, tag: str = "keep_output") -> int:
    """Copy the outputs of cells tagged ``tag`` from an executed notebook into its source.

    Notebooks are committed stripped, except the few deterministic cells nbval compares
    (tags ``nbval-check-output`` + ``keep_output``). After editing a notebook, execute it
    (``run_notebooks(only=[...])``), then call this to refresh those cells' committed outputs;
    every other cell is left stripped. Cells are matched by position and must have the same
    source. Returns the number of cells updated.
    """
    import nbformat

    run = nbformat.read(str(executed), as_version=4)
    src = nbformat.read(str(source), as_version=4)
    # papermill adds a cell tagged "injected-parameters" after the parameters cell
    run.cells = [c for c in run.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    if len(run.cells) != len(src.cells):
        raise ValueError(f"{executed} has {len(run.cells)} cells, {source} {len(src.cells)}")
    updated = 0
    for done, cell in zip(run.cells, src.cells, strict=True):
        if cell.cell_type != "code":
            continue
        if tag in cell.metadata.get("tags", []):
            if done.source != cell.source:
                raise ValueError(f"{source}: a kept cell differs from the executed copy")
            # nbval treats a cell with outputs but no execution count as "unrun": keep the count
            cell.outputs = done.outputs
            cell.execution_count = done.execution_count
            updated += 1
        else:
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    nbformat.write(src, str(source))
    return updated
