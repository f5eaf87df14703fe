"""mailviz.nbval_capture: nbval's run of a notebook is written out with its outputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat


def _run(folder: Path, cells: list[str]) -> tuple[int, Path]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# demo"), *map(nbformat.v4.new_code_cell, cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    source = folder / "01_demo.ipynb"
    nbformat.write(nb, str(source))
    out = folder / "saved"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-p", "mailviz.nbval_capture", "--nbval-save", str(out),
         "--nbval-lax", "--nbval-current-env", str(source)],
        cwd=folder, capture_output=True, text=True, timeout=240,
        env={**os.environ, "MPLBACKEND": "Agg"},  # as `make test` exports it
    )  # fmt: skip
    return proc.returncode, out / "01_demo.ipynb"


def test_outputs_and_record_are_saved(tmp_path: Path) -> None:
    code, saved = _run(tmp_path, ["x = 41\nprint('hello')", "x + 1",
                                  "import matplotlib.pyplot as plt\nplt.plot([0, 1]);"])
    assert code == 0
    nb = nbformat.read(str(saved), as_version=4)
    assert nb.metadata["mailviz"] == {"runner": "nbval", "failed": False}
    first, second = nb.cells[1], nb.cells[2]
    assert first.outputs[0]["output_type"] == "stream" and first.outputs[0]["text"] == "hello\n"
    assert second.outputs[0]["data"]["text/plain"] == "42"
    assert [first.execution_count, second.execution_count] == [1, 2]
    assert second.outputs[0]["execution_count"] == 2
    # the plugin switches the kernels to the inline backend: the figure is kept as an image
    assert any("image/png" in o.get("data", {}) for o in nb.cells[3].outputs)
    nbformat.validate(nb)


def test_a_failing_cell_is_recorded(tmp_path: Path) -> None:
    code, saved = _run(tmp_path, ["raise ValueError('boom')"])
    assert code != 0
    nb = nbformat.read(str(saved), as_version=4)
    assert nb.metadata["mailviz"]["failed"] is True
    assert nb.cells[1].outputs[0]["output_type"] == "error"
