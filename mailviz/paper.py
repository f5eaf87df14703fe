"""The seeds' published numbers, kept as data (``mailviz/paper_numbers/<paper>.json``).

Notebooks print these beside their own quick-scale results, always labelled with the dataset,
model and scale they come from (e.g. "CIFAR-10 / ResNet-18, paper scale"), never mixed into
our measurements. Each JSON file maps a table id to::

    {"title": ..., "source": "MAIL appendix Table 5", "dataset": ..., "model": ...,
     "note": ..., "rows": [{"<column>": value, ...}, ...]}
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["PAPERS", "paper_table", "paper_tables", "paper_label"]

_FOLDER = Path(__file__).with_name("paper_numbers")
PAPERS = ("mail", "zeng")


@cache
def _load(paper: str) -> dict[str, Any]:
    if paper not in PAPERS:
        raise ValueError(f"unknown paper {paper!r}; valid: {', '.join(PAPERS)}")
    return json.loads((_FOLDER / f"{paper}.json").read_text())


def paper_tables(paper: str) -> list[str]:
    """Table ids available for ``paper`` (``"mail"`` or ``"zeng"``)."""
    return sorted(_load(paper))


def paper_table(paper: str, table: str) -> pd.DataFrame:
    """One published table as a DataFrame; ``.attrs`` holds title, source, dataset and model.

    Example:
        >>> paper_table("mail", "table5").attrs["dataset"]
        'CIFAR-10'
    """
    tables = _load(paper)
    if table not in tables:
        raise ValueError(f"unknown table {table!r} for {paper}; valid: {', '.join(sorted(tables))}")
    entry = tables[table]
    frame = pd.DataFrame(entry["rows"])
    frame.attrs.update({k: v for k, v in entry.items() if k != "rows"})
    return frame


def paper_label(paper: str, table: str) -> str:
    """``"<source> — <dataset> / <model>, paper scale"`` for captions and column headers."""
    attrs = paper_table(paper, table).attrs
    return f"{attrs['source']} — {attrs['dataset']} / {attrs['model']}, paper scale"
