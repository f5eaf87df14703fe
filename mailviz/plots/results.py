"""Results: accuracy with replicate error bars, and MAIL's Tables 4–7 as a pandas Styler."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mailviz.plots._style import (
    _fmt,
    _replicate_stats,
    _replicates_note,
    _require,
    _subplots,
    attack_label,
    style,
)


def accuracy_errorbars(
    frame: pd.DataFrame,
    *,
    row: str = "model",
    col: str = "attack",
    value: str = "value",
    title: str | None = None,
) -> Figure:
    """The comparison of a MAIL results table (Tables 4–7) as a dot plot with error bars.

    One panel per attack column (NAT, PGD-20, AA…), one row per method: each replicate as a
    small grey dot, the mean as a large dot with ± one standard deviation. Rows keep the
    table's order. ``frame`` is :func:`mailviz.analysis.evaluate_runs`' tidy frame.
    """
    _require(frame, [row, col, value], "accuracy_errorbars")
    df = frame[frame["metric"] == "accuracy"] if "metric" in frame.columns else frame
    from mailviz.plots.colors import series_styles

    rows = list(dict.fromkeys(df[row]))
    cols = list(dict.fromkeys(df[col]))
    looks = series_styles([str(r) for r in rows])  # each method in its fixed colour
    note = _replicates_note(df)
    with style():
        height = min(5.6, 1.6 + 0.45 * len(rows))
        fig, axes = _subplots(1, len(cols), figsize=(10.0, height), sharey=True)
        for j, c in enumerate(cols):
            ax = axes[0, j]
            part = df[df[col] == c]
            stats = _replicate_stats(part, [row], value).set_index(row).reindex(rows)
            ypos = np.arange(len(rows))
            for i, r in enumerate(rows):
                dots = part[part[row] == r][value].to_numpy(dtype=float)
                ax.plot(dots, np.full(dots.shape, i), "o", ms=4, color="0.6", zorder=1)
                ax.errorbar(stats.loc[r, "mean"], i, xerr=stats.loc[r, "std"],
                            fmt=looks[i].marker, ms=8, capsize=3, color=looks[i].color,
                            zorder=2)  # fmt: skip
            ax.set_yticks(ypos, [str(r) for r in rows])
            ax.set_ylim(len(rows) - 0.5, -0.5)  # first row on top
            ax.set_title(attack_label(str(c)))
        fig.supxlabel("accuracy (%)")
        heading = title or "Accuracy per method"
        fig.suptitle(f"{heading}{' — ' + note if note else ''}")
    return fig


def results_table(  # long: one Styler layout of MAIL Tables 4–7, formatting options in one place
    frame: pd.DataFrame,
    *,
    paper: pd.DataFrame | Mapping[str, Mapping[str, Any]] | None = None,
    row: str = "model",
    col: str = "attack",
    value: str = "value",
    group: str | None = None,
    decimals: int = 2,
    caption: str | None = None,
) -> Any:
    """Accuracy table in the layout of MAIL's Tables 4–7: methods as rows, NAT/PGD/AA columns.

    ``frame`` is tidy (e.g. :func:`mailviz.evaluate.evaluate` over several models and seeds,
    concatenated); rows with ``metric != "accuracy"`` are ignored. Each cell is the mean over
    the repeated rows (seeds); with several it reads ``mean ± std`` (sample std, ddof = 1), as
    the "average ± standard deviation (5 trials)" of the papers. Column names come from
    :func:`attack_label`, with ``ε`` appended when one attack was run at several budgets.
    ``group`` (e.g. ``"dataset"``) adds a top column level, as Table 4's SVHN / CIFAR-100.
    The best mean of each of our columns is bold. ``paper`` (a frame indexed by method, or
    ``{method: {column: value}}``) is appended as separate columns named ``"<column> (paper)"``
    in grey italics, so measured and published numbers are never confused.

    Returns:
        A ``pandas.io.formats.style.Styler`` (``.data`` holds the table of strings).
    """
    _require(frame, [row, col, value], "results_table")
    df = frame
    if "metric" in df.columns:
        df = df[df["metric"] == "accuracy"]
    df = df.copy()
    df["_col"] = df[col].map(attack_label)
    if "eps" in df.columns:
        multi = df[df["eps"] > 0].groupby(col)["eps"].nunique()
        several = set(multi[multi > 1].index)
        df["_col"] = [
            f"{lab} (ε={_fmt(e)})" if a in several else lab
            for lab, a, e in zip(df["_col"], df[col], df["eps"], strict=True)
        ]
    keys = [row, group, "_col"] if group else [row, "_col"]
    stats = df.groupby(keys, sort=False)[value].agg(["mean", "std", "count"])
    cell = [
        f"{m:.{decimals}f} ± {s:.{decimals}f}" if n > 1 else f"{m:.{decimals}f}"
        for m, s, n in zip(stats["mean"], stats["std"], stats["count"], strict=True)
    ]
    stats = stats.assign(cell=cell)
    unstack = [group, "_col"] if group else "_col"
    table = stats["cell"].unstack(unstack)
    means = stats["mean"].unstack(unstack)
    col_order = (
        list(dict.fromkeys(zip(df[group], df["_col"], strict=True)))
        if group
        else list(dict.fromkeys(df["_col"]))
    )
    group_rank = {g: i for i, g in enumerate(dict.fromkeys(df[group]))} if group else {}
    col_order.sort(  # stable: groups in order of appearance, NAT first within each
        key=lambda c: (group_rank[c[0]], c[1] != "NAT") if group else (c != "NAT")
    )
    row_order = list(dict.fromkeys(df[row]))
    table = table.reindex(index=row_order, columns=col_order)
    means = means.reindex(index=row_order, columns=col_order)
    ours = list(table.columns)
    if paper is not None:
        if isinstance(paper, pd.DataFrame):
            ref = paper.copy()
        else:
            ref = pd.DataFrame.from_dict(dict(paper), orient="index")
        ref.columns = [
            (*c[:-1], f"{c[-1]} (paper)") if isinstance(c, tuple) else f"{c} (paper)"
            for c in ref.columns
        ]
        if isinstance(table.columns, pd.MultiIndex) and not isinstance(ref.columns, pd.MultiIndex):
            ref.columns = pd.MultiIndex.from_tuples([("paper", c) for c in ref.columns])
        ref = ref.map(
            lambda v: f"{v:.{decimals}f}" if isinstance(v, (int, float)) and not pd.isna(v) else v
        )
        table = table.join(ref, how="outer", sort=False)
        table = table.reindex(row_order + [r for r in table.index if r not in row_order])
        means = means.reindex(table.index)
    table = table.fillna("—")
    table.index.name = row
    table.columns.names = [None] * table.columns.nlevels
    best = {c: means[c].max() for c in ours if means[c].notna().any()}

    def highlight(data: pd.DataFrame) -> pd.DataFrame:
        css = pd.DataFrame("", index=data.index, columns=data.columns)
        for c in data.columns:
            if c in best:
                css.loc[means[c] == best[c], c] = "font-weight: bold"
            elif c not in ours:
                css[c] = "color: #555555; font-style: italic"
        return css

    styler = table.style.apply(highlight, axis=None)
    if caption:
        styler = styler.set_caption(caption)
    return styler
