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

__all__ = ["list_notebooks", "notebook_parameters", "notebook_parameter_names", "run_notebooks",
           "keep_outputs", "NotebookFailed", "injected_parameters", "put_interpreter_on_path"]


#: matplotlib backend of the kernels that execute the lessons (what ipykernel uses by default)
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


class NotebookFailed(RuntimeError):
    """A notebook cell raised while :func:`run_notebooks` executed it (the message names the
    notebook, the cell and the error in one line)."""


def list_notebooks(notebooks_dir: str | Path | None = None) -> list[Path]:
    """The course notebooks ``NN_slug.ipynb`` in order."""
    folder = Path(notebooks_dir) if notebooks_dir is not None else project_root() / "notebooks"
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if p.is_file())


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


def notebook_parameters(path: str | Path) -> dict[str, Any]:
    """The names and default values of a notebook's ``parameters`` cell (literals only).

    Example:
        >>> sorted(notebook_parameters(list_notebooks()[1]))[:3]  # doctest: +SKIP
        ['DEVICE', 'NOTEBOOK', 'PROFILE']
    """
    import ast

    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            out: dict[str, Any] = {}
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                        node.targets[0], ast.Name):  # fmt: skip
                    try:
                        out[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        out[node.targets[0].id] = None  # an expression, not a literal
            return out
    raise ValueError(f"{path} has no cell tagged 'parameters' (papermill needs one)")


def notebook_parameter_names(notebook: str | Path) -> list[str]:
    """The names a notebook's ``parameters`` cell assigns, in order (what papermill can inject).

    Example:
        >>> "SEED" in notebook_parameter_names(list_notebooks()[0])
        True
    """
    return list(notebook_parameters(notebook))


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


def injected_parameters(notebook: str | Path, profile: str,
                        parameters: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """What :func:`run_notebooks` injects into one notebook: ``PROFILE``, then ``SEED`` (0) and
    ``REPLICATES`` (the profile's default) and ``parameters`` where its parameters cell declares
    them (a name it does not declare is an error, as in :func:`run_notebooks`)."""
    from mailviz.config import PROFILES, ConfigError
    from mailviz.replicates import default_replicates

    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; valid: {', '.join(PROFILES)}")
    _check_parameters([Path(notebook)], dict(parameters or {}))
    return _injected(notebook_parameters(notebook), profile, default_replicates(profile),
                     parameters)  # fmt: skip


def _injected(declared: dict[str, Any], profile: str, replicates: int,
              parameters: dict[str, Any] | None) -> dict[str, Any]:  # fmt: skip
    """``PROFILE``, then ``SEED`` / ``REPLICATES`` defaults and ``parameters``, kept where the
    notebook's parameters cell (``declared``) declares them."""
    values = {"SEED": 0, "REPLICATES": replicates, **dict(parameters or {})}
    return {"PROFILE": profile, **{k: v for k, v in values.items() if k in declared}}


def put_interpreter_on_path() -> None:
    """Put this interpreter's ``bin`` first on ``PATH`` so the ``python3`` kernelspec resolves
    to the same environment (what :func:`run_notebooks` does)."""
    bin_dir = str(Path(sys.executable).parent)
    if not os.environ.get("PATH", "").startswith(bin_dir):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def _execute(nb: str, target: str, parameters: dict[str, Any], kernel_name: str,
             figures_root: str | None) -> float:  # fmt: skip
    """Run one notebook with papermill (in a worker process); returns its wall time.

    papermill rewrites its output after every cell: it writes to a temporary file, which
    replaces the executed copy atomically once complete (also after a failed cell, so the copy
    shows the error). A failed cell becomes :class:`NotebookFailed` with one line.
    """
    import papermill

    if figures_root is not None:
        os.environ["MAILVIZ_FIGURES"] = figures_root
    # kernels side by side: one OpenMP thread each unless the user chose otherwise
    os.environ.setdefault("OMP_NUM_THREADS", os.environ.get("MAILVIZ_THREADS", "1"))
    os.environ["MAILVIZ_NOTEBOOK"] = Path(nb).stem  # plots.save's default sub-folder
    # the kernel draws inline, as in JupyterLab: the executed copy carries its figures as images
    os.environ["MPLBACKEND"] = INLINE_BACKEND
    out = Path(target)
    # papermill wants an .ipynb name; the leading dot and ".tmp" mark it as a temporary
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".tmp.ipynb", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(nb, str(tmp), parameters=parameters, kernel_name=kernel_name,
                                   cwd=str(project_root()), progress_bar=False)  # fmt: skip
    except Exception as err:
        if type(err).__name__ != "PapermillExecutionError":
            raise
        evalue = " ".join(str(getattr(err, "evalue", err)).split())
        raise NotebookFailed(
            f"{Path(nb).name} failed in cell [{getattr(err, 'exec_count', '?')}]: "
            f"{getattr(err, 'ename', '')}: {evalue[:500]} — the executed copy {target} shows "
            "the cell"
        ) from None
    finally:
        _publish(tmp, out)
    return time.perf_counter() - start


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


def run_notebooks(
    profile: str = "quick",
    only: Sequence[str] | None = None,
    *,
    notebooks_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    parameters: dict[str, Any] | None = None,
    kernel_name: str = "python3",
    verbose: bool = True,
    workers: int = 2,
    prepare: bool = True,
) -> list[Path]:
    """Execute the notebooks with papermill at ``profile``; return the executed copies' paths.

    First :func:`mailviz.catalogue.prepare` trains the lessons' models and runs their cached
    evaluations in ``workers`` processes (one torch thread each); then the notebooks run,
    ``workers`` at a time, and mostly load. Every notebook gets ``PROFILE``; those whose
    parameters cell defines them also get ``SEED`` (default 0) and ``REPLICATES`` (default
    :func:`mailviz.replicates.default_replicates` of the profile), so the lessons and the
    preparation agree on the replicate seeds. Finally the lessons' ``claims.csv`` files are
    collected into ``<figures root>/claims.md``.

    Args:
        profile: value injected as ``PROFILE`` (``smoke``, ``quick``, ``mnist``, ``paper``).
        only: notebook stems or prefixes (``["00", "04_weight"]``); all when empty.
        notebooks_dir: where the notebooks live (default ``<project>/notebooks``).
        out_dir: where executed copies go (default ``<project>/build/notebooks``).
        parameters: extra parameters (``{"SEED": 10}``); a name no selected notebook defines
            is an error.
        kernel_name: Jupyter kernel; the kernel runs this interpreter (its ``bin`` is put first
            on ``PATH`` so the ``python3`` kernelspec resolves to the same environment).
        verbose: print one line per notebook with its run time, and the preparation's.
        workers: processes for the preparation and notebooks run side by side.
        prepare: run :func:`mailviz.catalogue.prepare` first (skip it for lessons that
            train nothing, or when the cache is known to be warm).

    Raises:
        ValueError: ``only`` names no notebook, there are no notebooks, or ``parameters``
            names a parameter that no chosen notebook's ``parameters`` cell declares.
        NotebookFailed: a notebook failed (one line per failed notebook: the cell and error;
            the other notebooks still run and write their figures).
    """
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from mailviz.config import PROFILES, ConfigError
    from mailviz.replicates import default_replicates

    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; valid: {', '.join(PROFILES)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r} — e.g. workers=2")
    notebooks = _select(list_notebooks(notebooks_dir), only)
    if not notebooks:
        raise ValueError("no notebooks found; expected notebooks/NN_slug.ipynb files")
    _check_parameters(notebooks, dict(parameters or {}))
    common = {"SEED": 0, "REPLICATES": default_replicates(profile), **dict(parameters or {})}
    out = Path(out_dir) if out_dir is not None else build_root() / "notebooks"
    out.mkdir(parents=True, exist_ok=True)
    put_interpreter_on_path()
    if prepare:
        from mailviz.catalogue import prepare as prepare_models

        start = time.perf_counter()
        chosen = None if not only else [nb.stem[:2] for nb in notebooks]
        times = prepare_models(profile, seed=int(common["SEED"]),
                               replicates=int(common["REPLICATES"]), workers=workers,
                               lessons=chosen, progress=verbose)  # fmt: skip
        where = build_root() / f"prepare-{profile}-seed{int(common['SEED'])}.csv"
        where.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(where, lambda fh: times.to_csv(fh, index=False))
        if verbose:
            fresh = times[~times["from_cache"]]
            print(f"prepare: {len(times)} models ({len(fresh)} trained) in "
                  f"{time.perf_counter() - start:.1f} s; training {times['train_s'].sum():.0f} s, "
                  f"evaluations {times['eval_s'].sum():.0f} s of process time (per model: "
                  f"{where})", flush=True)
    figures_root = os.environ.get("MAILVIZ_FIGURES")
    jobs = []
    for nb in notebooks:
        params = _injected(notebook_parameters(nb), profile, int(common["REPLICATES"]), parameters)
        jobs.append((nb, out / nb.name, params))
    failures: list[str] = []
    written = []
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=get_context("spawn")) as pool:
        futures = [(nb, target, pool.submit(_execute, str(nb), str(target), params, kernel_name,
                                            figures_root))
                   for nb, target, params in jobs]  # fmt: skip
        for nb, target, fut in futures:
            try:
                seconds = fut.result()
            except NotebookFailed as err:
                failures.append(str(err))
                continue
            if verbose:
                print(f"{nb.name}: {seconds:.1f} s -> {target}", flush=True)
            written.append(target)
    _write_claims_summary()
    if failures:
        raise NotebookFailed(" | ".join(failures))
    return written


def _write_claims_summary() -> None:
    from mailviz.claims import collect_markdown
    from mailviz.paths import figures_root

    root = figures_root()
    if any(root.glob("[0-9][0-9]_*/claims.csv")):
        text = collect_markdown(root)
        atomic_write(root / "claims.md", lambda fh: fh.write(text))


def keep_outputs(executed: str | Path, source: str | Path, tag: str = "keep_output") -> int:
    """Copy the outputs of cells tagged ``tag`` from an executed notebook into its source.

    Notebooks are committed stripped, except the few deterministic cells nbval compares
    (tags ``nbval-check-output`` + ``keep_output``). After editing a notebook, execute it
    (``run_notebooks(only=[...])``), then call this to refresh those cells' committed outputs;
    every other cell is left stripped. Cells are matched by position and must have the same
    source. Returns the number of cells updated.
    """
    import nbformat

    from mailviz.lesson_files import INJECTED_TAG

    run = nbformat.read(str(executed), as_version=4)
    src = nbformat.read(str(source), as_version=4)
    # papermill adds a cell tagged "injected-parameters" after the parameters cell
    run.cells = [c for c in run.cells if INJECTED_TAG not in c.metadata.get("tags", [])]
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
