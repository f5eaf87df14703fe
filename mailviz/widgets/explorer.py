"""The weight-function explorer: MAIL's sigmoid, hinge, step; GAIRAT's tanh of κ; Zeng's exp kernel.

Pick a weight function, move its parameters, see the curve over PM ∈ [−1, 1] and, given the PMs
of a real model's adversarial test set, the histogram of the normalised weights and the share of
the weight mass that lands on misclassified examples (numbers from
:func:`~mailviz.widgets.weight_state.explorer_state`).
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from mailviz.widgets._common import (
    _ALPHA_MAX,
    WEIGHT_CHOICES,
    WEIGHT_EQUATIONS,
    WEIGHT_PARAMETERS,
    _as_1d,
    _check_choice,
    _encode,
    _layout_fits,
    _nice_ceiling,
    _percent,
)
from mailviz.widgets.weight_state import explorer_state

# --------------------------------------------------------------------------------------------
# Weight explorer widget
# --------------------------------------------------------------------------------------------

#: The explorer's figure size (inches) and text size (points): slide-ready, since
#: ``FONT × min(13.33/W, 7.5/H) = 10 × 1.515 ≈ 15.2 ≥ 14`` (:func:`~._common.slide_points`).
#: Set here, not through rcParams, so a notebook's style leaves the widget's text alone.
FIGSIZE: tuple[float, float] = (8.8, 3.4)
FONT = 10.0


class WeightExplorer(widgets.VBox):
    """Dropdown + sliders → curve of the weight function and histogram of the normalised weights.

    Built by :func:`weight_explorer`; see there. Attributes:

    * ``controls``: ``{"fn": Dropdown, "gamma", "beta", "alpha", "lam": FloatSlider}``;
    * ``state``: the last :func:`explorer_state` dict;
    * ``image``: the ``ipywidgets.Image`` holding the PNG; ``summary``: the ``ipywidgets.HTML``
      with the share of weight mass on misclassified examples; ``equation``: the formula shown;
    * ``figure``: the one matplotlib figure reused by every update; ``renders``: update count.
    """

    latency_control = "gamma"

    def __init__(  # long: builds and wires every control of the explorer, in display order
        self,
        margins: Any = None,
        correct: Any = None,
        *,
        kappa: Any = None,
        steps: int = 10,
        fn: str = "sigmoid",
        gamma: float = 10.0,
        beta: float = -0.5,
        alpha: float = 0.2,
        lam: float = -1.0,
        bins: int = 30,
        dpi: float = 80.0,
    ) -> None:
        _check_choice(fn)
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
            raise ValueError(f"bins must be an int >= 2, got {bins!r}")
        ranges = {
            "gamma": (0.0, 20.0), "beta": (-1.0, 1.0), "alpha": (0.0, _ALPHA_MAX.get(fn, 3.0)),
            "lam": (-5.0, 5.0),
        }  # fmt: skip
        for name, value in dict(gamma=gamma, beta=beta, alpha=alpha, lam=lam).items():
            low, high = ranges[name]
            if not low <= value <= high:
                raise ValueError(
                    f"{name} must lie in the slider range [{low:g}, {high:g}] for fn={fn!r}, "
                    f"got {value!r} — use explorer_state() for values outside it"
                )
        # validate the data once, up front (raises the one-line errors of explorer_state)
        self._data = dict(margins=margins, correct=correct, kappa=kappa, steps=steps)
        explorer_state(fn, gamma, beta, alpha, lam, n_curve=2, **self._data)
        self._bins = bins
        self._dpi = dpi
        self.renders = 0
        self._hold = False
        style = {"description_width": "2.5em"}

        def layout() -> widgets.Layout:  # one each: hiding a slider sets its layout.display
            return widgets.Layout(width="340px")

        self.controls: dict[str, widgets.ValueWidget] = {
            "fn": widgets.Dropdown(
                options=[(name.replace("_", " "), name) for name in WEIGHT_CHOICES],
                value=fn,
                description="w(·)",
                style=style,
            ),
            "gamma": widgets.FloatSlider(
                value=gamma, min=ranges["gamma"][0], max=ranges["gamma"][1], step=0.5,
                description="γ", readout_format=".1f", style=style, layout=layout(),
            ),
            "beta": widgets.FloatSlider(
                value=beta, min=ranges["beta"][0], max=ranges["beta"][1], step=0.05,
                description="β", readout_format=".2f", style=style, layout=layout(),
            ),
            "alpha": widgets.FloatSlider(
                value=alpha, min=ranges["alpha"][0], max=ranges["alpha"][1], step=0.05,
                description="α", readout_format=".2f", style=style, layout=layout(),
            ),
            "lam": widgets.FloatSlider(
                value=lam, min=ranges["lam"][0], max=ranges["lam"][1], step=0.25,
                description="λ", readout_format=".2f", style=style, layout=layout(),
            ),
        }  # fmt: skip
        for name, control in self.controls.items():
            control.add_class(f"mailviz-{name}")
        self.equation = widgets.HTML()
        self.summary = widgets.HTML()
        self.summary.add_class("mailviz-share")
        self.image = widgets.Image(format="png")
        self.image.add_class("mailviz-plot")
        self.figure = self._build_figure(margins is not None)
        self._draw(explorer_state(fn, gamma, beta, alpha, lam, **self._data))
        # Lay the figure out once (constrained layout), then freeze the axes positions: running
        # the layout engine on every slider move would double the cost of an update.
        self._relayout()
        sliders = widgets.VBox([self.controls[n] for n in ("gamma", "beta", "alpha", "lam")])
        super().__init__(
            [
                widgets.HBox([self.controls["fn"], self.equation]),
                sliders,
                self.image,
                self.summary,
            ]
        )
        self.add_class("mailviz-weight-explorer")
        self.controls["fn"].observe(self._on_fn, names="value")
        for name in ("gamma", "beta", "alpha", "lam"):
            self.controls[name].observe(self._on_change, names="value")
        self._configure(fn)
        self.update()

    # -- figure ----------------------------------------------------------------------------
    def _build_figure(self, with_data: bool) -> Figure:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = Figure(figsize=FIGSIZE, dpi=self._dpi, layout="constrained")
        self._canvas = FigureCanvasAgg(fig)
        ax_curve, ax_hist = fig.subplots(1, 2, width_ratios=(1.1, 1.0))
        for ax in (ax_curve, ax_hist):
            ax.tick_params(labelsize=FONT)
        ax_curve.axvspan(-1.0, 0.0, color="tab:red", alpha=0.07, lw=0)
        ax_curve.text(-0.98, 0.97, "misclassified (PM < 0)",
                      transform=ax_curve.get_xaxis_transform(), va="top", fontsize=FONT,
                      color="tab:red")  # fmt: skip
        ax_curve.set_xlim(-1.0, 1.0)
        ax_curve.set_xlabel("probabilistic margin PM", fontsize=FONT)
        ax_curve.set_ylabel("raw weight w", fontsize=FONT)
        ax_curve.set_title("weight function: hinge mirrored", fontsize=FONT)  # reserve the space
        (self._line,) = ax_curve.plot([], [], color="tab:blue", lw=2, animated=True)
        self._beta_line = ax_curve.axvline(0.0, color="0.4", ls="--", lw=1, animated=True)
        self._animated: list[Any] = [self._line, self._beta_line]
        # κ axis for GAIRAT: κ = K·(1 + PM)/2 (pm_to_kappa)
        k = float(self._data["steps"])
        self._kappa_axis = ax_curve.secondary_xaxis(
            "top", functions=(lambda p: k * (1.0 + p) / 2.0, lambda q: 2.0 * q / k - 1.0)
        )
        self._kappa_axis.set_xlabel(f"κ (least PGD steps, K = {int(k)})", fontsize=FONT)
        self._kappa_axis.tick_params(labelsize=FONT)
        if with_data:
            pm = _as_1d(self._data["margins"], "margins", torch.float64).numpy()
            ax_pm = ax_curve.twinx()
            ax_pm.hist(pm, bins=40, range=(-1.0, 1.0), color="0.6", alpha=0.35)
            ax_pm.set_yticks([])
            ax_pm.set_ylabel("test PMs", fontsize=FONT, color="0.5")
            ax_curve.set_zorder(ax_pm.get_zorder() + 1)
            ax_curve.patch.set_visible(False)
            ax_hist.set_xlabel("normalised weight ω = N·w / Σw", fontsize=FONT)
            ax_hist.set_ylabel("examples", fontsize=FONT)
            ax_hist.set_title("share of weight on misclassified: 100.0 %", fontsize=FONT)
            ax_hist.title.set_animated(True)
            edges = np.linspace(0.0, 1.0, self._bins + 1)
            zeros = np.zeros(self._bins)
            self._bars_ok = ax_hist.bar(edges[:-1], zeros, width=np.diff(edges), align="edge",
                                        color="tab:blue", label="correct")  # fmt: skip
            self._bars_bad = ax_hist.bar(edges[:-1], zeros, width=np.diff(edges), align="edge",
                                         color="tab:red", label="misclassified")  # fmt: skip
            ax_hist.legend(loc="upper right", fontsize=FONT)
            for rect in (*self._bars_ok, *self._bars_bad):
                rect.set_animated(True)
            self._animated += [*self._bars_ok, *self._bars_bad, ax_hist.title]
        else:
            ax_hist.set_axis_off()
            ax_hist.text(0.5, 0.5, "pass margins=<PMs of an adversarial test set>\n"
                         "to see the normalised weights", ha="center", va="center",
                         transform=ax_hist.transAxes, color="0.4", fontsize=FONT)  # fmt: skip
        self._ax_curve, self._ax_hist = ax_curve, ax_hist
        twins = [ax for ax in fig.axes if ax not in (ax_curve, ax_hist)]
        self._panels = [[ax_curve, *twins], [ax_hist]]
        self._background: Any = None
        self._bg_for: Any = None
        self._limits: dict[str, Any] = {}
        self._static_key: tuple[Any, ...] | None = None
        return fig

    def _limit(self, name: str, needed: float) -> float:
        """Sticky axis limit: kept while ``needed`` lies in [40 %, 100 %] of it, else re-snapped.

        A slider sweep then changes the limits (and forces a full redraw) only now and then.
        """
        current = self._limits.get(name)
        if current is None or needed > current or needed < 0.4 * current:
            current = _nice_ceiling(needed)
            self._limits[name] = current
        return current

    def _draw(self, state: dict[str, Any]) -> tuple[Any, ...]:
        """Update every artist from ``state``; return the key of the static (non-animated) part.

        Axis limits snap to round values and stick while the data fit them (:meth:`_limit`), so
        most slider moves leave them, and with them the tick labels, unchanged and the update only
        redraws the animated artists (blitting).
        """
        fn = state["fn"]
        x, y = state["curve_x"], state["curve_y"]
        self._line.set_data(x, y)
        if fn != self._limits.get("fn"):
            self._limits = {"fn": fn}  # a new function starts from limits that fit it
        curve_top = self._limit("curve_top", 1.05 * float(np.max(y)))
        self._ax_curve.set_ylim(0.0, curve_top)
        self._beta_line.set_xdata([state["beta"], state["beta"]])
        self._beta_line.set_visible("beta" in WEIGHT_PARAMETERS[fn])
        self._kappa_axis.set_visible(fn == "gairat_tanh")
        self._ax_curve.set_title(f"weight function: {fn.replace('_', ' ')}", fontsize=FONT)
        if state["weights"] is None:
            return (fn, curve_top)
        omega, ok = state["weights"], state["correct"]
        hist_right = self._limit("hist_right", float(omega.max()))
        edges = np.linspace(0.0, hist_right, self._bins + 1)
        n_ok, _ = np.histogram(omega[ok], bins=edges)
        n_bad, _ = np.histogram(omega[~ok], bins=edges)
        width = float(edges[1] - edges[0])
        for rect_ok, rect_bad, left, h_ok, h_bad in zip(
            self._bars_ok, self._bars_bad, edges[:-1], n_ok, n_bad, strict=True
        ):
            rect_ok.set_x(left)
            rect_ok.set_width(width)
            rect_ok.set_height(h_ok)
            rect_bad.set_x(left)
            rect_bad.set_width(width)
            rect_bad.set_y(h_ok)
            rect_bad.set_height(h_bad)
        hist_top = self._limit("hist_top", 1.08 * max(1, int((n_ok + n_bad).max())))
        self._ax_hist.set_xlim(0.0, hist_right)
        self._ax_hist.set_ylim(0.0, hist_top)
        share = state["share_misclassified"]  # NaN: every weight 0 (the long text would not fit)
        self._ax_hist.title.set_text(
            "every weight is 0: no share" if share != share
            else f"share of weight on misclassified: {_percent(share)}"
        )  # fmt: skip
        return (fn, curve_top, hist_right, hist_top)

    def _render(self, state: dict[str, Any]) -> bytes:
        """Draw ``state`` and return the PNG; redraw the static part only when its key changed."""
        key = self._draw(state)
        # a savefig at another dpi (plots.save) replaces the renderer: the background is stale
        renderer = self._canvas.get_renderer()
        if key != self._static_key or self._background is None or renderer is not self._bg_for:
            self._canvas.draw()  # skips the animated artists
            if not _layout_fits(self.figure, self._canvas.get_renderer(), self._panels):
                self._relayout()  # new tick labels poke out: lay out again (now and then)
            self._background = self._canvas.copy_from_bbox(self.figure.bbox)
            self._static_key = key
            self._bg_for = self._canvas.get_renderer()
        else:
            self._canvas.restore_region(self._background)
        for artist in self._animated:
            self.figure.draw_artist(artist)
        return _encode(self._canvas)

    def _relayout(self) -> None:
        """Run constrained layout once for the current labels (one draw), then freeze it."""
        self.figure.set_layout_engine("constrained")
        self._canvas.draw()  # constrained layout runs inside this draw
        self.figure.set_layout_engine("none")

    # -- wiring ------------------------------------------------------------------------------
    def _configure(self, fn: str) -> None:
        """Show only the sliders ``fn`` reads; α's range follows the function."""
        self._hold = True
        try:
            alpha = self.controls["alpha"]
            if fn in _ALPHA_MAX:
                alpha.max = _ALPHA_MAX[fn]  # lowering max clamps the value into [0, 1] for step
            for name in ("gamma", "beta", "alpha", "lam"):
                used = name in WEIGHT_PARAMETERS[fn]
                self.controls[name].layout.display = None if used else "none"
            self.equation.value = f"<code>{WEIGHT_EQUATIONS[fn]}</code>"
        finally:
            self._hold = False

    def _on_fn(self, change: dict[str, Any]) -> None:
        self._configure(change["new"])
        self.update()

    def _on_change(self, change: dict[str, Any]) -> None:
        if not self._hold:
            self.update()

    def parameters(self) -> dict[str, Any]:
        """The current control values as keyword arguments of :func:`explorer_state`."""
        return {name: control.value for name, control in self.controls.items()}

    def update(self) -> dict[str, Any]:
        """Recompute :attr:`state` from the controls and redraw the image and the summary."""
        p = self.parameters()
        state = explorer_state(p["fn"], p["gamma"], p["beta"], p["alpha"], p["lam"], **self._data)
        self.state = state
        self._draw(state)
        self.image.value = self._render(state)
        if state["weights"] is None:
            self.summary.value = (
                "<span class='mailviz-share-text'>Share of weight mass on misclassified examples: "
                "— (no margins given)</span>"
            )
        else:
            self.summary.value = (
                "<span class='mailviz-share-text'>Share of weight mass on misclassified examples: "
                f"<b>{_percent(state['share_misclassified'])}</b> "
                f"(misclassified: {_percent(state['fraction_misclassified'])} of "
                f"{len(state['weights'])} examples)</span>"
            )
        self.renders += 1
        return state


def weight_explorer(
    margins: Any = None,
    correct: Any = None,
    *,
    kappa: Any = None,
    steps: int = 10,
    fn: str = "sigmoid",
    gamma: float = 10.0,
    beta: float = -0.5,
    alpha: float = 0.2,
    lam: float = -1.0,
    bins: int = 30,
    dpi: float = 80.0,
) -> WeightExplorer:
    """Explore instance-weight functions, alone or on a real model's adversarial margins.

    A dropdown picks the function (:data:`WEIGHT_CHOICES`, equations in
    :data:`WEIGHT_EQUATIONS`); sliders set γ, β, α, λ (only the ones the function reads are
    shown). The left panel draws ``w(PM)`` over PM ∈ [−1, 1] — GAIRAT's tanh of κ at
    ``κ = K·(1 + PM)/2`` with κ on the top axis (:func:`pm_to_kappa`) — over a grey histogram of
    the given PMs. With ``margins`` the right panel shows the normalised weights
    ``ω = N·w/Σw`` (MAIL Alg. 2–4 line 11) stacked by correct/misclassified, and the text below
    the plot the share of weight mass on misclassified examples. Numbers: :func:`explorer_state`.

    Defaults are MAIL-AT's γ = 10, β = −0.5; GAIRAT's λ = −1; the step's α = 0.2.

    Args:
        margins: ``[N]`` PMs of an adversarial test set (e.g. the ``margin`` column of
            :func:`mailviz.evaluate.per_example`), or ``None`` for the curves only.
        correct: ``[N]`` adversarial correctness; default ``margins > 0``.
        kappa: ``[N]`` real κ of a ``steps``-step PGD (the ``kappa`` column of ``per_example``)
            for ``gairat_tanh``; default: mapped from PM.
        steps: K of that PGD (sets the κ axis).
        fn, gamma, beta, alpha, lam: initial control values.
        bins: histogram bins. dpi: resolution of the rendered PNG.

    Returns:
        a :class:`WeightExplorer` (an ``ipywidgets.VBox``; display it as the cell's last value).

    Example:
        >>> ex = weight_explorer(torch.tensor([-0.4, 0.1, 0.8]))
        >>> ex.controls["gamma"].value = 2.0   # redraws; ex.state holds the new weights
        >>> round(float(ex.state["weights"].sum()), 6)
        3.0
    """
    return WeightExplorer(
        margins, correct, kappa=kappa, steps=steps, fn=fn, gamma=gamma, beta=beta, alpha=alpha,
        lam=lam, bins=bins, dpi=dpi,
    )  # fmt: skip
