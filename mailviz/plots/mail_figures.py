"""MAIL's figures: weight functions vs margin (Table 6), PM vs MM, PGD paths and GAIRAT's κ."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor, nn

from mailviz.plots._style import WEIGHT_CURVES, _fmt, _np, _subplots, palette, style
from mailviz.plots.colors import series_styles

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
    looks = dict(zip(curves, series_styles(list(curves)), strict=True))  # fixed colour per curve
    styles = {"hinge_mirrored": "--", "gairat_tanh": "-.", "step": "-", "exp": ":"}
    with style():
        own_figure = ax is None
        fig = ax.figure if ax is not None else _subplots(1, 1, figsize=(10.0, 5.6))[0]
        ax = ax if ax is not None else fig.axes[0]
        for name, (label, values) in curves.items():
            v = values.detach().double().numpy()
            top = float(v.max())
            if normalize and top > 0:
                v = v / top
            ax.plot(m.numpy(), v, label=label, color=looks[name].color,
                    ls=styles.get(name, "-"), lw=2.2)  # fmt: skip
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
            fig.legend(loc="outside right center")
        else:
            ax.legend(loc="best")
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
    colors = [look.color for look in series_styles(["correct", "misclassified"])]
    with style():
        fig = ax.figure if ax is not None else _subplots(1, 1, figsize=(7.5, 5.6))[0]
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
            ax.legend(loc="lower right", markerscale=2.0)
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.axvline(0.0, color="0.5", lw=0.8)
        ax.set_xlabel("logit margin MM = f_y − max_{j≠y} f_j (logit units)")
        ax.set_ylabel("probabilistic margin PM = p_y − max_{j≠y} p_j")
        ax.set_ylim(-1.05, 1.05)
        ax.set_title(f"PM vs MM: Spearman ρ = {rho:.3f} (n = {p.size})")
    return fig


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
        fig = ax.figure if ax is not None else _subplots(1, 1, figsize=(7.5, 5.6))[0]
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
                            textcoords="offset points", fontsize=12)  # fmt: skip
        assert sc is not None
        fig.colorbar(sc, ax=ax, label="PGD step t")
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(y_lo, y_hi)
        ax.set_aspect("equal")
        ax.set_xlabel("x₁ (input feature, [0, 1])")
        ax.set_ylabel("x₂ (input feature, [0, 1])")
        ax.set_title(f"PGD iterates over the decision regions (ε = {eps:.3g})")
    return fig
