"""One fixed, colour-blind-safe colour per method / curve, and the distances that check it.

The colours are Okabe & Ito's qualitative palette (*Color Universal Design*, 2008) without its
yellow (too light on white), plus a dark grey. :func:`series_styles` gives every series of a
figure a ``(color, marker, linestyle)``: a name the lessons use (a method of MAIL's tables, a
weight function of Table 6, an α_train of Zeng et al.'s figures, an attack) always gets the
same colour; other names take the free colours in order; when a figure holds more series than
there are colours, the repeats get another line style and marker, so no two series look alike.

:func:`delta_e` is the CIE 1976 colour difference ΔE*ab = ‖Lab₁ − Lab₂‖₂ (sRGB, D65), optionally
after simulating deuteranopia (Machado, Oliveira & Fernandes 2009, severity 1); the tests assert
a minimum ΔE between the series of every figure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Okabe–Ito colours (yellow left out) and a dark grey, in the order unnamed series take them.
OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "bluish green": "#009E73",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
    "sky blue": "#56B4E9",
    "black": "#000000",
    "dark grey": "#5F5F5F",
}
_C = OKABE_ITO
#: Fixed colour of every series name the lessons draw (lower case; "(Zeng)" and "(α_train=…)"
#: suffixes are ignored when the full name is not listed).
SERIES_COLORS: dict[str, str] = {
    # methods (MAIL Tables 4, 7; Zeng et al.; lesson 09)
    "at": _C["blue"], "pgd": _C["blue"], "trades": _C["sky blue"], "mart": _C["bluish green"],
    "fat": _C["dark grey"], "awp": _C["black"], "gairat": _C["orange"],
    "mail-at": _C["vermillion"], "mail-trades": _C["reddish purple"],
    "mail-mart": _C["bluish green"], "pgd+ours": _C["bluish green"], "trades+ours": _C["black"],
    "clean": _C["dark grey"], "baseline": _C["black"],
    # weight functions (MAIL Table 6, GAIRAT, Zeng eq. 7)
    "sigmoid": _C["blue"], "hinge": _C["vermillion"], "hinge_mirrored": _C["sky blue"],
    "step": _C["bluish green"], "gairat_tanh": _C["orange"], "exp": _C["reddish purple"],
    # α_train of Zeng et al.'s TRADES+ours models (Figs. 3, 5–7)
    "α_train = 0.1": _C["sky blue"], "α_train = 1": _C["bluish green"],
    "α_train = 1.5": _C["orange"], "α_train = 2": _C["vermillion"],
    # margins (MAIL appendix Table 5)
    "pm": _C["blue"], "mm": _C["orange"],
}  # fmt: skip
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES: tuple[str, ...] = ("-", "--", ":", "-.")
_SUFFIX = re.compile(r"\s*\((zeng|α_train\s*=\s*[^)]*)\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class SeriesStyle:
    """How one series is drawn: ``color`` (hex), ``marker`` and ``linestyle``."""

    color: str
    marker: str
    linestyle: str


def fixed_color(label: Any) -> str | None:
    """The fixed colour of a series name (``"MAIL-AT"``, ``"α_train = 2"``, ``"hinge"``), or
    ``None`` when the name has none."""
    key = str(label).strip().lower()
    if key in SERIES_COLORS:
        return SERIES_COLORS[key]
    short = _SUFFIX.sub("", key)
    return SERIES_COLORS.get(short)


def series_styles(labels: Sequence[Any]) -> list[SeriesStyle]:
    """A distinct ``SeriesStyle`` per label, in order (see the module docstring).

    A named series keeps its fixed colour unless an earlier series of the same figure already
    took it; every series also gets its own marker (cycling over :data:`MARKERS`).

    Example:
        >>> [s.color for s in series_styles(["AT", "MAIL-AT", "something"])]
        ['#0072B2', '#D55E00', '#E69F00']
    """
    palette = list(OKABE_ITO.values())
    used: list[str] = []
    colors: list[str] = []
    for label in labels:
        color = fixed_color(label)
        if color is None or color in used:
            free = [c for c in palette if c not in used]
            color = free[0] if free else palette[len(colors) % len(palette)]
        used.append(color)
        colors.append(color)
    out = []
    for k, color in enumerate(colors):
        repeat = colors[:k].count(color)  # > 0 only past len(palette) series
        out.append(SeriesStyle(color, MARKERS[k % len(MARKERS)],
                               LINESTYLES[repeat % len(LINESTYLES)]))  # fmt: skip
    return out


def series_colors(n: int) -> list[str]:
    """``n`` colours for unnamed series (Okabe–Ito order, cycling past 8)."""
    palette = list(OKABE_ITO.values())
    return [palette[k % len(palette)] for k in range(n)]


# --------------------------------------------------------------------------------------------
# Colour distances (for the tests)
# --------------------------------------------------------------------------------------------

_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                 [0.2126729, 0.7151522, 0.0721750],
                 [0.0193339, 0.1191920, 0.9503041]])  # fmt: skip
#: Machado et al. (2009) deuteranopia, severity 1.0, on linear RGB.
_DEUTERANOPIA = np.array([[0.367322, 0.860646, -0.227968],
                          [0.280085, 0.672501, 0.047413],
                          [-0.011820, 0.042940, 0.968881]])  # fmt: skip


def _linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    xyz = _XYZ @ np.clip(linear_rgb, 0.0, 1.0) / np.array([0.95047, 1.0, 1.08883])
    d = 6.0 / 29.0
    f = np.where(xyz > d**3, np.cbrt(xyz), xyz / (3 * d * d) + 4.0 / 29.0)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a: Any, b: Any, *, deuteranopia: bool = False) -> float:
    """CIE76 ΔE*ab between two matplotlib colours (ΔE ≈ 2.3 is a just-noticeable difference;
    well-separated plot colours differ by ≳ 20), optionally as a deuteranope sees them."""
    from matplotlib.colors import to_rgb

    la, lb = (_linear(np.asarray(to_rgb(c), dtype=float)) for c in (a, b))
    if deuteranopia:
        la, lb = _DEUTERANOPIA @ la, _DEUTERANOPIA @ lb
    return float(np.linalg.norm(_lab(la) - _lab(lb)))
