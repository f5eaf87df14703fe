"""One function per figure type; each returns a matplotlib ``Figure`` (headless-safe).

=========================  ====================================================================
function                   figure
=========================  ====================================================================
:func:`weight_histograms`  histograms of the importance ``s̃`` (Zeng et al. Figs. 5–7)
:func:`nonuniform_curves`  ``A_sa`` / ``A_tr`` vs α_test per α_train (Zeng et al. Fig. 3)
:func:`dro_curves`         worst-case χ² loss and accuracy vs ρ (Zeng et al. Fig. 4)
:func:`weight_functions`   sigmoid / hinge / step / GAIRAT / exp weights vs margin (MAIL Table 6)
:func:`pm_vs_mm`           probabilistic vs logit margin, with Spearman rank agreement
:func:`lps_paths`          PGD iterates over a 2-D model's decision regions (GAIRAT's κ)
:func:`results_table`      a pandas ``Styler`` in the layout of MAIL's Tables 4–7
:func:`save`               PNG + SVG under ``figures/<notebook>/``, byte-identical on rerun
=========================  ====================================================================

All figures share one look, :func:`style` (seaborn "whitegrid", the colour-blind-safe
"colorblind" palette); it is a context manager that also works as a decorator. Figures are made
with ``pyplot`` so that notebooks show them inline; close them with ``plt.close(fig)`` in loops.

Example:
    >>> from mailviz import evaluate, plots
    >>> frame = evaluate.dro_curve(losses, rhos=[0, 0.1, 1, 10])  # doctest: +SKIP
    >>> fig = plots.dro_curves(frame.assign(model="AT"))  # doctest: +SKIP
    >>> plots.save(fig, "dro", notebook="05_dro")  # doctest: +SKIP
    (PosixPath('.../figures/05_dro/dro.png'), PosixPath('.../figures/05_dro/dro.svg'))
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor, nn

from mailviz.checkpoint import atomic_write

__all__ = [
    "PALETTE",
    "WEIGHT_CURVES",
    "style",
    "palette",
    "weight_histograms",
    "nonuniform_curves",
    "dro_curves",
    "weight_functions",
    "pm_vs_mm",
    "lps_paths",
    "results_table",
    "accuracy_errorbars",
    "spread_curves",
    "attack_label",
    "dataset_samples",
    "training_curves",
    "save",
]

#: seaborn palette used everywhere (distinguishable with the common colour-vision deficiencies).
PALETTE = "colorblind"
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
    """The colour-blind-safe palette (``n`` colours, cycling when ``n`` > 10)."""
    return sns.color_palette(PALETTE, n_colors=n)


def _rc() -> dict[str, Any]:
    rc: dict[str, Any] = {}
    rc.update(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("notebook", font_scale=0.85))
    rc.update(
        {
            "axes.prop_cycle": mpl.cycler(color=palette()),
            "image.cmap": "viridis",
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "svg.hashsalt": SVG_HASHSALT,
            "axes.titlesize": "medium",
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


def _subplots(
    nrows: int, ncols: int, *, panel: tuple[float, float], **kw: Any
) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(
        nrows, ncols, squeeze=False, layout="constrained",
        figsize=(panel[0] * ncols + 0.4, panel[1] * nrows + 0.4), **kw,
    )  # fmt: skip
    return fig, axes


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
    return (isinstance(value, float) and math.isnan(value)) or value is None or (
        str(value) == baseline_label
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


# --------------------------------------------------------------------------------------------
# Zeng et al. Figs. 3–7
# --------------------------------------------------------------------------------------------


def weight_histograms(
    frame: pd.DataFrame,
    *,
    row: str | None = "alpha_train",
    col: str = "alpha_test",
    weight: str = "weight",
    baseline_label: str = "baseline",
    bins: int = 40,
    log: bool = True,
    note: str | None = None,
) -> Figure:
    """Histograms of the normalised importance ``s̃`` in a grid: rows α_train, columns α_test.

    The layout of Zeng et al. Figs. 5–7: one row per trained model (the baseline first — a row
    value equal to ``baseline_label`` or NaN), one column per α_test; each panel is the histogram
    of ``s̃_i`` over the test set (:func:`mailviz.evaluate.weight_distribution`). Panels in a
    column share their bins and x-axis, so the rows compare directly; the count axis is
    logarithmic by default because a few vulnerable examples carry large weights. At α_test = 0
    every ``s̃_i = 1/N``: a single bar.

    Args:
        frame: tidy frame with columns ``weight`` and ``col`` (and ``row`` when several models);
            one ε only (filter with ``frame[frame.eps == e]``).
        row: column naming the trained model (α_train); ``None`` or absent for a single row.
        col: column of α_test.
        weight: column of ``s̃``.
        baseline_label: row value (besides NaN) drawn first and titled as the baseline.
        bins: bins per column.
        log: logarithmic count axis.
        note: appended to the title — say which replicates the panels show (e.g. "3
            replicates pooled" when ``frame`` stacks several seeds).

    Returns:
        The figure (``rows × columns`` panels).
    """
    _require(frame, [weight, col], "weight_histograms")
    _single_eps(frame, "weight_histograms")
    row = row if row is not None and row in frame.columns else None
    rows = _ordered_groups(frame[row], baseline_label) if row else [None]
    cols = _ordered_groups(frame[col], baseline_label)
    colors = palette(max(len(rows), 1))
    with style():
        fig, axes = _subplots(len(rows), len(cols), panel=(2.6, 1.9), sharex="col")
        for j, c in enumerate(cols):
            in_col = frame[_select(frame, col, c, baseline_label)]
            values = in_col[weight].to_numpy(dtype=float)
            lo, hi = float(values.min()), float(values.max())
            # s̃ ~ 1/N is tiny: draw it in units of 10^power so the ticks read 0.5, 1.0, ...
            power = int(math.floor(math.log10(hi))) if hi > 0 else 0
            scale = 10.0**-power
            if hi - lo <= 1e-12 * max(abs(hi), 1e-300):  # α_test = 0: every s̃ = 1/N
                half = 0.05 * abs(hi) if hi != 0 else 1e-3
                edges = scale * np.array([hi - half, hi + half])
            else:
                edges = scale * np.linspace(lo, hi, bins + 1)
            for i, r in enumerate(rows):
                ax = axes[i, j]
                sel = in_col[_select(in_col, row, r, baseline_label)] if row else in_col
                ax.hist(scale * sel[weight].to_numpy(dtype=float), bins=edges, color=colors[i],
                        log=log)  # fmt: skip
                title = ", ".join(
                    t for t in (_group_label(row, r, baseline_label),
                                _group_label(col, c, baseline_label)) if t
                )  # fmt: skip
                ax.set_title(title)
                if i == len(rows) - 1:
                    unit = f" (×10{str(power).translate(_SUPERSCRIPT)})" if power else ""
                    ax.set_xlabel(f"importance s̃{unit}")
                if j == 0:
                    ax.set_ylabel("test examples (count)")
        eps = f" (ε = {_fmt(frame['eps'].iloc[0])})" if "eps" in frame.columns else ""
        extra = f" — {note}" if note else ""
        fig.suptitle(f"Distribution of the importance weights s̃ over the test set{eps}{extra}")
    return fig


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


def nonuniform_curves(
    frame: pd.DataFrame,
    *,
    hue: str | None = "alpha_train",
    metrics: Sequence[str] = ("A_sa", "A_tr"),
    baseline_label: str = "baseline",
) -> Figure:
    """``A_sa`` and ``A_tr`` (%) against α_test, one line per trained model (Zeng et al. Fig. 3).

    Panels: one column per metric, one row per ε_test. A metric that is NaN everywhere (``A_tr``
    of PGD-margin) gets no panel. Lines are the ``hue`` groups (α_train; the baseline first);
    ``A_rob`` is the value at α_test = 0. With a ``seed`` column (replicates) each point is the
    mean over replicates with an error bar of ± one standard deviation, as the figure says.

    Args:
        frame: rows of :func:`mailviz.nonuniform.nonuniform_table` or
            :func:`mailviz.evaluate.nonuniform_report` (concatenated over models, with a
            ``hue`` column; optionally a ``seed`` column).
        hue: column that names the model; ``None`` or absent for one line.
        metrics: metric columns to draw.
        baseline_label: hue value (besides NaN) drawn first and named as the baseline.

    Returns:
        The figure.
    """
    _require(frame, ["alpha_test", *metrics], "nonuniform_curves")
    metrics = [m for m in metrics if frame[m].notna().any()]
    if not metrics:
        raise ValueError("nonuniform_curves: every requested metric is NaN — nothing to plot")
    hue = hue if hue is not None and hue in frame.columns else None
    groups = _ordered_groups(frame[hue], baseline_label) if hue else [None]
    eps_values = sorted(frame["eps"].unique()) if "eps" in frame.columns else [None]
    colors = palette(max(len(groups), 1))
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
    note = _replicates_note(frame)
    with style():
        fig, axes = _subplots(len(eps_values), len(metrics), panel=(3.4, 2.6), sharey="row")
        for i, e in enumerate(eps_values):
            part = frame if e is None else frame[frame["eps"] == e]
            for j, m in enumerate(metrics):
                ax = axes[i, j]
                for k, g in enumerate(groups):
                    sel = part[_select(part, hue, g, baseline_label)] if hue else part
                    stats = _replicate_stats(sel.dropna(subset=[m]), ["alpha_test"], m)
                    stats = stats.sort_values("alpha_test")
                    label = _group_label(hue, g, baseline_label) or "model"
                    ax.errorbar(stats["alpha_test"], stats["mean"], yerr=stats["std"],
                                marker=markers[k % len(markers)], color=colors[k], capsize=2,
                                label=label)  # fmt: skip
                ax.set_title(m if e is None else f"{m}, ε = {_fmt(e)}")
                ax.set_xlabel("α_test (attacker's weighting strength)")
                ax.set_ylabel(f"{m} (%)")
        axes[0, -1].legend(loc="best", fontsize="small")
        if note:
            fig.suptitle(f"Zeng et al. Fig. 3 layout — {note}", fontsize="medium")
    return fig


def dro_curves(frame: pd.DataFrame, *, hue: str | None = "model") -> Figure:
    """Worst-case χ²-reweighted loss and accuracy against the budget ρ (Zeng et al. Fig. 4).

    Two panels: ``loss`` (nats; non-decreasing in ρ) and ``accuracy`` (%) of
    :func:`mailviz.evaluate.dro_curve`, one line per ``hue`` group (e.g. baseline vs ours). The
    ρ axis is logarithmic (symmetric-log when ρ = 0 is included). With a ``seed`` column the
    line is the mean over replicates and the band ± one standard deviation.

    Args:
        frame: columns ``rho, loss, accuracy`` (+ ``hue``, optionally ``seed``).
        hue: column naming the model; ``None`` or absent for one line.

    Returns:
        The figure.
    """
    _require(frame, ["rho", "loss", "accuracy"], "dro_curves")
    hue = hue if hue is not None and hue in frame.columns else None
    groups = list(dict.fromkeys(frame[hue].tolist())) if hue else [None]
    colors = palette(max(len(groups), 1))
    rhos = frame["rho"].to_numpy(dtype=float)
    positive = rhos[(rhos > 0) & np.isfinite(rhos)]
    note = _replicates_note(frame)
    with style():
        fig, axes = _subplots(1, 2, panel=(3.4, 2.7))
        for ax, column, ylabel in (
            (axes[0, 0], "loss", "worst-case weighted CE loss (nats)"),
            (axes[0, 1], "accuracy", "worst-case weighted accuracy (%)"),
        ):
            for k, g in enumerate(groups):
                sel = frame if g is None else frame[frame[hue] == g]
                stats = _replicate_stats(sel, ["rho"], column).sort_values("rho")
                ax.plot(stats["rho"], stats["mean"], marker="o", ms=3, color=colors[k],
                        label=str(g) if g is not None else "model")  # fmt: skip
                ax.fill_between(stats["rho"], stats["mean"] - stats["std"],
                                stats["mean"] + stats["std"], color=colors[k], alpha=0.2,
                                linewidth=0)  # fmt: skip
            if positive.size and (rhos == 0).any():
                ax.set_xscale("symlog", linthresh=float(positive.min()))
            elif positive.size:
                ax.set_xscale("log")
            ax.set_xlabel("χ² budget ρ")
            ax.set_ylabel(ylabel)
        axes[0, 0].set_title("DRO loss (eq. 28)")
        axes[0, 1].set_title("DRO accuracy")
        axes[0, 0].legend(loc="best", fontsize="small")
        if note:
            fig.suptitle(f"Zeng et al. Fig. 4 layout — {note} (band)", fontsize="medium")
    return fig


def spread_curves(
    frame: pd.DataFrame,
    *,
    value: str = "entropy_deficit",
    hue: str = "alpha_train",
    baseline_label: str = "baseline",
) -> Figure:
    """A spread statistic of s̃ against α_test, one line per model, one panel per ε_test.

    The numbers behind Zeng et al. Figs. 5–7 (:func:`mailviz.nonuniform.spread_table`): the
    entropy deficit ``log N − H(s̃)`` by default, or ``max_over_uniform`` / ``ess_fraction``.
    With a ``seed`` column each point is the mean over replicates ± one standard deviation.
    """
    _require(frame, ["alpha_test", value, hue], "spread_curves")
    groups = _ordered_groups(frame[hue], baseline_label)
    eps_values = sorted(frame["eps"].unique()) if "eps" in frame.columns else [None]
    colors = palette(max(len(groups), 1))
    note = _replicates_note(frame)
    labels = {"entropy_deficit": "entropy deficit log N − H(s̃) (nats)",
              "max_over_uniform": "largest weight × N", "ess_fraction": "ESS / N"}  # fmt: skip
    with style():
        fig, axes = _subplots(1, len(eps_values), panel=(3.2, 2.6), sharey=True)
        for j, e in enumerate(eps_values):
            ax = axes[0, j]
            part = frame if e is None else frame[frame["eps"] == e]
            for k, g in enumerate(groups):
                sel = part[_select(part, hue, g, baseline_label)]
                stats = _replicate_stats(sel, ["alpha_test"], value).sort_values("alpha_test")
                ax.errorbar(stats["alpha_test"], stats["mean"], yerr=stats["std"], marker="o",
                            ms=3, capsize=2, color=colors[k],
                            label=_group_label(hue, g, baseline_label))  # fmt: skip
            ax.set_title("all ε" if e is None else f"ε_test = {_fmt(e)}")
            ax.set_xlabel("α_test")
            if j == 0:
                ax.set_ylabel(labels.get(value, value))
        axes[0, -1].legend(loc="best", fontsize="small")
        fig.suptitle(f"Spread of s̃ (Figs. 5–7){' — ' + note if note else ''}",
                     fontsize="medium")  # fmt: skip
    return fig


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
    rows = list(dict.fromkeys(df[row]))
    cols = list(dict.fromkeys(df[col]))
    colors = palette(len(rows))
    note = _replicates_note(df)
    with style():
        fig, axes = _subplots(1, len(cols), panel=(2.8, 0.35 * len(rows) + 0.9), sharey=True)
        for j, c in enumerate(cols):
            ax = axes[0, j]
            part = df[df[col] == c]
            stats = _replicate_stats(part, [row], value).set_index(row).reindex(rows)
            ypos = np.arange(len(rows))
            for i, r in enumerate(rows):
                dots = part[part[row] == r][value].to_numpy(dtype=float)
                ax.plot(dots, np.full(dots.shape, i), "o", ms=3, color="0.6", zorder=1)
                ax.errorbar(stats.loc[r, "mean"], i, xerr=stats.loc[r, "std"], fmt="o", ms=6,
                            capsize=3, color=colors[i], zorder=2)  # fmt: skip
            ax.set_yticks(ypos, [str(r) for r in rows])
            ax.invert_yaxis()
            ax.set_title(attack_label(str(c)))
            ax.set_xlabel("accuracy (%)")
        heading = title or "Accuracy per method"
        fig.suptitle(f"{heading}{' — ' + note if note else ''}", fontsize="medium")
    return fig


# --------------------------------------------------------------------------------------------
# Data and training: the tour notebook
# --------------------------------------------------------------------------------------------


def dataset_samples(dataset: Any, *, per_class: int = 4, max_classes: int = 10) -> Figure:
    """A grid of examples, one row per class (images), or a scatter of the 2-D toy (moons).

    Args:
        dataset: a :class:`mailviz.data.ImageDataset` (``.images``, ``.labels``, ``.x``,
            ``.class_names``, ``.input_shape``, ``.name``, ``.split``).
        per_class: images shown per class (the first ones of each class, deterministic).
        max_classes: at most this many classes (rows).

    Returns:
        The figure; the suptitle names the dataset, split and size.
    """
    if per_class < 1 or max_classes < 1:
        raise ValueError("per_class and max_classes must be >= 1")
    labels = dataset.labels
    shape = tuple(dataset.input_shape)
    title = f"{dataset.name} ({dataset.split}, n = {len(dataset)}, shape {shape})"
    with style():
        if len(dataset.input_shape) == 1:
            fig, axes = _subplots(1, 1, panel=(3.6, 3.4))
            ax = axes[0, 0]
            x = _np(dataset.x)
            colors = palette(dataset.num_classes)
            for c in range(dataset.num_classes):
                sel = _np(labels) == c
                ax.scatter(x[sel, 0], x[sel, 1], s=6, color=colors[c],
                           label=dataset.class_names[c])  # fmt: skip
            ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="x₁ (pixel scale)", ylabel="x₂ (pixel scale)")
            ax.set_aspect("equal")
            ax.legend(loc="best", fontsize="small", title="class")
            fig.suptitle(title)
            return fig
        classes = list(range(min(dataset.num_classes, max_classes)))
        fig, axes = _subplots(len(classes), per_class, panel=(0.9, 0.9))
        for r, c in enumerate(classes):
            idx = torch.nonzero(labels == c).flatten()[:per_class]
            for k in range(per_class):
                ax = axes[r, k]
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                if k < idx.numel():
                    img = _np(dataset[int(idx[k])][0])
                    if img.shape[0] == 1:
                        ax.imshow(img[0], cmap="gray_r", vmin=0, vmax=1)
                    else:
                        ax.imshow(np.transpose(img, (1, 2, 0)))
                if k == 0:
                    ax.set_ylabel(str(dataset.class_names[c]), rotation=0, ha="right",
                                  va="center")  # fmt: skip
        fig.suptitle(title)
    return fig


def training_curves(history: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Loss and held-out accuracies per epoch from a :class:`mailviz.train.TrainedModel` history.

    Two panels: training loss, and held-out clean (``nat_acc``) and PGD (``pgd_acc``) accuracy
    in %, plus ``train_adv_acc`` when present.
    """
    _require(history, ["epoch", "loss", "nat_acc"], "training_curves")
    with style():
        fig, axes = _subplots(1, 2, panel=(3.4, 2.6))
        axes[0, 0].plot(history["epoch"], history["loss"], marker="o", ms=3)
        axes[0, 0].set(xlabel="epoch", ylabel="training loss", title="loss")
        ax = axes[0, 1]
        names = {"nat_acc": "held-out clean", "pgd_acc": "held-out PGD",
                 "train_adv_acc": "training batches"}  # fmt: skip
        for column, label in names.items():
            if column in history.columns and history[column].notna().any():
                sel = history[history[column].notna()]
                ax.plot(sel["epoch"], sel[column], marker="o", ms=3, label=label)
        ax.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy", ylim=(0, 100))
        ax.legend(loc="lower right", fontsize="small")
        if title:
            fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------------------------
# MAIL: weight functions, PM vs MM, LPS paths
# --------------------------------------------------------------------------------------------


def weight_functions(
    functions: Sequence[str] | None = None,
    *,
    gamma: float = 10.0,
    beta: float = -0.5,
    alpha: float = 2.0,
    lam: float = -1.0,
    steps: int = 10,
    step_alpha: float = 0.2,
    pm: Any = None,
    normalize: bool = True,
    ax: Axes | None = None,
) -> Figure:
    """Weight assignment functions against the margin in [−1, 1] (MAIL Alg. 2–4 l. 9, Table 6).

    Curves, all from :mod:`mailviz.weights`:

    * ``sigmoid``: ``sigmoid(−γ(PM − β))`` (MAIL); ``hinge``: ``max(0, γ(PM − β))`` as printed
      in MAIL's Table 6; ``hinge_mirrored``: ``max(0, γ(β − PM))``; ``step``: ``α_s`` above β,
      ``1 − α_s`` below (``step_alpha``, 0.2 in the paper);
    * ``gairat_tanh``: GAIRAT's ``(tanh(λ + 5(K′ − κ)/K′) + 1)/2`` drawn against the margin axis
      through the linear map ``margin = 2κ/K − 1`` (κ = 0, broken at the random start → −1;
      κ = K, never broken → +1); the top axis shows κ;
    * ``exp``: Zeng et al.'s ``exp(−α·margin)`` (eq. 7).

    With ``normalize`` every curve is divided by its maximum on [−1, 1] so the shapes compare
    (the hinge reaches γ(1 − β), the exp kernel e^α). ``pm`` (optional margins, e.g. the PMs of
    a training batch) is drawn as a grey density on a second y-axis.

    Returns:
        The figure (one axes, plus the κ axis and the PM-density axis when drawn).
    """
    from mailviz import weights as w

    names = list(WEIGHT_CURVES if functions is None else functions)
    unknown = [n for n in names if n not in WEIGHT_CURVES]
    if unknown or not names:
        raise ValueError(
            f"unknown weight curve(s) {unknown}; choose from {', '.join(WEIGHT_CURVES)}"
        )
    m = torch.linspace(-1.0, 1.0, 401, dtype=torch.float64)
    curves: dict[str, tuple[str, Tensor]] = {}
    for name in names:
        if name == "sigmoid":
            curves[name] = (f"sigmoid (γ={_fmt(gamma)}, β={_fmt(beta)})", w.sigmoid(m, gamma, beta))
        elif name == "hinge":
            curves[name] = (f"hinge (γ={_fmt(gamma)}, β={_fmt(beta)})", w.hinge(m, gamma, beta))
        elif name == "hinge_mirrored":
            curves[name] = ("hinge mirrored", w.hinge_mirrored(m, gamma, beta))
        elif name == "step":
            curves[name] = (f"step (α={_fmt(step_alpha)}, β={_fmt(beta)})",
                            w.step(m, beta, step_alpha))  # fmt: skip
        elif name == "gairat_tanh":
            kappa = (m + 1.0) * steps / 2.0
            curves[name] = (f"GAIRAT tanh (λ={_fmt(lam)}, K={steps})",
                            w.gairat_tanh(kappa, steps, lam))  # fmt: skip
        else:
            curves[name] = (f"exp (α={_fmt(alpha)})", w.exp_kernel(m, alpha))
    colors = palette(len(WEIGHT_CURVES))
    styles = {"hinge_mirrored": "--", "gairat_tanh": "-.", "step": "-", "exp": ":"}
    with style():
        own_figure = ax is None
        fig = ax.figure if ax is not None else _subplots(1, 1, panel=(5.0, 3.6))[0]
        ax = ax if ax is not None else fig.axes[0]
        for name, (label, values) in curves.items():
            v = values.detach().double().numpy()
            top = float(v.max())
            if normalize and top > 0:
                v = v / top
            ax.plot(m.numpy(), v, label=label, color=colors[WEIGHT_CURVES.index(name)],
                    ls=styles.get(name, "-"), lw=1.8)  # fmt: skip
        ax.set_xlim(-1, 1)
        ax.set_xlabel("margin (PM = p_y − max_{j≠y} p_j)")
        ax.set_ylabel("weight / its maximum" if normalize else "weight")
        ax.axvline(0.0, color="0.6", lw=0.8)
        if "gairat_tanh" in curves:
            top_axis = ax.secondary_xaxis(
                "top", functions=(lambda x: (x + 1.0) * steps / 2.0,
                                  lambda k: 2.0 * k / steps - 1.0),
            )  # fmt: skip
            top_axis.set_xlabel("GAIRAT κ (least PGD steps), margin = 2κ/K − 1")
        if pm is not None:
            values = pm.detach().cpu().numpy() if isinstance(pm, Tensor) else np.asarray(pm)
            twin = ax.twinx()
            twin.hist(np.asarray(values, dtype=float).ravel(), bins=40, range=(-1, 1),
                      density=True, color="0.6", alpha=0.3)  # fmt: skip
            twin.set_ylabel("PM density")
            twin.grid(False)
            ax.set_zorder(twin.get_zorder() + 1)  # curves above the density
            ax.patch.set_visible(False)
        if own_figure:
            fig.legend(loc="outside lower center", fontsize="small", ncols=2)
        else:
            ax.legend(loc="best", fontsize="small")
    return fig


def pm_vs_mm(
    pm: Any,
    mm: Any,
    correct: Any = None,
    *,
    max_points: int = 5000,
    ax: Axes | None = None,
) -> Figure:
    """Scatter of the probabilistic margin PM against the logit margin MM (MAIL Def. 1, eq. 15).

    Both margins have the same sign, so they agree on which examples are misclassified, but MM
    is unbounded and scale-dependent. The title reports their rank agreement, Spearman's ρ
    (``scipy.stats.spearmanr``) over all points; at most ``max_points`` (the first ones) are
    drawn. Points are coloured by ``correct`` when given.

    Returns:
        The figure.
    """
    from scipy.stats import spearmanr

    def arr(v: Any, name: str) -> np.ndarray:
        a = v.detach().cpu().numpy() if isinstance(v, Tensor) else np.asarray(v)
        a = np.asarray(a).ravel()
        if a.size == 0:
            raise ValueError(f"{name} must be a non-empty 1-D array")
        return a

    p, q = arr(pm, "pm").astype(float), arr(mm, "mm").astype(float)
    if p.shape != q.shape:
        raise ValueError(f"pm and mm must have the same length, got {p.size} and {q.size}")
    c = None if correct is None else arr(correct, "correct").astype(bool)
    if c is not None and c.shape != p.shape:
        raise ValueError(f"correct must have one entry per margin ({p.size}), got {c.size}")
    rho = float(spearmanr(p, q).statistic) if p.size > 1 else math.nan
    k = min(p.size, max_points)
    colors = palette(2)
    with style():
        fig = ax.figure if ax is not None else _subplots(1, 1, panel=(4.2, 3.4))[0]
        ax = ax if ax is not None else fig.axes[0]
        if c is None:
            ax.scatter(q[:k], p[:k], s=8, alpha=0.6, color=colors[0], lw=0)
        else:
            for flag, label, color in (
                (True, "correct", colors[0]),
                (False, "misclassified", colors[1]),
            ):
                sel = c[:k] == flag
                ax.scatter(q[:k][sel], p[:k][sel], s=8, alpha=0.6, color=color, lw=0, label=label)
            ax.legend(loc="lower right", fontsize="small")
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.axvline(0.0, color="0.5", lw=0.8)
        ax.set_xlabel("logit margin MM = f_y − max_{j≠y} f_j (logit units)")
        ax.set_ylabel("probabilistic margin PM = p_y − max_{j≠y} p_j")
        ax.set_ylim(-1.05, 1.05)
        ax.set_title(f"PM vs MM: Spearman ρ = {rho:.3f} (n = {p.size})")
    return fig


def _np(v: Any) -> np.ndarray:
    return v.detach().cpu().numpy() if isinstance(v, Tensor) else np.asarray(v)


def lps_paths(
    model: nn.Module,
    x_points: Any,
    paths: Any,
    path_pred: Any = None,
    kappa: Any = None,
    *,
    bounds: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 1.0), (0.0, 1.0)),
    labels: Any = None,
    eps: float | None = None,
    resolution: int = 200,
    ax: Axes | None = None,
) -> Figure:
    """PGD iterates on a 2-D toy problem over the model's decision regions (GAIRAT's κ, MAIL §3).

    The decision regions come from one batched forward of a ``resolution × resolution`` grid
    over ``bounds`` (model in eval mode, flags restored). Each path ``x^{(0)} … x^{(K)}`` is drawn
    as a line with its iterates coloured by step t; the clean point is a star (coloured by its
    label when ``labels`` is given), the ε-box around it dashed. With ``path_pred`` and
    ``labels``, iterates already misclassified get a black ring, so κ (the number of iterates
    ``x^{(0)} … x^{(K−1)}`` still correct) can be counted on the figure; ``kappa`` is written
    next to each start.

    Args:
        model: 2-D classifier ``[B, 2] → [B, classes]``.
        x_points: ``[B, 2]`` clean points.
        paths: ``[K+1, B, 2]`` iterates (``AttackResult.path`` of ``pgd(..., record=True)``).
        path_pred: ``[K+1, B]`` predictions of the iterates (``AttackResult.path_pred``).
        kappa: ``[B]`` κ values to annotate.
        bounds: ``((x_min, x_max), (y_min, y_max))`` of the grid.
        labels: ``[B]`` true labels.
        eps: box half-width; ``None`` infers it as the largest ``‖x^{(t)} − x‖∞`` on the paths.
        resolution: grid points per side.
        ax: draw into this axes instead of a new figure.

    Returns:
        The figure (the axes plus the step colour bar).
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    x0 = _np(x_points).astype(float)
    path = _np(paths).astype(float)
    if x0.ndim != 2 or x0.shape[1] != 2:
        raise ValueError(f"x_points must have shape [B, 2] (2-D toy data), got {x0.shape}")
    if path.ndim != 3 or path.shape[1:] != x0.shape:
        raise ValueError(f"paths must have shape [K+1, {x0.shape[0]}, 2], got {path.shape}")
    if eps is None:
        eps = float(np.abs(path - x0[None]).max())
    (x_lo, x_hi), (y_lo, y_hi) = bounds
    gx, gy = np.meshgrid(np.linspace(x_lo, x_hi, resolution), np.linspace(y_lo, y_hi, resolution))
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    grid = torch.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=torch.float32)
    modules = list(model.modules())
    flags = [m.training for m in modules]
    try:
        model.eval()
        with torch.no_grad():
            logits = model(grid.to(device)).float().cpu()
    finally:
        for module, flag in zip(modules, flags, strict=True):
            module.training = flag
    classes = logits.shape[1]
    region = logits.argmax(dim=1).numpy().reshape(gx.shape)
    colors = palette(classes)
    steps = path.shape[0]
    y_true = None if labels is None else _np(labels).astype(int).ravel()
    preds = None if path_pred is None else _np(path_pred).astype(int)
    kappas = None if kappa is None else _np(kappa).astype(int).ravel()
    with style():
        fig = ax.figure if ax is not None else _subplots(1, 1, panel=(4.6, 4.0))[0]
        ax = ax if ax is not None else fig.axes[0]
        ax.contourf(gx, gy, region, levels=np.arange(classes + 1) - 0.5,
                    colors=[(*c, 0.25) for c in colors])  # fmt: skip
        ax.contour(gx, gy, region, levels=np.arange(1, classes) - 0.5, colors="0.3",
                   linewidths=0.8)  # fmt: skip
        t = np.arange(steps)
        sc = None
        for b in range(x0.shape[0]):
            ax.add_patch(Rectangle((x0[b, 0] - eps, x0[b, 1] - eps), 2 * eps, 2 * eps,
                                   fill=False, ls="--", lw=0.8, ec="0.35"))  # fmt: skip
            ax.plot(path[:, b, 0], path[:, b, 1], color="0.25", lw=0.8, zorder=2)
            sc = ax.scatter(path[:, b, 0], path[:, b, 1], c=t, cmap="viridis", s=16, zorder=3,
                            vmin=0, vmax=max(steps - 1, 1))  # fmt: skip
            if preds is not None and y_true is not None:
                wrong = preds[:, b] != y_true[b]
                ax.scatter(path[wrong, b, 0], path[wrong, b, 1], s=40, facecolors="none",
                           edgecolors="k", lw=0.8, zorder=4)  # fmt: skip
            face = colors[y_true[b] % len(colors)] if y_true is not None else "white"
            ax.scatter([x0[b, 0]], [x0[b, 1]], marker="*", s=140, color=face, edgecolors="k",
                       zorder=5)  # fmt: skip
            if kappas is not None:
                ax.annotate(f"κ={int(kappas[b])}", (x0[b, 0], x0[b, 1]), xytext=(5, 5),
                            textcoords="offset points", fontsize="small")  # fmt: skip
        assert sc is not None
        fig.colorbar(sc, ax=ax, label="PGD step t")
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(y_lo, y_hi)
        ax.set_aspect("equal")
        ax.set_xlabel("x₁ (input feature, [0, 1])")
        ax.set_ylabel("x₂ (input feature, [0, 1])")
        ax.set_title(f"PGD iterates over the decision regions (ε = {eps:.3g})")
    return fig


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


def results_table(
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
    col_order = list(dict.fromkeys(zip(df[group], df["_col"], strict=True))) if group else list(
        dict.fromkeys(df["_col"])
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
    it; the SVG has no ``Date`` and a fixed ``svg.hashsalt`` (its element ids). Rendering the same
    figure twice therefore gives the same bytes, so regenerating the figures leaves ``git
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
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name.endswith(
        (".png", ".svg")
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
    with mpl.rc_context({"svg.hashsalt": SVG_HASHSALT}):
        for target, kwargs in (
            (png, dict(format="png", dpi=dpi, metadata={"Software": None})),
            (svg, dict(format="svg", metadata={"Date": None})),
        ):
            atomic_write(target, lambda fh, kw=kwargs: fig.savefig(fh, **kw), binary=True)
    return png, svg
