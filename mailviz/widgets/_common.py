"""Constants and rendering helpers the widgets share (choices, PNG encoding, formatting)."""

from __future__ import annotations

import html
import io
import math
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from mailviz import attacks
from mailviz.plots._style import SLIDE_INCHES, SLIDE_MIN_POINTS, slide_points  # noqa: F401

#: The weight functions the explorer offers (dropdown values).
WEIGHT_CHOICES: tuple[str, ...] = (
    "sigmoid",
    "hinge",
    "hinge_mirrored",
    "step",
    "gairat_tanh",
    "exp_kernel",
)

#: Which sliders each weight function reads (the others are hidden).
WEIGHT_PARAMETERS: dict[str, tuple[str, ...]] = {
    "sigmoid": ("gamma", "beta"),
    "hinge": ("gamma", "beta"),
    "hinge_mirrored": ("gamma", "beta"),
    "step": ("beta", "alpha"),
    "gairat_tanh": ("lam",),
    "exp_kernel": ("alpha",),
}

#: The equation each function implements, as shown above the plot.
WEIGHT_EQUATIONS: dict[str, str] = {
    "sigmoid": "w = sigmoid(−γ·(PM − β)) — MAIL Alg. 2–4, line 9",
    "hinge": "w = max(0, γ·(PM − β)) — MAIL Table 6 as printed: zero for every PM &lt; β",
    "hinge_mirrored": "w = max(0, γ·(β − PM)) — the hinge turned the sigmoid's way (not in MAIL)",
    "step": "w = α if PM &gt; β else 1 − α — MAIL Table 6 (α = 0.2)",
    "gairat_tanh": (
        "w = (tanh(λ + 5·(K′ − κ)/K′) + 1)/2, K′ = ⌊K/2⌋ — GAIRAT; "
        "curve drawn at κ = K·(1 + PM)/2 (top axis)"
    ),
    "exp_kernel": "w = exp(−α·PM) — Zeng et al. eq. 7",
}

#: ``start`` values offered by the PGD playground (those of :func:`mailviz.attacks.pgd`).
PLAYGROUND_STARTS: tuple[str, ...] = attacks.STARTS


#: The α of :func:`mailviz.weights.step` lives in [0, 1]; Zeng et al.'s α in [0, 3].
_ALPHA_MAX = {"step": 1.0, "exp_kernel": 3.0}


# --------------------------------------------------------------------------------------------
# Pure compute: weights
# --------------------------------------------------------------------------------------------


def _as_1d(values: Any, name: str, dtype: torch.dtype) -> Tensor:
    if isinstance(values, Tensor):
        t = values.detach().cpu()
    else:
        t = torch.as_tensor(np.array(values))  # a copy: pandas hands out read-only views
    if t.dim() != 1 or t.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array [N], got shape {tuple(t.shape)}")
    return t.to(dtype)


def _check_choice(fn: str) -> None:
    if fn not in WEIGHT_CHOICES:
        raise ValueError(
            f"unknown weight function {fn!r}; choose one of {', '.join(WEIGHT_CHOICES)}"
        )


#: Settings :func:`weight_function_table` uses per function: MAIL-AT's γ = 10, β = −0.5 for the
#: PM-based curves, MAIL Table 6's α = 0.2 for the step, GAIRAT's λ = −1, Zeng et al.'s α = 2.
DEFAULT_SETTINGS: dict[str, dict[str, float]] = {
    "sigmoid": dict(gamma=10.0, beta=-0.5),
    "hinge": dict(gamma=10.0, beta=-0.5),
    "hinge_mirrored": dict(gamma=10.0, beta=-0.5),
    "step": dict(beta=-0.5, alpha=0.2),
    "gairat_tanh": dict(lam=-1.0),
    "exp_kernel": dict(alpha=2.0),
}


# --------------------------------------------------------------------------------------------
# Rendering helpers
# --------------------------------------------------------------------------------------------


def _encode(canvas: Any) -> bytes:
    """PNG of an Agg canvas's current buffer (zlib level 1: the image lives for one update)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(canvas.buffer_rgba()), "RGBA").save(
        buf, format="png", compress_level=1
    )
    return buf.getvalue()


def _png(fig: Figure, dpi: float | None = None) -> bytes:
    """Agg-draw ``fig`` once and encode it as PNG.

    ``savefig`` would draw twice (layout pass + print); one ``canvas.draw()`` and a direct
    Pillow encode of the RGBA buffer halves the cost.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if dpi is not None and fig.dpi != dpi:
        fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)  # also detaches a pyplot-managed figure from its GUI canvas
    canvas.draw()
    return _encode(canvas)


def _layout_fits(fig: Figure, renderer: Any, panels: list[list[Any]]) -> bool:
    """Whether everything ``fig`` draws lies inside it and the ``panels`` do not overlap in x.

    ``panels`` lists, left to right, the axes of each panel (an axes and its twins). Uses the
    drawn state (call after ``canvas.draw()``): tick labels that changed since the layout was
    frozen can poke out of the figure or into the neighbouring panel.
    """
    width, height = fig.get_size_inches()
    tight = fig.get_tightbbox(renderer)  # inches
    eps = 1e-6
    if tight.x0 < -eps or tight.y0 < -eps or tight.x1 > width + eps or tight.y1 > height + eps:
        return False
    right_edges = []
    for axes in panels:
        boxes = [ax.get_tightbbox(renderer) for ax in axes if ax.get_visible()]
        boxes = [b for b in boxes if b is not None]
        if not boxes:
            continue
        x0, x1 = min(b.x0 for b in boxes), max(b.x1 for b in boxes)
        if right_edges and x0 < right_edges[-1]:
            return False
        right_edges.append(x1)
    return True


def _nice_ceiling(x: float) -> float:
    """The smallest of (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8) × 10^k that is ≥ ``x`` (1 for ``x ≤ 0``).

    Axis limits snapped to these values change only now and then as a slider moves.

    Example:
        >>> _nice_ceiling(0.73), _nice_ceiling(3.2), _nice_ceiling(41.0)
        (0.8, 4.0, 50.0)
    """
    if not x > 0 or not math.isfinite(x):
        return 1.0
    base = 10.0 ** math.floor(math.log10(x))
    for m in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if m * base >= x * (1 - 1e-12):
            return m * base
    return 10.0 * base


def _percent(x: float | None) -> str:
    if x is None:
        return "—"
    if math.isnan(x):
        return "undefined (every weight is 0)"
    return f"{100.0 * x:.1f} %"


def _model_device(model: nn.Module) -> torch.device:
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


#: Cell styles of the playground's table: the ipywidgets HTML output gets none of JupyterLab's
#: table CSS, so without padding the headers run together ("PM cleanPM adv").
_CELL = "padding:3px 8px;text-align:right;white-space:nowrap"
_TH = f"<th style='{_CELL};border-bottom:2px solid #888;font-weight:bold'>"
_TD = f"<td style='{_CELL};border-bottom:1px solid #ddd'>"
_TABLE_HEADERS = ("point", "label", "κ", "PM clean", "PM adv", "correct after attack")


def _table_html(state: dict[str, Any]) -> str:
    """The playground's κ/PM table: one padded, ruled ``<th>`` per column, one row per point."""
    rows = []
    for i in range(len(state["y"])):
        ok = bool(state["correct"][i])
        cells = (
            str(i), str(int(state["y"][i])), str(int(state["kappa"][i])),
            f"{float(state['pm_clean'][i]):+.3f}", f"{float(state['pm_adv'][i]):+.3f}",
            "yes" if ok else "<b>no</b>",
        )  # fmt: skip
        rows.append("<tr>" + "".join(f"{_TD}{c}</td>" for c in cells) + "</tr>")
    step = "line search" if state["lm"] else f"{state['step_size']:.3g}"
    method = "LM-PGD" if state["lm"] else "PGD"
    caption = html.escape(
        f"{method}-{state['steps']}, ε = {state['eps']:.3g}, step = {step}, "
        f"start = {state['start']}"
    )
    header = "".join(f"{_TH}{html.escape(h)}</th>" for h in _TABLE_HEADERS)
    return (
        "<table class='mailviz-table' style='border-collapse:collapse;font-size:90%;"
        "margin:4px 0 0 8px'>"
        f"<caption style='text-align:left;padding:0 0 4px 8px'>{caption}</caption>"
        f"<tr>{header}</tr>" + "".join(rows) + "</table>"
    )


def _close(fig: Figure) -> None:
    """Release a figure made by :mod:`mailviz.plots` (pyplot-managed or not)."""
    import matplotlib.pyplot as plt

    plt.close(fig)
