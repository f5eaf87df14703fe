"""Figures of lesson 09 (the gradient-masking audit): accuracy against the logit scale, and
the PGD-20 − worst-case gap per method. Both take the frames of :mod:`mailviz.audit`."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mailviz import plots
from mailviz.plots._style import _plain_ticks
from mailviz.plots.colors import series_styles

__all__ = ["attack_dots", "scale_curves", "gap_dots"]

_SCALE = re.compile(r"^LS-PGD-20 \(s=(.+)\)$")


def attack_dots(results: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Accuracy of every method under every attack in one panel: one row per method, one
    colour per attack, the mean over replicates ± one standard deviation (``results`` is
    :func:`mailviz.analysis.accuracies`' tidy frame)."""
    need = {"model", "attack", "value"}
    if not need <= set(results.columns):
        raise ValueError(f"results needs columns {sorted(need)} — use analysis.accuracies")
    methods = list(dict.fromkeys(results["model"]))
    attacks = list(dict.fromkeys(results["attack"]))
    looks = series_styles([plots.attack_label(a) for a in attacks])
    offsets = np.linspace(-0.3, 0.3, len(attacks)) if len(attacks) > 1 else np.zeros(1)
    with plots.style():
        fig, axes = plots._subplots(1, 1, figsize=(10.0, min(5.6, 0.55 * len(methods) + 1.6)))
        ax = axes[0, 0]
        for look, attack, dy in zip(looks, attacks, offsets, strict=True):
            part = results[results["attack"] == attack]
            stats = plots._replicate_stats(part, ["model"], "value").set_index("model")
            stats = stats.reindex(methods)
            ax.errorbar(stats["mean"], np.arange(len(methods)) + dy, xerr=stats["std"],
                        fmt=look.marker, ms=6, capsize=2, color=look.color,
                        label=plots.attack_label(attack))  # fmt: skip
        ax.set_yticks(np.arange(len(methods)), methods)
        ax.invert_yaxis()
        ax.set_xlabel("accuracy (%)")
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
        note = plots._replicates_note(results)
        fig.suptitle(f"{title or 'Accuracy under each attack'} ({note})")
    return fig


def scale_curves(per: pd.DataFrame, *, title: str | None = None) -> Figure:
    """PGD-20 accuracy on ``CE(s·f(x′))`` against the logit scale ``s`` (log axis), one line per
    method: the mean over replicates with a ± one-standard-deviation band; the dashed line is
    the per-example worst over all scales (the logit-scaled attack)."""
    from mailviz.audit import LS

    rows = per[per["attack"].str.match(_SCALE.pattern) | (per["attack"] == LS)]
    if rows.empty:
        raise ValueError("per has no logit-scaled rows — build it with audit.audit_per_example")
    acc = 100.0 * rows.groupby(["model", "seed", "attack"], sort=False)["correct"].mean()
    acc = acc.rename("value").reset_index()
    methods = list(dict.fromkeys(acc["model"]))
    looks = series_styles(methods)  # each method in its fixed colour
    with plots.style():
        fig, axes = plots._subplots(1, 1, figsize=(10.0, 5.6))
        ax = axes[0, 0]
        for look, method in zip(looks, methods, strict=True):
            color = look.color
            part = acc[acc["model"] == method]
            curve = part[part["attack"] != LS].copy()
            curve["scale"] = [float(_SCALE.match(a).group(1)) for a in curve["attack"]]
            stats = plots._replicate_stats(curve, ["scale"], "value").sort_values("scale")
            ax.plot(stats["scale"], stats["mean"], marker=look.marker, ls=look.linestyle,
                    color=color, label=method)  # fmt: skip
            ax.fill_between(stats["scale"], stats["mean"] - stats["std"],
                            stats["mean"] + stats["std"], color=color, alpha=0.15)  # fmt: skip
            worst = part[part["attack"] == LS]["value"].mean()
            ax.axhline(worst, color=color, ls="--", lw=1.0)
        ax.set_xscale("log")
        _plain_ticks(ax.xaxis)
        ax.set_xlabel("logit scale s (PGD-20 on CE(s·f(x′)))")
        ax.set_ylabel("accuracy (%)")
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
        note = plots._replicates_note(acc)
        fig.suptitle(f"{title or 'Accuracy against the logit scale'}\n{note}; dashed: the worst "
                     "over the scales")  # fmt: skip
    return fig


def gap_dots(gaps: pd.DataFrame, *, title: str | None = None) -> Figure:
    """PGD-20 and worst-case accuracy per method on the audit subset (:func:`mailviz.audit.
    gap_frame`): each replicate as a small dot, the means joined by a line whose length is the
    gap."""
    need = {"model", "seed", "PGD-20", "worst case"}
    if not need <= set(gaps.columns):
        raise ValueError(f"gaps needs columns {sorted(need)} — build it with audit.gap_frame")
    methods = list(dict.fromkeys(gaps["model"]))
    colors = [look.color for look in series_styles(["PGD-20", "worst case"])]
    with plots.style():
        fig, axes = plots._subplots(1, 1, figsize=(10.0, min(5.6, 0.5 * len(methods) + 1.8)))
        ax = axes[0, 0]
        for i, method in enumerate(methods):
            part = gaps[gaps["model"] == method]
            means = [part[c].mean() for c in ("PGD-20", "worst case")]
            ax.plot(means, [i, i], "-", color="0.5", lw=2, zorder=1)
            for color, column in zip(colors, ("PGD-20", "worst case"), strict=True):
                ax.plot(part[column], np.full(len(part), i), "o", ms=4, color=color, alpha=0.6)
                ax.plot(part[column].mean(), i, "o", ms=9, color=color,
                        label=column if i == 0 else None)  # fmt: skip
        ax.set_yticks(np.arange(len(methods)), methods)
        ax.invert_yaxis()
        ax.set_xlabel("accuracy (%) on the audit subset")
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
        n = gaps["seed"].nunique()
        fig.suptitle(f"{title or 'PGD-20 against the worst case'}\nlarge dots: mean of {n} "
                     "replicate(s); small dots: single seeds")  # fmt: skip
    return fig
