"""Figures to files: PNG + SVG under ``figures/<notebook>/``, byte-identical on rerun."""

from __future__ import annotations

import os
import re
from pathlib import Path

import matplotlib as mpl
from matplotlib.figure import Figure

from mailviz.checkpoint import atomic_write
from mailviz.plots._style import SVG_HASHSALT

# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------


def save(
    fig: Figure,
    name: str,
    *,
    notebook: str | None = None,
    root: str | os.PathLike[str] | None = None,
    dpi: int = 150,
) -> tuple[Path, Path]:
    """Write ``fig`` as ``<root>/<notebook>/<name>.png`` and ``.svg``, byte-identical on rerun.

    Determinism: the PNG carries no ``Software`` (version) text and matplotlib writes no time into
    it; the SVG has no ``Date`` and a fixed ``svg.hashsalt`` (its element ids), and keeps its
    text as ``<text>`` elements (``svg.fonttype = "none"``: editable, no glyph paths). Rendering
    the same figure twice therefore gives the same bytes, so regenerating the figures leaves ``git
    status`` clean. Each file is written to a temporary name and moved into place.

    Args:
        fig: the figure.
        name: file stem (letters, digits, ``_.-``; no extension).
        notebook: sub-folder; defaults to ``$MAILVIZ_NOTEBOOK`` (set by the papermill runner),
            else ``"misc"``.
        root: figure root; defaults to :func:`mailviz.paths.figures_root` (``<project>/figures``
            or ``$MAILVIZ_FIGURES``), so notebooks and ``make figures`` write to the same place.
        dpi: PNG resolution.

    Returns:
        ``(png_path, svg_path)``.
    """
    if not isinstance(fig, Figure):
        raise ValueError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    if (
        not isinstance(name, str)
        or not re.fullmatch(r"[A-Za-z0-9_.-]+", name)
        or name.endswith((".png", ".svg"))
    ):
        raise ValueError(
            f"name must be a file stem without extension (letters, digits, _.-), got {name!r}"
        )
    notebook = notebook or os.environ.get("MAILVIZ_NOTEBOOK") or "misc"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", notebook):
        raise ValueError(f"notebook must be a folder name (letters, digits, _.-), got {notebook!r}")
    if root is None:
        from mailviz.paths import figures_root

        root = figures_root()
    folder = Path(root) / notebook
    folder.mkdir(parents=True, exist_ok=True)
    png, svg = folder / f"{name}.png", folder / f"{name}.svg"
    # svg.fonttype "none": text stays <text> elements (editable on a slide), also for figures
    # made outside plots.style() (the widgets, cells that call plt.subplots)
    with mpl.rc_context({"svg.hashsalt": SVG_HASHSALT, "svg.fonttype": "none"}):
        for target, kwargs in (
            (png, dict(format="png", dpi=dpi, metadata={"Software": None})),
            (svg, dict(format="svg", metadata={"Date": None})),
        ):
            atomic_write(target, lambda fh, kw=kwargs: fig.savefig(fh, **kw), binary=True)
    return png, svg
