"""Zeng et al.'s figures: s̃ histograms (Figs. 5–7), A_sa / A_tr vs α_test (Fig. 3), DRO (Fig. 4)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mailviz.plots._style import (
    _SUPERSCRIPT,
    _fmt,
    _group_label,
    _ordered_groups,
    _replicate_stats,
    _replicates_note,
    _require,
    _select,
    _single_eps,
    _subplots,
    palette,
    style,
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
