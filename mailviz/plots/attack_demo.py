"""Figures of lesson 00: what an attack does to a digit, and robust accuracy as a curve in ε."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mailviz.plots._style import _np, _require, _subplots, attack_label, style
from mailviz.plots.colors import series_styles


def _image(ax: Any, img: np.ndarray, cmap: str = "gray_r", **kw: Any) -> None:
    ax.imshow(img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0)), cmap=cmap, **kw)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def adversarial_examples(
    x: Any,
    x_adv: Any,
    y: Any,
    pred_clean: Any,
    pred_adv: Any,
    *,
    eps: float,
    class_names: Sequence[str] | None = None,
    n: int = 4,
) -> Figure:
    """Clean digits, their perturbation ``δ = x′ − x`` and the attacked digits, side by side.

    One column per example (the first ``n``): row 1 the clean image with its prediction, row 2
    the perturbation on a diverging scale fixed to ``[−ε, ε]`` (so the figure shows that every
    pixel moved by at most ε), row 3 the adversarial image with the new prediction. A
    prediction that differs from the label is marked "✗".

    Args:
        x, x_adv: ``[B, C, H, W]`` images in [0, 1] (clean and attacked).
        y: ``[B]`` labels.
        pred_clean, pred_adv: ``[B]`` predicted classes on ``x`` and ``x_adv``.
        eps: the L∞ budget (the colour range of the perturbation row).
        class_names: display names of the classes (default: the class index).
        n: examples shown (at most ``B``).
    """
    x, x_adv = _np(x), _np(x_adv)
    y, pred_clean, pred_adv = _np(y), _np(pred_clean), _np(pred_adv)
    if x.ndim != 4 or x.shape != x_adv.shape:
        raise ValueError(
            f"x and x_adv must be image batches [B, C, H, W] of one shape, got {x.shape} and "
            f"{x_adv.shape}"
        )
    if n < 1 or not len(y) == len(pred_clean) == len(pred_adv) == len(x):
        raise ValueError("y, pred_clean and pred_adv need one entry per image, and n >= 1")
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    n = min(n, len(x))
    def caption(kind: str, pred: int, label: int) -> str:
        name = class_names[pred] if class_names is not None else str(pred)
        return f"{kind}: {name}" + ("" if pred == label else " ✗")

    with style():
        fig, axes = _subplots(3, n, panel=(2.0, 1.9))
        for k in range(n):
            _image(axes[0, k], x[k], vmin=0, vmax=1)
            axes[0, k].set_title(caption("clean", int(pred_clean[k]), int(y[k])))
            _image(axes[1, k], x_adv[k] - x[k], cmap="RdBu_r", vmin=-eps, vmax=eps)
            axes[1, k].set_title(f"δ, |δ| ≤ {eps:g}")
            _image(axes[2, k], x_adv[k], vmin=0, vmax=1)
            axes[2, k].set_title(caption("attacked", int(pred_adv[k]), int(y[k])))
        axes[0, 0].set_ylabel("clean x")
        axes[1, 0].set_ylabel("δ = x′ − x")
        axes[2, 0].set_ylabel("attacked x′")
    return fig


def robustness_curve(frame: pd.DataFrame, *, eps_train: float | None = None) -> Figure:
    """Accuracy (%) under an attack as a function of its budget ε, one line per model.

    ``A(ε) = (100/N)·Σ_i 1[f(x′_i) = y_i]`` with ``x′_i`` the attack's output in the ε-ball;
    ε = 0 is the clean accuracy. A model that is accurate but not robust falls to near zero
    as soon as ε grows; an adversarially trained one degrades slowly.

    Args:
        frame: tidy rows ``model, attack, eps, value`` as :func:`mailviz.evaluate.evaluate`
            returns (``nat`` rows give the ε = 0 point of each model).
        eps_train: draw a vertical line at this budget (the profile's ε).
    """
    _require(frame, ["model", "attack", "eps", "value"], "robustness_curve")
    with style():
        fig, axes = _subplots(1, 1, panel=(6.4, 3.6))
        ax = axes[0, 0]
        models = list(dict.fromkeys(frame["model"]))
        attacks = sorted(set(frame["attack"]) - {"nat"})
        for look, model in zip(series_styles([str(m) for m in models]), models, strict=True):
            rows = frame[frame["model"] == model].sort_values("eps")
            ax.plot(rows["eps"], rows["value"], color=look.color, marker=look.marker,
                    linestyle=look.linestyle, label=model)  # fmt: skip
        if eps_train is not None:
            ax.axvline(eps_train, color="0.4", linestyle="--", linewidth=1)
            ax.annotate(f"ε = {eps_train:g}", (eps_train, 96), xytext=(4, 0),
                        textcoords="offset points", va="top", color="0.3")  # fmt: skip
        label = " / ".join(attack_label(a) for a in attacks) if attacks else "no attack"
        ax.set(xlabel="attack budget ε (pixel scale)", ylabel="test accuracy (%)",
               ylim=(0, 100), title=f"accuracy under {label} vs ε (ε = 0: clean)")  # fmt: skip
        ax.legend(loc="lower left")
    return fig
