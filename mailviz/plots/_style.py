"""The look every figure shares (:func:`style`, the palette) and small helpers for grouping rows."""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from torch import Tensor

#: The palette used everywhere: Okabe–Ito (:mod:`mailviz.plots.colors`; distinguishable with
#: the common colour-vision deficiencies).
PALETTE = "okabe-ito"
#: Largest figure (inches) the plotting functions make: dropped onto a 16:9 slide (13.33 × 7.5
#: in) it is scaled by at least 7.5 / 5.625 = 4/3, so every font ≥ 10.5 pt reads ≥ 14 pt there.
SLIDE_MAX_SIZE: tuple[float, float] = (10.0, 5.625)
#: A 16:9 slide in inches (13.33 × 7.5, the widescreen default) and the smallest text size, in
#: points, a figure's text may have once the figure is scaled to fill that slide.
SLIDE_INCHES: tuple[float, float] = (13.33, 7.5)
SLIDE_MIN_POINTS = 14.0
#: Curves :func:`weight_functions` can draw.
WEIGHT_CURVES: tuple[str, ...] = (
    "sigmoid",
    "hinge",
    "hinge_mirrored",
    "step",
    "gairat_tanh",
    "exp",
)
#: Fixed SVG id salt: reruns give byte-identical SVG files.
SVG_HASHSALT = "mailviz"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def palette(n: int | None = None) -> list[tuple[float, float, float]]:
    """The colour-blind-safe palette (``n`` colours, Okabe–Ito order, cycling past 8)."""
    from matplotlib.colors import to_rgb

    from mailviz.plots.colors import OKABE_ITO, series_colors

    return [to_rgb(c) for c in series_colors(len(OKABE_ITO) if n is None else n)]


def slide_points(fontsize: float, figsize: tuple[float, float]) -> float:
    """Size in points of ``fontsize`` text once a ``W × H`` inch figure fills a 16:9 slide.

    The figure is scaled by ``min(13.33/W, 7.5/H)`` (it fits the slide's width or its height);
    slide-ready text has ``fontsize × min(13.33/W, 7.5/H) ≥ 14`` (:data:`SLIDE_MIN_POINTS`).

    Example:
        >>> round(slide_points(10.0, (8.8, 3.4)), 2)
        15.15
    """
    width, height = figsize
    if not (width > 0 and height > 0):
        raise ValueError(f"figsize must be two positive inch sizes, got {figsize!r}")
    return fontsize * min(SLIDE_INCHES[0] / width, SLIDE_INCHES[1] / height)


def _rc() -> dict[str, Any]:
    rc: dict[str, Any] = {}
    rc.update(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("notebook"))
    rc.update(
        {
            "axes.prop_cycle": mpl.cycler(color=palette()),
            "image.cmap": "viridis",
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "svg.hashsalt": SVG_HASHSALT,
            "svg.fonttype": "none",  # SVG text stays <text>: editable on a slide
            # slide-ready: the smallest of these (12 pt; a legend at "small" 10.8 pt) on a
            # figure no larger than SLIDE_MAX_SIZE reads >= 14 pt on a 16:9 slide
            "font.size": 13.0,
            "axes.titlesize": 13.0,
            "axes.labelsize": 13.0,
            "xtick.labelsize": 12.0,
            "ytick.labelsize": 12.0,
            "legend.fontsize": 12.0,
            "legend.title_fontsize": 12.0,
            "figure.titlesize": 14.0,
            "figure.labelsize": 13.0,
            "lines.linewidth": 2.0,
            "legend.frameon": False,
        }
    )
    return rc


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The mailviz look: seaborn whitegrid, notebook context, colour-blind palette, fixed SVG salt.

    Usable as a context manager (``with plots.style(): ...``) or a decorator (``@plots.style()``);
    every plotting function here already uses it.
    """
    with mpl.rc_context(_rc()):
        yield
        # the first pyplot figure may load the backend inside this context; in IPython the inline
        # backend then switches interactive mode on, which leaving rc_context would undo (and
        # the kernel would stop showing figures at the end of each cell)
        interactive = mpl.is_interactive()
    mpl.interactive(interactive)


def fit_slide(width: float, height: float) -> tuple[float, float]:
    """``(width, height)`` shrunk (aspect kept) to fit :data:`SLIDE_MAX_SIZE`."""
    shrink = min(1.0, SLIDE_MAX_SIZE[0] / width, SLIDE_MAX_SIZE[1] / height)
    return (round(width * shrink, 3), round(height * shrink, 3))


def _subplots(
    nrows: int,
    ncols: int,
    *,
    panel: tuple[float, float] | None = None,
    figsize: tuple[float, float] | None = None,
    **kw: Any,
) -> tuple[Figure, np.ndarray]:
    """``plt.subplots`` (constrained layout, 2-D axes array) of ``figsize`` or of
    ``panel``-sized panels, shrunk to fit :data:`SLIDE_MAX_SIZE` (so the fonts of :func:`style`
    stay slide-ready)."""
    if figsize is None:
        assert panel is not None, "give panel or figsize"
        figsize = (panel[0] * ncols + 0.4, panel[1] * nrows + 0.4)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, layout="constrained",
                             figsize=fit_slide(*figsize), **kw)  # fmt: skip
    return fig, axes


def _plain_ticks(axis: Any) -> None:
    """Log / symlog tick labels as plain numbers (0.1, 1, 10) instead of mathtext powers,
    whose small superscripts would fall below the slide's 14 pt."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _legend_columns(labels: Sequence[str], width: float = SLIDE_MAX_SIZE[0]) -> int:
    """How many legend columns fit across ``width`` inches at the legend's font (≈ 0.1 in per
    character plus the handle)."""
    if not labels:
        return 1
    per = max(len(str(t)) for t in labels) * 0.1 + 0.8
    return max(1, min(len(labels), int(width // per)))


def _require(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{where} needs a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{where} needs columns {list(columns)}; missing {missing} — "
            "build the frame with mailviz.evaluate"
        )
    if frame.empty:
        raise ValueError(f"{where} got an empty frame")


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float, np.number)) else str(value)


def _is_baseline(value: Any, baseline_label: str) -> bool:
    return (
        (isinstance(value, float) and math.isnan(value))
        or value is None
        or (str(value) == baseline_label)
    )


def _ordered_groups(values: pd.Series, baseline_label: str) -> list[Any]:
    """Unique values: the baseline (label or NaN) first, then numbers ascending, then text."""
    uniq = list(dict.fromkeys(values.tolist()))
    base = [v for v in uniq if _is_baseline(v, baseline_label)]
    rest = [v for v in uniq if not _is_baseline(v, baseline_label)]
    nums = sorted(v for v in rest if isinstance(v, (int, float, np.number)))
    text = [v for v in rest if not isinstance(v, (int, float, np.number))]
    return base[:1] + nums + text


def _select(frame: pd.DataFrame, column: str | None, value: Any, baseline_label: str) -> pd.Series:
    if column is None:
        return pd.Series(True, index=frame.index)
    if _is_baseline(value, baseline_label):
        return frame[column].map(lambda v: _is_baseline(v, baseline_label))
    return frame[column] == value


def _group_label(column: str | None, value: Any, baseline_label: str) -> str:
    if column is None:
        return ""
    if _is_baseline(value, baseline_label):
        return baseline_label
    name = {"alpha_train": "α_train", "alpha_test": "α_test", "eps": "ε"}.get(column, column)
    return f"{name} = {_fmt(value)}"


def _single_eps(frame: pd.DataFrame, where: str) -> None:
    if "eps" in frame.columns and frame["eps"].nunique() > 1:
        values = ", ".join(_fmt(v) for v in sorted(frame["eps"].unique()))
        raise ValueError(
            f"{where}: the frame holds several eps ({values}); pass frame[frame.eps == e] "
            "(one figure per ε, as in Zeng et al. Figs. 5–7)"
        )


def _replicate_stats(frame: pd.DataFrame, keys: Sequence[str], value: str) -> pd.DataFrame:
    """Mean, std (ddof 1; 0 with one replicate) and count of ``value`` per ``keys`` group."""
    stats = frame.groupby(list(keys), sort=False, dropna=False)[value].agg(["mean", "std", "count"])
    stats["std"] = stats["std"].fillna(0.0)
    return stats.reset_index()


def _replicates_note(frame: pd.DataFrame) -> str:
    if "seed" not in frame.columns:
        return ""
    n = frame["seed"].nunique()
    return f"mean ± std over {n} replicates" if n > 1 else "one replicate"


def _np(v: Any) -> np.ndarray:
    return v.detach().cpu().numpy() if isinstance(v, Tensor) else np.asarray(v)


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------

_ATTACK_RE = re.compile(r"^(pgd|cw)(\d+)$")


def attack_label(spec: str) -> str:
    """Display name of an attack spec: ``nat → NAT``, ``pgd20 → PGD-20``, ``cw20 → CW-20``,
    ``aa → AA``, ``aa-fast → AA (fast)``; anything else unchanged."""
    s = str(spec)
    m = _ATTACK_RE.match(s)
    if m:
        return f"{m.group(1).upper()}-{m.group(2)}"
    return {"nat": "NAT", "aa": "AA", "aa-fast": "AA (fast)"}.get(s, s)
