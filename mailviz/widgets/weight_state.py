"""The weight explorer's numbers, without widgets: weight curves, normalised weights, mass shares.

:func:`explorer_state` computes everything :class:`~mailviz.widgets.explorer.WeightExplorer`
shows for one setting of the sliders; :func:`weight_function_table` the same for a list of
settings; :func:`raw_weights` and :func:`pm_to_kappa` the pieces.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from mailviz import weights
from mailviz.widgets._common import (
    DEFAULT_SETTINGS,
    WEIGHT_PARAMETERS,
    _as_1d,
    _check_choice,
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
