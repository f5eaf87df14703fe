"""Zeng et al.'s figures: s̃ histograms (Figs. 5–7), A_sa / A_tr vs α_test (Fig. 3), DRO (Fig. 4)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mailviz.plots._style import (
    _SUPERSCRIPT,
    _fmt,
    _group_label,
    _legend_columns,
    _ordered_groups,
    _plain_ticks,
    _replicate_stats,
    _replicates_note,
    _require,
    _select,
    _single_eps,
    _subplots,
    style,
)

# --------------------------------------------------------------------------------------------
# Zeng et al. Figs. 3–7
# --------------------------------------------------------------------------------------------


def _constant(values: pd.Series) -> bool:
    """All values equal (to rounding): a uniform weighting, e.g. AT's ω = 1."""
    v = values.to_numpy(dtype=float)
    return v.size > 0 and float(v.max() - v.min()) <= 1e-9 * max(abs(float(v.max())), 1e-300)


def weight_histograms(  # long: grid, shared bins per panel and the legend slot in one place
    frame: pd.DataFrame,
    *,
    row: str | None = "alpha_train",
    col: str = "alpha_test",
    weight: str = "weight",
    baseline_label: str = "baseline",
    bins: int = 40,
    log: bool = True,
    note: str | None = None,
    value_label: str = "importance s̃",
    count_label: str = "test examples (count)",
    drop_uniform: bool = False,
) -> Figure:
    """Histograms of the normalised importance ``s̃``: one panel per α_test, one step line per
    trained model (α_train) — Zeng et al. Figs. 5–7 reflowed for a slide.

    Zeng et al. draw a rows × columns grid (rows α_train, columns α_test); here each panel is one
    ``col`` value (α_test) and overlays the ``row`` groups (the baseline first — a row value equal
    to ``baseline_label`` or NaN — then α_train ascending) as step histograms in their fixed
    colours (:mod:`mailviz.plots.colors`), so the heavy right tail growing with α_test reads
    across the panels and the models compare within one. Panels wrap into at most three columns;
    the count axis is shared and logarithmic by default (a few vulnerable examples carry large
    weights); the models in a panel share its bins. At α_test = 0 every ``s̃_i = 1/N``: a single
    bar. Without ``row`` each panel is one filled histogram (e.g. one per method).

    Args:
        frame: tidy frame with columns ``weight`` and ``col`` (and ``row`` when several models);
            one ε only (filter with ``frame[frame.eps == e]``).
        row: column naming the trained model (α_train); ``None`` or absent for one model.
        col: column of α_test (one panel per value).
        weight: column of ``s̃``.
        baseline_label: row value (besides NaN) drawn first and named as the baseline.
        bins: bins per panel.
        log: logarithmic count axis.
        note: appended to the title — say which replicates the panels show (e.g. "3
            replicates pooled" when ``frame`` stacks several seeds).
        value_label, count_label: x label (below the panels; the power of ten is appended)
            and y label (left of them), one of each per figure.
        drop_uniform: without ``row``, leave out the panels whose weights are all equal (AT's
            ω = 1: a single bar) and name them under the x label instead.

    Returns:
        The figure (one panel per ``col`` value; a spare grid slot holds the legend).
    """
    from mailviz.plots.colors import series_styles

    _require(frame, [weight, col], "weight_histograms")
    _single_eps(frame, "weight_histograms")
    row = row if row is not None and row in frame.columns else None
    rows = _ordered_groups(frame[row], baseline_label) if row else [None]
    cols = _ordered_groups(frame[col], baseline_label)
    uniform: list[str] = []
    if drop_uniform and row is None:  # a panel whose weights are all equal is named, not drawn
        flat_cols = [c for c in cols
                     if _constant(frame.loc[_select(frame, col, c, baseline_label), weight])]
        shown = [c for c in cols if c not in flat_cols]
        uniform = [_fmt(c) for c in flat_cols] if shown else []
        cols = shown or cols
    labels = [_group_label(row, r, baseline_label) or "all" for r in rows]
    styles = series_styles(labels)
    panel_looks = series_styles([str(c) for c in cols])  # one model per panel: its colour
    ncols = min(3, len(cols))
    nrows = math.ceil(len(cols) / ncols)
    spare = nrows * ncols - len(cols)
    overall = float(frame[weight].abs().max())
    # s̃ ~ 1/N is tiny: draw it in units of 10^power so the ticks read 0.5, 1.0, ...
    power = int(math.floor(math.log10(overall))) if 0 < overall < 0.1 else 0
    scale = 10.0**-power
    with style():
        fig, axes = _subplots(nrows, ncols, figsize=(10.0, 1.0 + 2.3 * nrows), sharey=True)
        flat = list(axes.ravel())
        for j, c in enumerate(cols):
            ax = flat[j]
            in_col = frame[_select(frame, col, c, baseline_label)]
            values = in_col[weight].to_numpy(dtype=float)
            lo, hi = float(values.min()), float(values.max())
            if hi - lo <= 1e-12 * max(abs(hi), 1e-300):  # α_test = 0: every s̃ = 1/N
                half = 0.05 * abs(hi) if hi != 0 else 1e-3
                edges = scale * np.array([hi - half, hi + half])
            else:
                edges = scale * np.linspace(lo, hi, bins + 1)
            for r, look, label in zip(rows, styles, labels, strict=True):
                sel = in_col[_select(in_col, row, r, baseline_label)] if row else in_col
                data = scale * sel[weight].to_numpy(dtype=float)
                if row:
                    ax.hist(data, bins=edges, histtype="step", color=look.color, lw=2.0,
                            ls=look.linestyle, log=log, label=label)  # fmt: skip
                else:
                    ax.hist(data, bins=edges, color=panel_looks[j].color, log=log, label=label)
            ax.set_title(_group_label(col, c, baseline_label) or str(c))
            ax.xaxis.set_major_locator(MaxNLocator(4))
            if log:
                _plain_ticks(ax.yaxis)
            if hi - lo <= 1e-12 * max(abs(hi), 1e-300):
                ax.set_xticks([scale * hi], [f"{scale * hi:.3g}"])  # one bar: one tick
        legend = row is not None and len(rows) > 1
        for k, ax in enumerate(flat[len(cols):]):
            if k == 0 and legend:
                ax.axis("off")  # the first spare slot holds the legend
            else:
                fig.delaxes(ax)
        if legend:
            handles, names = flat[0].get_legend_handles_labels()
            title = {"alpha_train": "trained model (α_train)"}.get(str(row), str(row))
            if spare:
                flat[len(cols)].legend(handles, names, title=title, loc="center")
            else:
                fig.legend(handles, names, title=title, loc="outside lower center",
                           ncols=_legend_columns(names))  # fmt: skip
        eps = f" (ε = {_fmt(frame['eps'].iloc[0])})" if "eps" in frame.columns else ""
        extra = f" — {note}" if note else ""
        unit = f" (×10{str(power).translate(_SUPERSCRIPT)})" if power else ""
        below = f"{value_label}{unit}"  # one label per axis: the panels stay uncluttered
        if uniform:
            names = textwrap.fill(", ".join(uniform), 60)
            below += f"\nnot drawn, every weight equal: {names}"
        fig.supxlabel(below)
        fig.supylabel(count_label)
        fig.suptitle(f"Importance weights s̃ over the test set{eps}{extra}")
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
    from mailviz.plots.colors import series_styles

    hue = hue if hue is not None and hue in frame.columns else None
    groups = _ordered_groups(frame[hue], baseline_label) if hue else [None]
    eps_values = sorted(frame["eps"].unique()) if "eps" in frame.columns else [None]
    labels = [_group_label(hue, g, baseline_label) or "model" for g in groups]
    styles = series_styles(labels)
    note = _replicates_note(frame)
    with style():
        # one row per metric, one column per ε: wide, as a slide is
        fig, axes = _subplots(len(metrics), len(eps_values), sharey="row", sharex=True,
                              figsize=(10.0, 0.9 + 2.3 * len(metrics)))  # fmt: skip
        for j, e in enumerate(eps_values):
            part = frame if e is None else frame[frame["eps"] == e]
            for i, m in enumerate(metrics):
                ax = axes[i, j]
                for g, look, label in zip(groups, styles, labels, strict=True):
                    sel = part[_select(part, hue, g, baseline_label)] if hue else part
                    stats = _replicate_stats(sel.dropna(subset=[m]), ["alpha_test"], m)
                    stats = stats.sort_values("alpha_test")
                    ax.errorbar(stats["alpha_test"], stats["mean"], yerr=stats["std"],
                                marker=look.marker, color=look.color, ls=look.linestyle,
                                capsize=2, label=label)  # fmt: skip
                ax.set_title(m if e is None else f"{m}, ε = {_fmt(e)}")
                if j == 0:
                    ax.set_ylabel(f"{m} (%)")
        fig.supxlabel("α_test (attacker's weighting strength)")
        handles, names = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside right center")
        if note:
            fig.suptitle(f"Zeng et al. Fig. 3 layout — {note}")
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
    from mailviz.plots.colors import series_styles

    hue = hue if hue is not None and hue in frame.columns else None
    groups = list(dict.fromkeys(frame[hue].tolist())) if hue else [None]
    styles = series_styles([str(g) for g in groups])
    rhos = frame["rho"].to_numpy(dtype=float)
    positive = rhos[(rhos > 0) & np.isfinite(rhos)]
    note = _replicates_note(frame)
    with style():
        fig, axes = _subplots(1, 2, figsize=(10.0, 5.0))
        for ax, column, ylabel in (
            (axes[0, 0], "loss", "worst-case weighted CE loss (nats)"),
            (axes[0, 1], "accuracy", "worst-case weighted accuracy (%)"),
        ):
            for g, look in zip(groups, styles, strict=True):
                sel = frame if g is None else frame[frame[hue] == g]
                stats = _replicate_stats(sel, ["rho"], column).sort_values("rho")
                ax.plot(stats["rho"], stats["mean"], marker=look.marker, ms=4, color=look.color,
                        ls=look.linestyle, label=str(g) if g is not None else "model")  # fmt: skip
                ax.fill_between(stats["rho"], stats["mean"] - stats["std"],
                                stats["mean"] + stats["std"], color=look.color, alpha=0.2,
                                linewidth=0)  # fmt: skip
            if positive.size and (rhos == 0).any():
                ax.set_xscale("symlog", linthresh=float(positive.min()))
            elif positive.size:
                ax.set_xscale("log")
            _plain_ticks(ax.xaxis)
            ax.set_xlabel("χ² budget ρ")
            ax.set_ylabel(ylabel)
        axes[0, 0].set_title("DRO loss (eq. 28)")
        axes[0, 1].set_title("DRO accuracy")
        handles, names = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncols=_legend_columns(names))
        if note:
            fig.suptitle(f"Zeng et al. Fig. 4 layout — {note} (band)")
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
    from mailviz.plots.colors import series_styles

    groups = _ordered_groups(frame[hue], baseline_label)
    eps_values = sorted(frame["eps"].unique()) if "eps" in frame.columns else [None]
    names = [_group_label(hue, g, baseline_label) for g in groups]
    styles = series_styles(names)
    note = _replicates_note(frame)
    labels = {"entropy_deficit": "entropy deficit log N − H(s̃) (nats)",
              "max_over_uniform": "largest weight × N", "ess_fraction": "ESS / N"}  # fmt: skip
    with style():
        fig, axes = _subplots(1, len(eps_values), figsize=(10.0, 5.0), sharey=True)
        for j, e in enumerate(eps_values):
            ax = axes[0, j]
            part = frame if e is None else frame[frame["eps"] == e]
            for g, look, name in zip(groups, styles, names, strict=True):
                sel = part[_select(part, hue, g, baseline_label)]
                stats = _replicate_stats(sel, ["alpha_test"], value).sort_values("alpha_test")
                ax.errorbar(stats["alpha_test"], stats["mean"], yerr=stats["std"],
                            marker=look.marker, ms=5, capsize=2, color=look.color,
                            ls=look.linestyle, label=name)  # fmt: skip
            ax.set_title("all ε" if e is None else f"ε_test = {_fmt(e)}")
            if j == 0:
                ax.set_ylabel(labels.get(value, value))
        fig.supxlabel("α_test")
        handles, texts = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, texts, loc="outside right center")
        what = "entropy deficit" if value == "entropy_deficit" else "spread"
        fig.suptitle(f"{what.capitalize()} of s̃ (Figs. 5–7){' — ' + note if note else ''}")
    return fig
