"""Interactive explorers (ipywidgets) for weight functions and PGD paths.

Two explorers, each a pure compute function plus a thin widget around it:

* :func:`weight_explorer` — pick a weight function (MAIL's sigmoid, the hinge and step of MAIL's
  Table 6, the mirrored hinge, GAIRAT's tanh of κ, Zeng et al.'s ``exp(−α·margin)``), move its
  parameters, see the curve over PM ∈ [−1, 1] and, given the PMs of a real model's adversarial
  test set, the histogram of the normalised weights and the share of the weight mass that lands on
  misclassified examples. The numbers come from :func:`explorer_state`.
* :func:`pgd_playground` — PGD (or LM-PGD) paths of a handful of 2-D points over a model's
  decision regions, with each point's κ and PM. The numbers come from :func:`playground_state`.

The widgets render their figure with matplotlib's Agg backend into an ``ipywidgets.Image`` (PNG):
one figure is created per explorer and only its artists are updated on a slider move, so an update
costs one Agg draw plus one PNG encode and needs no ``%matplotlib widget`` backend; it works the
same headless, in JupyterLab and in VS Code. :func:`latency` measures slider → image time.
Every widget is an ``ipywidgets.VBox`` that exposes its controls as ``.controls`` (name → widget)
and the last computed numbers as ``.state``, so tests can move a slider by setting ``.value``.
"""

from __future__ import annotations

import html
import io
import math
import statistics
import time
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from mailviz import attacks, margins, weights

__all__ = [
    "WEIGHT_CHOICES",
    "WEIGHT_PARAMETERS",
    "WEIGHT_EQUATIONS",
    "PLAYGROUND_STARTS",
    "pm_to_kappa",
    "raw_weights",
    "explorer_state",
    "DEFAULT_SETTINGS",
    "weight_function_table",
    "WeightExplorer",
    "weight_explorer",
    "playground_points",
    "playground_state",
    "PGDPlayground",
    "pgd_playground",
    "latency",
]

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


def pm_to_kappa(pm: Tensor, steps: int) -> Tensor:
    """Map PM ∈ [−1, 1] linearly onto κ ∈ [0, K]: ``κ = K·(1 + PM)/2``.

    The explorer draws GAIRAT's κ-based weight on the same PM axis as the others with this map
    (PM = −1 ↔ κ = 0, attacked at once; PM = 1 ↔ κ = K, never broken), and labels a second axis
    with κ. It is a drawing convention, not a relation between the two measures: κ counts PGD
    steps along one attack path, PM reads the final logits (MAIL's argument for PM).

    Example:
        >>> pm_to_kappa(torch.tensor([-1.0, 0.0, 1.0]), steps=10)
        tensor([ 0.,  5., 10.])
    """
    return steps * (1.0 + pm.clamp(-1.0, 1.0)) / 2.0


def raw_weights(
    fn: str,
    pm: Tensor,
    *,
    gamma: float = 10.0,
    beta: float = -0.5,
    alpha: float = 0.2,
    lam: float = -1.0,
    kappa: Tensor | None = None,
    steps: int = 10,
) -> Tensor:
    """Unnormalised weights ``w`` of the weight function ``fn`` at the margins ``pm``.

    Dispatches to :mod:`mailviz.weights`: ``sigmoid``/``hinge``/``hinge_mirrored``/``step`` via
    :func:`~mailviz.weights.pm_weights` (γ, β; α for ``step``), ``gairat_tanh`` via
    :func:`~mailviz.weights.gairat_tanh` with ``kappa`` (or, without it, ``κ = K·(1 + PM)/2``,
    :func:`pm_to_kappa`) and ``exp_kernel`` via :func:`~mailviz.weights.exp_kernel` with α.

    Shape:
        ``pm [N]`` (and ``kappa [N]``) → ``[N]``.

    Example:
        >>> raw_weights("hinge", torch.tensor([-0.5, 0.5]), gamma=2.0, beta=0.0)
        tensor([0., 1.])
    """
    _check_choice(fn)
    if fn == "gairat_tanh":
        k = pm_to_kappa(pm, steps) if kappa is None else kappa
        return weights.gairat_tanh(k, steps, lam)
    if fn == "exp_kernel":
        return weights.exp_kernel(pm, alpha)
    return weights.pm_weights(fn, pm, gamma=gamma, beta=beta, alpha=alpha)


def explorer_state(
    fn: str = "sigmoid",
    gamma: float = 10.0,
    beta: float = -0.5,
    alpha: float = 0.2,
    lam: float = -1.0,
    margins: Any = None,
    correct: Any = None,
    *,
    kappa: Any = None,
    steps: int = 10,
    n_curve: int = 201,
) -> dict[str, Any]:
    """Everything :class:`WeightExplorer` shows, computed without a display.

    * the curve ``w(PM)`` of ``fn`` on ``n_curve`` points of PM ∈ [−1, 1] (GAIRAT: at
      ``κ = K·(1 + PM)/2``, :func:`pm_to_kappa`);
    * given ``margins`` (the PMs of a model's adversarial test set), the normalised weights
      ``ω_i = N·w_i / Σ_j w_j`` (MAIL Alg. 2–4 line 11, :func:`mailviz.weights.normalize` with
      ``"batch"`` over the whole set: mean 1) and the share of the weight mass on misclassified
      examples ``Σ_{i: ¬correct_i} ω_i / Σ_i ω_i`` (NaN when every weight is 0, e.g. the hinge
      with every PM < β). ``correct`` defaults to ``PM > 0``; GAIRAT uses ``kappa`` when given
      (the real κ of a ``steps``-step PGD) and the linear map from PM otherwise.

    Args:
        fn: one of :data:`WEIGHT_CHOICES`.
        gamma, beta: γ ≥ 0 and β of the PM-based functions (β also for ``step``).
        alpha: α of ``step`` (in [0, 1]) or of ``exp_kernel``.
        lam: GAIRAT's λ.
        margins: ``[N]`` PMs in [−1, 1] (tensor, array, list or pandas Series), or ``None``.
        correct: ``[N]`` booleans (adversarial prediction correct); default ``margins > 0``.
        kappa: ``[N]`` integer κ in [0, steps] for ``gairat_tanh``; default from ``margins``.
        steps: K of the PGD run that counted κ (≥ 2).
        n_curve: number of curve points (≥ 2).

    Returns:
        dict with ``curve_x`` (PM grid), ``curve_kappa`` (κ grid), ``curve_y`` (numpy
        ``[n_curve]``),
        ``weights`` (``[N]`` ω, numpy, or ``None``), ``raw_weights``, ``correct`` (numpy bool or
        ``None``), ``share_misclassified`` (float in [0, 1], NaN or ``None``),
        ``fraction_misclassified`` (share of examples, or ``None``) and the parameters used.

    Example:
        >>> s = explorer_state("hinge", gamma=2.0, beta=0.0, margins=[-0.5, 0.5])
        >>> s["weights"].tolist(), s["share_misclassified"]
        ([0.0, 2.0], 0.0)
    """
    _check_choice(fn)
    if isinstance(n_curve, bool) or not isinstance(n_curve, int) or n_curve < 2:
        raise ValueError(f"n_curve must be an int >= 2, got {n_curve!r}")
    params = dict(gamma=float(gamma), beta=float(beta), alpha=float(alpha), lam=float(lam))
    grid = torch.linspace(-1.0, 1.0, n_curve, dtype=torch.float64)
    curve = raw_weights(fn, grid, **params, steps=steps)
    state: dict[str, Any] = dict(
        fn=fn,
        **params,
        steps=steps,
        curve_x=grid.numpy(),
        curve_kappa=pm_to_kappa(grid, steps).numpy(),
        curve_y=curve.numpy(),
        weights=None,
        raw_weights=None,
        correct=None,
        share_misclassified=None,
        fraction_misclassified=None,
    )
    if margins is None:
        if correct is not None or kappa is not None:
            raise ValueError("correct/kappa need margins too — pass margins=<PMs of the test set>")
        return state
    pm = _as_1d(margins, "margins", torch.float64)
    if not bool(torch.isfinite(pm).all()) or bool((pm.abs() > 1.0).any()):
        raise ValueError(
            "margins must be finite probabilistic margins in [-1, 1] — "
            "use mailviz.margins.probabilistic_margin(logits, y)"
        )
    if correct is None:
        ok = pm > 0
    else:
        ok = _as_1d(correct, "correct", torch.bool)
        if ok.shape != pm.shape:
            raise ValueError(
                f"correct must have one entry per margin ({pm.numel()}), got {ok.numel()}"
            )
    k = None
    if kappa is not None:
        k = _as_1d(kappa, "kappa", torch.float64)
        if k.shape != pm.shape:
            raise ValueError(
                f"kappa must have one entry per margin ({pm.numel()}), got {k.numel()}"
            )
    w = raw_weights(fn, pm, **params, kappa=k, steps=steps)
    omega = weights.normalize(w, "batch")
    total = float(omega.sum())
    share = float(omega[~ok].sum()) / total if total > 0 else math.nan
    state.update(
        weights=omega.numpy(),
        raw_weights=w.numpy(),
        correct=ok.numpy(),
        share_misclassified=share,
        fraction_misclassified=float((~ok).double().mean()),
    )
    return state


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


def weight_function_table(
    margins: Any,
    correct: Any = None,
    *,
    kappa: Any = None,
    steps: int = 10,
    settings: dict[str, dict[str, float]] | None = None,
) -> pd.DataFrame:
    """One row per weight function: where the normalised weight mass of a test set goes.

    For each function in ``settings`` (default :data:`DEFAULT_SETTINGS`) it calls
    :func:`explorer_state` and reports ``share_misclassified`` (``Σ_{¬correct} ω / Σ ω``),
    ``fraction_misclassified`` (share of examples, the value every weighting is compared to),
    ``zero_weight`` (share of examples whose weight is exactly 0) and ``max_weight`` (largest ω;
    the mean ω is 1).

    Example:
        >>> t = weight_function_table([-0.5, 0.5], settings={"hinge": dict(gamma=2.0, beta=0.0)})
        >>> t.loc[0, ["share_misclassified", "zero_weight", "max_weight"]].tolist()
        [0.0, 0.5, 2.0]
    """
    chosen = DEFAULT_SETTINGS if settings is None else settings
    rows = []
    for fn, params in chosen.items():
        unknown = sorted(set(params) - set(WEIGHT_PARAMETERS.get(fn, ())))
        if fn in WEIGHT_PARAMETERS and unknown:
            raise ValueError(
                f"{fn} takes {', '.join(WEIGHT_PARAMETERS[fn])}, got {', '.join(unknown)}"
            )
        state = explorer_state(fn, **params, margins=margins, correct=correct, kappa=kappa,
                               steps=steps)  # fmt: skip
        omega = state["weights"]
        rows.append(
            dict(
                function=fn,
                settings=", ".join(f"{k}={v:g}" for k, v in params.items()),
                share_misclassified=state["share_misclassified"],
                fraction_misclassified=state["fraction_misclassified"],
                zero_weight=float(np.mean(omega == 0.0)),
                max_weight=float(omega.max()),
            )
        )
    return pd.DataFrame(rows)


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


# --------------------------------------------------------------------------------------------
# Weight explorer widget
# --------------------------------------------------------------------------------------------


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

    def __init__(
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
        self._canvas.draw()
        self.figure.set_layout_engine("none")
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

        fig = Figure(figsize=(9.0, 3.3), dpi=self._dpi, layout="constrained")
        self._canvas = FigureCanvasAgg(fig)
        ax_curve, ax_hist = fig.subplots(1, 2, width_ratios=(1.1, 1.0))
        ax_curve.axvspan(-1.0, 0.0, color="tab:red", alpha=0.07, lw=0)
        ax_curve.text(-0.98, 0.97, "misclassified (PM < 0)",
                      transform=ax_curve.get_xaxis_transform(), va="top", fontsize=8,
                      color="tab:red")  # fmt: skip
        ax_curve.set_xlim(-1.0, 1.0)
        ax_curve.set_xlabel("probabilistic margin PM")
        ax_curve.set_ylabel("raw weight w")
        ax_curve.set_title("weight function: hinge mirrored", fontsize=10)  # reserve the space
        (self._line,) = ax_curve.plot([], [], color="tab:blue", lw=2, animated=True)
        self._beta_line = ax_curve.axvline(0.0, color="0.4", ls="--", lw=1, animated=True)
        self._animated: list[Any] = [self._line, self._beta_line]
        # κ axis for GAIRAT: κ = K·(1 + PM)/2 (pm_to_kappa)
        k = float(self._data["steps"])
        self._kappa_axis = ax_curve.secondary_xaxis(
            "top", functions=(lambda p: k * (1.0 + p) / 2.0, lambda q: 2.0 * q / k - 1.0)
        )
        self._kappa_axis.set_xlabel(f"κ (least PGD steps, K = {int(k)})", fontsize=8)
        if with_data:
            pm = _as_1d(self._data["margins"], "margins", torch.float64).numpy()
            ax_pm = ax_curve.twinx()
            ax_pm.hist(pm, bins=40, range=(-1.0, 1.0), color="0.6", alpha=0.35)
            ax_pm.set_yticks([])
            ax_pm.set_ylabel("test PMs", fontsize=8, color="0.5")
            ax_curve.set_zorder(ax_pm.get_zorder() + 1)
            ax_curve.patch.set_visible(False)
            ax_hist.set_xlabel("normalised weight ω = N·w / Σw")
            ax_hist.set_ylabel("examples")
            ax_hist.set_title("share of weight on misclassified: 100.0 %", fontsize=10)
            ax_hist.title.set_animated(True)
            edges = np.linspace(0.0, 1.0, self._bins + 1)
            zeros = np.zeros(self._bins)
            self._bars_ok = ax_hist.bar(edges[:-1], zeros, width=np.diff(edges), align="edge",
                                        color="tab:blue", label="correct")  # fmt: skip
            self._bars_bad = ax_hist.bar(edges[:-1], zeros, width=np.diff(edges), align="edge",
                                         color="tab:red", label="misclassified")  # fmt: skip
            ax_hist.legend(loc="upper right", fontsize=8)
            for rect in (*self._bars_ok, *self._bars_bad):
                rect.set_animated(True)
            self._animated += [*self._bars_ok, *self._bars_bad, ax_hist.title]
        else:
            ax_hist.set_axis_off()
            ax_hist.text(0.5, 0.5, "pass margins=<PMs of an adversarial test set>\n"
                         "to see the normalised weights", ha="center", va="center",
                         transform=ax_hist.transAxes, color="0.4")  # fmt: skip
        self._ax_curve, self._ax_hist = ax_curve, ax_hist
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
        self._ax_curve.set_title(f"weight function: {fn.replace('_', ' ')}", fontsize=10)
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
        self._ax_hist.title.set_text(
            f"share of weight on misclassified: {_percent(state['share_misclassified'])}"
        )
        return (fn, curve_top, hist_right, hist_top)

    def _render(self, state: dict[str, Any]) -> bytes:
        """Draw ``state`` and return the PNG; redraw the static part only when its key changed."""
        key = self._draw(state)
        # a savefig at another dpi (plots.save) replaces the renderer: the background is stale
        renderer = self._canvas.get_renderer()
        if key != self._static_key or self._background is None or renderer is not self._bg_for:
            self._canvas.draw()  # skips the animated artists
            self._background = self._canvas.copy_from_bbox(self.figure.bbox)
            self._static_key = key
            self._bg_for = self._canvas.get_renderer()
        else:
            self._canvas.restore_region(self._background)
        for artist in self._animated:
            self.figure.draw_artist(artist)
        return _encode(self._canvas)

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
        state = explorer_state(
            p["fn"], p["gamma"], p["beta"], p["alpha"], p["lam"], **self._data
        )
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


# --------------------------------------------------------------------------------------------
# PGD playground: pure compute
# --------------------------------------------------------------------------------------------


def playground_points(
    dataset: str = "moons", n_points: int = 6, seed: int = 0, split: str = "test"
) -> tuple[Tensor, Tensor]:
    """``n_points`` examples of a 2-D dataset, half from each class, drawn with ``seed``.

    Example:
        >>> x, y = playground_points("moons", n_points=4)
        >>> x.shape, y.tolist()
        (torch.Size([4, 2]), [0, 0, 1, 1])
    """
    from mailviz.data import load_dataset

    if isinstance(n_points, bool) or not isinstance(n_points, int) or not 1 <= n_points <= 50:
        raise ValueError(f"n_points must be an int in [1, 50], got {n_points!r} — e.g. n_points=6")
    ds = load_dataset(dataset, split)
    if tuple(ds.input_shape) != (2,):
        raise ValueError(
            f"the PGD playground draws 2-D inputs; dataset {dataset!r} has shape "
            f"{tuple(ds.input_shape)} — use dataset='moons'"
        )
    x, y = ds.x, ds.y
    gen = torch.Generator().manual_seed(seed)
    classes = torch.unique(y)
    n_classes = len(classes)
    per_class = [n_points // n_classes + (i < n_points % n_classes) for i in range(n_classes)]
    chosen = []
    for c, n in zip(classes.tolist(), per_class, strict=True):
        idx = torch.nonzero(y == c).squeeze(1)
        chosen.append(idx[torch.randperm(idx.numel(), generator=gen)[:n]])
    index = torch.cat(chosen)
    return x[index].clone(), y[index].clone()


def _model_device(model: nn.Module) -> torch.device:
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def playground_state(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    eps: float = 0.08,
    step_size: float = 0.02,
    steps: int = 10,
    start: str = "uniform",
    lm: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """One recorded attack on a few points: paths, κ and PM, for :class:`PGDPlayground`.

    PGD (MAIL appendix eq. 11, :func:`mailviz.attacks.pgd` with ``record=True``) or, with
    ``lm=True``, LM-PGD (eq. 12–14, :func:`mailviz.attacks.lm_pgd`) with the appendix's step
    range scaled to ε (``α ∈ [ε/2, 3ε/4]``, 4/255 and 6/255 at ε = 8/255, momentum 0.8); LM-PGD
    picks its own step by line search, so ``step_size`` is ignored. κ is counted along the path
    the attack took, ``κ_i = Σ_{t<K} 1[pred(x_i^{(t)}) = y_i]``
    (:func:`mailviz.margins.kappa_from_predictions`; for PGD this equals ``AttackResult.kappa``);
    PM is :func:`mailviz.margins.probabilistic_margin` at the clean point and at ``x^{(K)}``.
    The random start is drawn from a generator seeded with ``seed``, so a replay is identical.

    Returns:
        dict with ``x``, ``y``, ``path`` ``[K+1, B, 2]``, ``path_pred`` ``[K+1, B]``, ``kappa``
        ``[B]``, ``pm_clean`` ``[B]``, ``pm_adv`` ``[B]``, ``correct`` ``[B]`` (at ``x^{(K)}``),
        ``x_adv`` and the settings.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Linear(2, 2))
        >>> s = playground_state(model, torch.rand(3, 2), torch.tensor([0, 1, 0]), steps=5)
        >>> s["path"].shape, s["kappa"].shape
        (torch.Size([6, 3, 2]), torch.Size([3]))
    """
    if start not in PLAYGROUND_STARTS:
        raise ValueError(f"unknown start {start!r}; choose one of {', '.join(PLAYGROUND_STARTS)}")
    device = _model_device(model)
    x, y = x.to(device), y.to(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    if lm:
        res = attacks.lm_pgd(
            model, x, y, eps, steps=steps, start=start, record=True, generator=gen,
            return_result=True,
        )  # fmt: skip
    else:
        res = attacks.pgd(
            model, x, y, eps, step_size, steps, start=start, record=True, generator=gen,
            return_result=True,
        )  # fmt: skip
    assert res.path is not None and res.path_pred is not None and res.logits is not None
    kappa = margins.kappa_from_predictions(res.path_pred[:-1], y)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            pm_clean = margins.probabilistic_margin(model(x), y)
    finally:
        model.train(was_training)
    return dict(
        x=x.cpu(),
        y=y.cpu(),
        x_adv=res.x_adv.cpu(),
        path=res.path.cpu(),
        path_pred=res.path_pred.cpu(),
        kappa=kappa.cpu(),
        pm_clean=pm_clean.cpu(),
        pm_adv=margins.probabilistic_margin(res.logits, y).cpu(),
        correct=(res.logits.argmax(dim=1) == y).cpu(),
        eps=eps,
        step_size=step_size,
        steps=steps,
        start=start,
        lm=lm,
    )


def _table_html(state: dict[str, Any]) -> str:
    rows = []
    for i in range(len(state["y"])):
        ok = bool(state["correct"][i])
        rows.append(
            f"<tr><td>{i}</td><td>{int(state['y'][i])}</td><td>{int(state['kappa'][i])}</td>"
            f"<td>{float(state['pm_clean'][i]):+.3f}</td><td>{float(state['pm_adv'][i]):+.3f}</td>"
            f"<td>{'yes' if ok else '<b>no</b>'}</td></tr>"
        )
    step = "line search" if state["lm"] else f"{state['step_size']:.3g}"
    method = "LM-PGD" if state["lm"] else "PGD"
    caption = html.escape(
        f"{method}-{state['steps']}, ε = {state['eps']:.3g}, step = {step}, "
        f"start = {state['start']}"
    )
    return (
        "<table class='mailviz-table' style='border-collapse:collapse;font-size:90%'>"
        f"<caption style='text-align:left'>{caption}</caption>"
        "<tr><th>point</th><th>label</th><th>κ</th><th>PM clean</th><th>PM adv</th>"
        "<th>correct after attack</th></tr>" + "".join(rows) + "</table>"
    )


class PGDPlayground(widgets.VBox):
    """Sliders for ε, step size, steps; start dropdown; LM-PGD checkbox → paths + κ/PM table.

    Built by :func:`pgd_playground`. Attributes: ``controls`` (``"eps"``, ``"step_size"``,
    ``"steps"``, ``"start"``, ``"lm"``), ``state`` (the last :func:`playground_state` dict),
    ``image``, ``table`` (``ipywidgets.HTML``), ``renders``.
    """

    latency_control = "eps"

    def __init__(
        self,
        model: nn.Module,
        x: Tensor,
        y: Tensor,
        *,
        eps: float = 0.08,
        step_size: float = 0.02,
        steps: int = 10,
        start: str = "uniform",
        lm: bool = False,
        seed: int = 0,
        dpi: float = 80.0,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be a torch nn.Module, got {type(model).__name__}")
        self.model, self.x, self.y, self.seed = model, x, y, seed
        self._dpi = dpi
        self.renders = 0
        style = {"description_width": "5em"}

        def layout() -> widgets.Layout:
            return widgets.Layout(width="360px")

        self.controls: dict[str, widgets.ValueWidget] = {
            "eps": widgets.FloatSlider(value=eps, min=0.01, max=0.3, step=0.01, description="ε",
                                       readout_format=".2f", style=style, layout=layout()),
            "step_size": widgets.FloatSlider(value=step_size, min=0.005, max=0.1, step=0.005,
                                             description="step size", readout_format=".3f",
                                             style=style, layout=layout()),
            "steps": widgets.IntSlider(value=steps, min=1, max=50, description="steps",
                                       style=style, layout=layout()),
            "start": widgets.Dropdown(options=list(PLAYGROUND_STARTS), value=start,
                                      description="start", style=style),
            "lm": widgets.Checkbox(value=lm, description="LM-PGD (momentum + line search)"),
        }  # fmt: skip
        for name, control in self.controls.items():
            control.add_class(f"mailviz-{name}")
        self.image = widgets.Image(format="png")
        self.image.add_class("mailviz-plot")
        self.table = widgets.HTML()
        self.table.add_class("mailviz-table")
        super().__init__(
            [
                widgets.HBox(
                    [
                        widgets.VBox([self.controls[n] for n in ("eps", "step_size", "steps")]),
                        widgets.VBox([self.controls["start"], self.controls["lm"]]),
                    ]
                ),
                widgets.HBox([self.image, self.table]),
            ]
        )
        self.add_class("mailviz-pgd-playground")
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.controls["step_size"].disabled = lm
        self.update()

    def _on_change(self, change: dict[str, Any]) -> None:
        # LM-PGD line-searches its step: the step-size slider has no effect while it is on
        self.controls["step_size"].disabled = bool(self.controls["lm"].value)
        self.update()

    def parameters(self) -> dict[str, Any]:
        """The current control values as keyword arguments of :func:`playground_state`."""
        return {name: control.value for name, control in self.controls.items()}

    def update(self) -> dict[str, Any]:
        """Rerun the attack with the current controls and redraw the paths and the table."""
        from mailviz import plots

        state = playground_state(self.model, self.x, self.y, seed=self.seed, **self.parameters())
        self.state = state
        fig = plots.lps_paths(
            self.model, state["x"], state["path"], path_pred=state["path_pred"],
            kappa=state["kappa"], labels=state["y"], eps=state["eps"],
        )  # fmt: skip
        try:
            self.image.value = _png(fig, self._dpi)
        finally:
            _close(fig)
        self.table.value = _table_html(state)
        self.renders += 1
        return state


def _close(fig: Figure) -> None:
    """Release a figure made by :mod:`mailviz.plots` (pyplot-managed or not)."""
    import matplotlib.pyplot as plt

    plt.close(fig)


def pgd_playground(
    model: nn.Module,
    dataset: str = "moons",
    n_points: int = 6,
    seed: int = 0,
    *,
    eps: float = 0.08,
    step_size: float = 0.02,
    steps: int = 10,
    start: str = "uniform",
    lm: bool = False,
    dpi: float = 80.0,
) -> PGDPlayground:
    """Watch PGD / LM-PGD move a handful of 2-D points across a model's decision regions.

    Sliders set ε, the step size and the number of steps, a dropdown the start
    (``uniform``/``normal``/``none``), a checkbox switches to LM-PGD (which line-searches its
    step in ``[ε/2, 3ε/4]``, so the step-size slider is disabled while it is on). The figure is
    :func:`mailviz.plots.lps_paths` (paths over the decision regions); the table lists each
    point's label, κ (least PGD steps along the path it took), PM before and after the attack,
    and whether it is still classified correctly. Numbers: :func:`playground_state`.

    Args:
        model: a classifier of 2-D inputs in [0, 1]² (e.g. the ``mlp`` trained on ``moons``).
        dataset: a 2-D dataset of :mod:`mailviz.data` (``"moons"``); points from its test split.
        n_points: how many points (half per class), 1–50.
        seed: picks the points and seeds the random start.
        eps, step_size, steps, start, lm: initial control values.
        dpi: resolution of the rendered PNG.

    Returns:
        a :class:`PGDPlayground` (an ``ipywidgets.VBox``).

    Example:
        >>> pg = pgd_playground(trained.model, "moons", n_points=6)  # doctest: +SKIP
        >>> pg.controls["lm"].value = True; pg.state["kappa"]         # doctest: +SKIP
    """
    x, y = playground_points(dataset, n_points, seed)
    return PGDPlayground(
        model, x, y, eps=eps, step_size=step_size, steps=steps, start=start, lm=lm, seed=seed,
        dpi=dpi,
    )  # fmt: skip


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
