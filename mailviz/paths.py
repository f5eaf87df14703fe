"""Where mailviz reads and writes: dataset root, model cache, figures, build outputs.

Notebooks run with their own folder as working directory (JupyterLab) or the repository root
(papermill, ``make``); resolving every default against the project root makes both land in the
same ``data/`` and ``figures/``. Environment variables override each location:
``MAILVIZ_DATA`` (dataset root), ``MAILVIZ_CACHE`` (trained models and results),
``MAILVIZ_FIGURES`` (figure root).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "data_root", "cache_root", "figures_root", "build_root"]


def project_root() -> Path:
    """The source checkout holding this package (has ``pyproject.toml``), else the cwd."""
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").is_file() and (here / "mailviz").is_dir():
        return here
    return Path.cwd()


def data_root() -> Path:
    """Dataset root: ``$MAILVIZ_DATA`` or ``<project>/data``."""
    return Path(os.environ.get("MAILVIZ_DATA") or project_root() / "data")


def cache_root() -> Path:
    """Model and result cache: ``$MAILVIZ_CACHE`` or ``<data root>/cache``."""
    return Path(os.environ.get("MAILVIZ_CACHE") or data_root() / "cache")


def figures_root() -> Path:
    """Figure root: ``$MAILVIZ_FIGURES`` or ``<project>/figures``."""
    return Path(os.environ.get("MAILVIZ_FIGURES") or project_root() / "figures")


def build_root() -> Path:
    """Git-ignored build outputs (executed notebooks, screenshots): ``<project>/build``."""
    return project_root() / "build"
