"""A pytest plugin that keeps the lessons nbval executes, outputs included.

``make test`` validates every lesson with nbval and then builds the course site from executed
lessons. Executing them a second time with papermill would cost minutes of CI for the same
cells, so this plugin writes nbval's own run to disk instead::

    pytest -p mailviz.nbval_capture --nbval-save build/notebooks --nbval-lax notebooks

Each code cell gets the outputs nbval received from the kernel (``IPyNbCell.test_outputs``) and
an execution count; the notebook's metadata records the run under ``mailviz`` (``runner:
"nbval"``, ``failed``: whether any cell failed), which :func:`mailviz.site.check_executed` reads
like papermill's record. With ``pytest-xdist`` use ``--dist loadfile`` (every cell of a notebook
in one worker); each worker writes its notebooks when its session ends. Without
``--nbval-save`` the plugin does nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

__all__: list[str] = []
_SEEN: dict[str, dict[str, Any]] = {}


def pytest_configure(config: pytest.Config) -> None:
    """With ``--nbval-save``, the kernels nbval starts draw inline (as in JupyterLab), so the
    saved lessons carry their figures as images."""
    if config.getoption("nbval_save", default=None):
        from mailviz.figures import INLINE_BACKEND

        os.environ["MPLBACKEND"] = INLINE_BACKEND


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--nbval-save", metavar="DIR", default=None,
        help="write every notebook nbval executed, with its outputs, to DIR (mailviz)",
    )  # fmt: skip


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    if call.when != "call" or not item.config.getoption("nbval_save"):
        return
    cell = getattr(item, "cell", None)
    parent = getattr(item, "parent", None)
    nb = getattr(parent, "nb", None)
    if cell is None or nb is None:  # not an nbval cell
        return
    state = _SEEN.setdefault(str(parent.fspath), {"nb": nb, "failed": False, "count": 0})
    state["count"] += 1
    cell.outputs = list(getattr(item, "test_outputs", None) or [])
    cell.execution_count = state["count"]
    for out in cell.outputs:
        if out.get("output_type") == "execute_result":
            out["execution_count"] = state["count"]
    if outcome.get_result().failed:
        state["failed"] = True


def pytest_sessionfinish(session: pytest.Session) -> None:
    folder = session.config.getoption("nbval_save")
    if not folder or not _SEEN:
        return
    from mailviz.lesson_files import NBVAL_RUNNER, write_notebook

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for source, state in _SEEN.items():
        nb = state["nb"]
        nb.metadata["mailviz"] = {"runner": NBVAL_RUNNER, "failed": bool(state["failed"])}
        write_notebook(out / Path(source).name, nb)
    _SEEN.clear()
