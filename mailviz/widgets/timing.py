"""Slider → image latency of a widget (what the README's timings measure)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np

# --------------------------------------------------------------------------------------------
# Latency
# --------------------------------------------------------------------------------------------


def latency(widget: widgets.Widget, n: int = 20, control: str | None = None) -> float:
    """Median time (ms) from setting a slider's value to the widget's redrawn output.

    Moves ``widget.controls[control]`` (default: the widget's ``latency_control``, γ for the
    weight explorer, ε for the playground) through ``n`` different values within its range and
    times each assignment: the ``observe`` callback recomputes and re-renders synchronously, so
    the assignment returns when the new PNG is in ``widget.image``. The value in force before
    the measurement is restored afterwards (not timed).

    Example:
        >>> ms = latency(weight_explorer(), n=5)  # doctest: +SKIP
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    controls = getattr(widget, "controls", None)
    name = control or getattr(widget, "latency_control", None)
    if not isinstance(controls, dict) or name not in controls:
        raise ValueError(
            f"widget has no slider {name!r}; pass control= one of {sorted(controls or {})}"
        )
    slider = controls[name]
    if not hasattr(slider, "min") or not hasattr(slider, "max"):
        raise ValueError(f"control {name!r} is not a slider; pick one with a min and max")
    original = slider.value
    values = _zigzag(slider.min, slider.max, slider.step, original, n)
    times = []
    try:
        for v in values:
            before = widget.renders
            t0 = time.perf_counter()
            slider.value = v
            times.append(time.perf_counter() - t0)
            if widget.renders == before:
                raise RuntimeError(f"setting {name}={v!r} did not redraw the widget")
    finally:
        slider.value = original
    return 1000.0 * statistics.median(times)


def _zigzag(low: float, high: float, step: float, start: float, n: int) -> Sequence[float]:
    """``n`` slider values each different from the one before, inside ``[low, high]``."""
    grid = np.arange(low, high + 0.5 * step, step)
    if isinstance(start, int) and isinstance(step, int):
        grid = grid.astype(int)
    i = int(np.argmin(np.abs(grid - start)))
    out, direction = [], 1
    for _ in range(n):
        if not 0 <= i + direction < len(grid):
            direction = -direction
        i += direction
        out.append(grid[i].item())
    return out
