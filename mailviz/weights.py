"""Instance weights: from a robustness measure (PM, κ, margin) to a per-example weight.

Instance-reweighted adversarial training multiplies each example's loss by a weight that grows as
the example gets closer to (or further across) the decision boundary. This module holds the weight
*assignment* functions and the *normalisations*, as pure batched tensor functions:

* PM-based (MAIL, Wang et al., 2021): :func:`sigmoid` (the method, Alg. 2–4 line 9) and the two
  alternatives of the appendix's Table 6, :func:`hinge` (as printed) and :func:`step`; plus
  :func:`hinge_mirrored`, the hinge that points the same way as the sigmoid.
  :data:`WEIGHT_FUNCTIONS` and :func:`pm_weights` select one by name.
* κ-based (GAIRAT, Zhang et al., 2021): :func:`gairat_tanh`, :func:`gairat_sigmoid`,
  :func:`gairat_discrete`.
* margin-based (Zeng et al., 2021): :func:`exp_kernel` ``exp(−α·margin)`` (their eq. 7) for
  training and :func:`importance` ``s̃`` (their "Evaluation" paragraph) for the weighted accuracy
  metrics.
* :func:`normalize`: the paper's ``ω_i = M·w_i/Σ_j w_j`` (Alg. 2–4 line 11), the authors' code's
  ``3·w``, GAIRAT's mean-one rescaling, or nothing.

Weights never see the attack or the model: detach the margin yourself where the method treats the
weight as a constant (MAIL, GAIRAT) and keep the graph where it does not (Zeng et al.).

Precision and bad input: weights are computed in the dtype of the margins they are given (float64
stays float64; half and bfloat16 are computed in float32). A NaN or inf margin is refused with
one ``ValueError`` line (one host sync, skipped inside :func:`mailviz.checks.skip_host_syncs`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from mailviz import checks

__all__ = [
    "sigmoid",
    "hinge",
    "hinge_mirrored",
    "step",
    "gairat_tanh",
    "gairat_sigmoid",
    "gairat_discrete",
    "exp_kernel",
    "normalize",
    "importance",
    "pm_weights",
    "WEIGHT_FUNCTIONS",
    "NORMALIZE_MODES",
]

NORMALIZE_MODES: tuple[str, ...] = ("batch", "constant", "mean1", "none")

Scalar = float | int | Tensor


# --------------------------------------------------------------------------------------------------
# argument checks (one-line ValueErrors)
# --------------------------------------------------------------------------------------------------


def _as_float_tensor(x: Tensor, name: str) -> Tensor:
    """``x`` as a real float tensor that keeps its precision: float64 stays float64, half and
    bfloat16 become float32, integer κ the default dtype."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.is_complex():
        raise ValueError(f"{name} must be real, got a complex tensor")
    if not x.is_floating_point():
        return x.to(torch.get_default_dtype())
    return checks.upcast(x)


def _finite_input(x: Tensor, name: str) -> Tensor:
    """``x`` (already a float tensor) must hold no NaN / inf — one host sync, skipped inside
    :func:`mailviz.checks.skip_host_syncs`."""
    if checks.enabled() and x.numel() and not bool(torch.isfinite(x.detach()).all()):
        raise ValueError(
            f"{name} holds NaN or inf — margins must be finite; check the logits they came "
            "from (mailviz.margins refuses non-finite logits)"
        )
    return x


def _param(value: Scalar, name: str, like: Tensor) -> float | Tensor:
    """A float stays a float; a tensor is moved to ``like``'s device/dtype and must broadcast."""
    if isinstance(value, Tensor):
        if value.is_complex():
            raise ValueError(f"{name} must be real, got a complex tensor")
        value = value.to(device=like.device, dtype=like.dtype)
        try:
            shape = torch.broadcast_shapes(value.shape, like.shape)
        except RuntimeError:
            shape = None
        if shape != like.shape:
            raise ValueError(
                f"{name} must be a float or a tensor broadcastable to {tuple(like.shape)}, "
                f"got shape {tuple(value.shape)}"
            )
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a float or a tensor, got {type(value).__name__}")
    return float(value)


def _check_range(
    value: float | Tensor, name: str, low: float = -math.inf, high: float = math.inf, hint: str = ""
) -> None:
    """``value`` (float or tensor) must be finite and in ``[low, high]``."""
    if isinstance(value, Tensor):
        v = value.detach()
        ok = bool(torch.isfinite(v).all() and (v >= low).all() and (v <= high).all())
        shown = f"values in [{v.min().item():g}, {v.max().item():g}]" if v.numel() else "empty"
    else:
        ok = math.isfinite(value) and low <= value <= high
        shown = f"{value:g}"
    if not ok:
        unbounded = (low, high) == (-math.inf, math.inf)
        where = "finite" if unbounded else f"finite and in [{low:g}, {high:g}]"
        raise ValueError(f"{name} must be {where}, got {shown}{hint}")


def _check_gamma(gamma: float | Tensor) -> None:
    _check_range(gamma, "gamma", 0.0, hint=" — MAIL uses gamma=10 (AT) or gamma=2 (TRADES)")


def _check_steps(steps: int, minimum: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < minimum:
        raise ValueError(
            f"steps must be an int >= {minimum} (the K of the K-step PGD that counted kappa), "
            f"got {steps!r} — GAIRAT uses steps=10"
        )
    return steps


def _kappa(kappa: Tensor, steps: int) -> Tensor:
    kappa = _as_float_tensor(kappa, "kappa")
    k = kappa.detach()
    if checks.enabled() and k.numel() and not bool(((k >= 0) & (k <= steps)).all()):
        raise ValueError(
            f"kappa must lie in [0, steps={steps}], got values in "
            f"[{k.min().item():g}, {k.max().item():g}] — pass the K that produced kappa as steps"
        )
    return kappa


# --------------------------------------------------------------------------------------------------
# PM-based weights (MAIL)
# --------------------------------------------------------------------------------------------------


def sigmoid(pm: Tensor, gamma: Scalar, beta: Scalar) -> Tensor:
    """MAIL's weight ``w_i = sigmoid(−γ·(PM_i − β))`` (MAIL Alg. 2–4, line 9).

    Strictly decreasing in PM for ``γ > 0``: a misclassified example (PM < 0) gets more weight than
    a confidently correct one; ``β`` is the PM at which ``w = 1/2`` and ``γ`` the steepness
    (``γ = 0`` gives 1/2 for everyone). MAIL's README uses ``β = −0.5, γ = 10`` (MAIL-AT) and
    ``β = 0, γ = 2`` (MAIL-TRADES).

    Args:
        pm: ``[B]`` probabilistic margins (any real margin works, e.g. MM for Table 5).
        gamma: ``γ ≥ 0``, a float or a per-example tensor broadcastable to ``pm``.
        beta: ``β``, a float or a per-example tensor.

    Returns:
        ``[B]`` weights in (0, 1), differentiable with respect to ``pm``.

    Shape:
        ``pm [B]`` → ``[B]``.

    Example:
        >>> sigmoid(torch.tensor([0.5, -0.5]), gamma=2.0, beta=0.0)
        tensor([0.2689, 0.7311])
    """
    pm = _finite_input(_as_float_tensor(pm, "pm"), "pm")
    gamma = _param(gamma, "gamma", pm)
    beta = _param(beta, "beta", pm)
    _check_gamma(gamma)
    _check_range(beta, "beta")
    return torch.sigmoid(-gamma * (pm - beta))


def hinge(pm: Tensor, gamma: Scalar, beta: Scalar) -> Tensor:
    """Hinge weight exactly as MAIL's appendix prints it: ``w_i = max(0, γ·(PM_i − β))`` (Table 6).

    Note the direction: this weight *grows* with PM and is **zero for every example with
    PM_i < β** (for ``β = 0``: every misclassified, i.e. the most vulnerable, example). The appendix
    itself gives this as the reason for the hinge's poor AutoAttack accuracy in Table 6 (43.40 % vs
    50.60 % for the sigmoid): "it ignore[s] all those data with PM_i − β < 0 by assigning weights
    with value being 0". A batch in which every PM < β gets all-zero weights; see :func:`normalize`
    for what the normalisations do with that. :func:`hinge_mirrored` is the variant that emphasises
    low-margin examples, like the sigmoid.

    Args:
        pm: ``[B]`` margins.
        gamma: ``γ ≥ 0`` (float or per-example tensor).
        beta: ``β`` (float or per-example tensor).

    Returns:
        ``[B]`` weights ``≥ 0``, unbounded above.

    Shape:
        ``pm [B]`` → ``[B]``.

    Example:
        >>> hinge(torch.tensor([0.5, -0.5]), gamma=2.0, beta=0.0)
        tensor([1., 0.])
    """
    pm = _finite_input(_as_float_tensor(pm, "pm"), "pm")
    gamma = _param(gamma, "gamma", pm)
    beta = _param(beta, "beta", pm)
    _check_gamma(gamma)
    _check_range(beta, "beta")
    return (gamma * (pm - beta)).clamp_min(0.0)


def hinge_mirrored(pm: Tensor, gamma: Scalar, beta: Scalar) -> Tensor:
    """Mirrored hinge ``w_i = max(0, γ·(β − PM_i))``: the hinge pointing the sigmoid's way.

    Not in the paper; it is :func:`hinge` reflected about ``PM = β``. It *decreases* with PM, so
    low-margin (vulnerable) examples get the large weights, as with :func:`sigmoid`, and every
    example with ``PM_i > β`` (the safe ones) gets weight 0. It is the piecewise-linear counterpart
    of the sigmoid, for comparing the shape of the weight function separately from its direction.

    Args:
        pm: ``[B]`` margins.
        gamma: ``γ ≥ 0`` (float or per-example tensor).
        beta: ``β`` (float or per-example tensor).

    Returns:
        ``[B]`` weights ``≥ 0``, unbounded above.

    Shape:
        ``pm [B]`` → ``[B]``.

    Example:
        >>> hinge_mirrored(torch.tensor([0.5, -0.5]), gamma=2.0, beta=0.0)
        tensor([0., 1.])
    """
    pm = _finite_input(_as_float_tensor(pm, "pm"), "pm")
    gamma = _param(gamma, "gamma", pm)
    beta = _param(beta, "beta", pm)
    _check_gamma(gamma)
    _check_range(beta, "beta")
    return (gamma * (beta - pm)).clamp_min(0.0)


def step(pm: Tensor, beta: Scalar, alpha: Scalar = 0.2) -> Tensor:
    """Step weight of MAIL's Table 6: ``w_i = α if PM_i > β else 1 − α`` (``α = 0.2`` in the paper).

    At ``PM_i = β`` exactly the weight is ``1 − α`` (the appendix writes ``PM_i ≤ β``). With
    ``α < 1/2`` the low-margin side gets the larger weight, as with the sigmoid; the paper's point
    is that it cannot tell apart examples on the same side of ``β``. Piecewise constant in PM, so
    the returned tensor carries no gradient to ``pm``.

    Args:
        pm: ``[B]`` margins.
        beta: ``β`` (float or per-example tensor).
        alpha: ``α ∈ [0, 1]`` (float or per-example tensor).

    Returns:
        ``[B]`` weights in ``{α, 1 − α}``.

    Shape:
        ``pm [B]`` → ``[B]``.

    Example:
        >>> step(torch.tensor([0.5, 0.0, -0.5]), beta=0.0)
        tensor([0.2000, 0.8000, 0.8000])
    """
    pm = _finite_input(_as_float_tensor(pm, "pm"), "pm")
    beta = _param(beta, "beta", pm)
    alpha = _param(alpha, "alpha", pm)
    _check_range(beta, "beta")
    _check_range(alpha, "alpha", 0.0, 1.0, hint=" — MAIL's Table 6 uses alpha=0.2")
    high = torch.as_tensor(alpha, dtype=pm.dtype, device=pm.device)
    return torch.where(pm.detach() > beta, high, 1.0 - high)


# --------------------------------------------------------------------------------------------------
# κ-based weights (GAIRAT)
# --------------------------------------------------------------------------------------------------


def _gairat_argument(kappa: Tensor, steps: int, lam: Scalar) -> Tensor:
    """``λ + 5·(K′ − κ)/K′`` with ``K′ = ⌊K/2⌋``."""
    steps = _check_steps(steps, 2)
    kappa = _kappa(kappa, steps)
    lam = _param(lam, "lam", kappa)
    _check_range(lam, "lam", hint=" — GAIRAT uses lam=-1 after its burn-in")
    half = steps // 2
    return lam + 5.0 * (half - kappa) / half


def gairat_tanh(kappa: Tensor, steps: int, lam: Scalar) -> Tensor:
    """GAIRAT's weight ``w_i = (tanh(λ + 5·(K′ − κ_i)/K′) + 1)/2`` with ``K′ = ⌊K/2⌋``.

    ``κ_i`` is the least number of PGD steps (:func:`mailviz.margins.least_pgd_steps`) of a
    ``K``-step run; the weight decreases with κ (examples that are attacked quickly get more weight)
    and ``λ`` shifts the curve (GAIRAT uses ``λ = −1``). GAIRAT then rescales to mean one in the
    mini-batch: ``normalize(w, "mean1")``. Evaluated as ``sigmoid(2z)``, which equals
    ``(tanh(z) + 1)/2`` exactly but avoids the cancellation of ``tanh(z) + 1`` for very negative
    ``z`` (float32 ``(tanh(−6) + 1)/2`` is off by ≈0.1 %).

    Args:
        kappa: ``[B]`` integer (or float) κ in ``[0, K]``.
        steps: ``K ≥ 2`` (so that ``K′ ≥ 1``).
        lam: ``λ`` (float or per-example tensor).

    Returns:
        ``[B]`` weights in (0, 1), float (the default dtype for an integer κ).

    Shape:
        ``kappa [B]`` → ``[B]``.

    Example:
        >>> gairat_tanh(torch.tensor([0, 5, 10]), steps=10, lam=-1.0)
        tensor([9.9966e-01, 1.1920e-01, 6.1442e-06])
    """
    return torch.sigmoid(2.0 * _gairat_argument(kappa, steps, lam))


def gairat_sigmoid(kappa: Tensor, steps: int, lam: Scalar) -> Tensor:
    """GAIRAT's sigmoid variant ``w_i = sigmoid(λ + 5·(K′ − κ_i)/K′)`` with ``K′ = ⌊K/2⌋``.

    Args:
        kappa: ``[B]`` κ in ``[0, K]``.
        steps: ``K ≥ 2``.
        lam: ``λ`` (float or per-example tensor).

    Returns:
        ``[B]`` weights in (0, 1).

    Shape:
        ``kappa [B]`` → ``[B]``.

    Example:
        >>> gairat_sigmoid(torch.tensor([0, 5, 10]), steps=10, lam=-1.0)
        tensor([0.9820, 0.2689, 0.0025])
    """
    return torch.sigmoid(_gairat_argument(kappa, steps, lam))


def gairat_discrete(kappa: Tensor, steps: int) -> Tensor:
    """GAIRAT's discrete variant ``w_i = (K + 1 − κ_i)/(K + 1)``.

    Linear in κ: 1 for an example misclassified already at the random start (κ = 0), ``1/(K + 1)``
    for one that survives every step (κ = K).

    Args:
        kappa: ``[B]`` κ in ``[0, K]``.
        steps: ``K ≥ 1``.

    Returns:
        ``[B]`` weights in ``[1/(K + 1), 1]``.

    Shape:
        ``kappa [B]`` → ``[B]``.

    Example:
        >>> gairat_discrete(torch.tensor([0, 5, 10]), steps=10)
        tensor([1.0000, 0.5455, 0.0909])
    """
    steps = _check_steps(steps, 1)
    kappa = _kappa(kappa, steps)
    return (steps + 1 - kappa) / (steps + 1)


# --------------------------------------------------------------------------------------------------
# margin-based weights (Zeng et al.)
# --------------------------------------------------------------------------------------------------


def exp_kernel(margin: Tensor, alpha: Scalar) -> Tensor:
    """Zeng et al.'s importance weight ``s_i = exp(−α·margin_i)`` (their eq. 7).

    As in the authors' code the result is **not detached and not normalised**: the training loss is
    ``mean(s·CE)`` and gradients flow through ``s`` into the margin. The paper takes ``α > 0`` (more
    weight for small or negative margins); any finite α is accepted (``α = 0`` gives all ones,
    ``α < 0`` favours confident examples). With margins in [−1, 1], ``exp`` overflows float32 only
    for ``|α| > 88``; use :func:`importance` for normalised weights at any α.

    Args:
        margin: ``[B]`` margins ``p_y − max_{t≠y} p_t``
            (:func:`mailviz.margins.probabilistic_margin`).
        alpha: finite ``α`` (float or per-example tensor).

    Returns:
        ``[B]`` positive weights, differentiable with respect to ``margin``.

    Shape:
        ``margin [B]`` → ``[B]``.

    Example:
        >>> exp_kernel(torch.tensor([1.0, 0.0, -1.0]), alpha=2.0)
        tensor([0.1353, 1.0000, 7.3891])
    """
    margin = _finite_input(_as_float_tensor(margin, "margin"), "margin")
    alpha = _param(alpha, "alpha", margin)
    _check_range(alpha, "alpha", hint=" — Zeng et al. use alpha in [0, 3]")
    return torch.exp(-alpha * margin)


def importance(margins: Tensor, alpha: float | Tensor) -> Tensor:
    """Normalised importance weights ``s̃_i = exp(−α·m_i) / Σ_j exp(−α·m_j)`` over a whole set.

    Zeng et al., "Evaluation" paragraph: ``s̃`` is the probability that a non-uniform attacker
    picks example ``i``; it sums to 1 over the set, and the weighted accuracy is
    ``Σ_i s̃_i·1[correct_i]``. Computed as ``softmax(−α·m)``, which is the same quantity (the
    softmax subtracts ``max_j(−α·m_j)`` from every exponent before ``exp``), so it neither
    overflows nor underflows to 0/0 for large ``α·|m|``. ``α = 0`` gives the uniform ``1/N`` (the
    usual accuracy ``A_rob``).

    Args:
        margins: ``[N]`` finite margins of the whole evaluated set.
        alpha: a finite scalar ``α`` (Zeng et al.'s ``α_test``; negative values are accepted).

    Returns:
        ``[N]`` non-negative weights summing to 1.

    Shape:
        ``margins [N]`` → ``[N]``.

    Example:
        >>> importance(torch.tensor([1.0, 0.0, -1.0]), alpha=0.0)
        tensor([0.3333, 0.3333, 0.3333])
    """
    margins = _as_float_tensor(margins, "margins")
    if margins.dim() != 1 or margins.numel() == 0:
        raise ValueError(
            f"margins must be a non-empty 1-D tensor [N], got shape {tuple(margins.shape)}"
        )
    if isinstance(alpha, Tensor):
        if alpha.numel() != 1:
            raise ValueError(
                f"alpha must be a scalar (one alpha_test for the whole set), got shape "
                f"{tuple(alpha.shape)}"
            )
        alpha = float(alpha.item())
    alpha = _param(alpha, "alpha", margins)
    _check_range(alpha, "alpha", hint=" — Zeng et al. use alpha_test in [0, 3]")
    if not bool(torch.isfinite(margins.detach()).all()):
        raise ValueError("margins must be finite; got NaN or inf — check the logits they came from")
    return torch.softmax(-alpha * margins, dim=0)


# --------------------------------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------------------------------


def normalize(w: Tensor, mode: str = "batch", c: float = 3.0) -> Tensor:
    """Turn raw weights ``w`` into the loss weights ``ω``.

    * ``"batch"`` (MAIL paper, Alg. 2–4 line 11, the default): ``ω_i = M·w_i / Σ_j w_j`` with ``M``
      the batch size, so ``Σ ω = M`` and the weighted mean loss is on the scale of the plain mean.
    * ``"constant"`` (MAIL authors' code): ``ω_i = c·w_i`` with ``c = 3``.
    * ``"mean1"`` (GAIRAT): ``ω_i = w_i / mean_j(w_j)``. Mathematically identical to ``"batch"``
      (``mean = Σ/M``); an alias kept so GAIRAT code reads like GAIRAT; it runs the same code.
    * ``"none"``: ``ω = w``.

    **All-zero weights.** Under ``"batch"``/``"mean1"``, ``M·w/Σw`` is 0/0 when every weight is 0
    (e.g. :func:`hinge` on a batch with every PM < β). Unnormalised, such a batch would contribute
    no gradient, so this function returns **all zeros** for it: the loss stays finite (0) and the
    optimiser step is a no-op for that batch instead of NaN-poisoning the model. The computation
    divides by ``max_j w_j`` first (a ``torch.where`` guard makes that 1 for an all-zero batch), so
    the rescaled sum is ≥ 1 whenever some weight is positive: results for any positive ``Σw``,
    however tiny (even subnormal), are exact up to rounding, with no clamp that changes them.
    Gradients flow through ``w`` (no detach here; MAIL detaches PM before computing ``w``).

    Args:
        w: ``[B]`` finite, non-negative weights.
        mode: one of ``"batch"``, ``"constant"``, ``"mean1"``, ``"none"``.
        c: the constant of ``"constant"`` (finite, ``> 0``); ignored by the other modes.

    Returns:
        ``[B]`` weights ``ω``.

    Raises:
        ValueError: for a bad mode or ``c``, a non-1-D ``w``, or a negative/NaN/inf weight (an inf
        weight usually means :func:`exp_kernel` overflowed; use :func:`importance` instead). The
        weight check reads the tensor (a host sync) and is skipped inside
        :func:`mailviz.checks.skip_host_syncs` (trusted inputs only).

    Shape:
        ``w [B]`` → ``[B]``.

    Example:
        >>> normalize(torch.tensor([1.0, 3.0]))
        tensor([0.5000, 1.5000])
        >>> normalize(torch.zeros(3))
        tensor([0., 0., 0.])
    """
    if mode not in NORMALIZE_MODES:
        raise ValueError(f"mode must be one of {NORMALIZE_MODES}, got {mode!r}")
    w = _as_float_tensor(w, "w")
    if w.dim() != 1:
        raise ValueError(
            f"w must be a 1-D tensor of per-example weights [B], got shape {tuple(w.shape)}"
        )
    if mode == "constant" and (
        isinstance(c, bool) or not isinstance(c, (int, float)) or not 0 < c < math.inf
    ):
        raise ValueError(f"c must be a finite number > 0, got {c!r} — the MAIL code uses c=3")
    wd = w.detach()
    if checks.enabled() and not bool((torch.isfinite(wd) & (wd >= 0)).all()):  # a host sync
        raise ValueError(
            "weights must be finite and >= 0, got a negative, NaN or inf weight — "
            "for exp_kernel with a large alpha use importance() instead"
        )
    if mode == "none":
        return w
    if mode == "constant":
        return float(c) * w
    if w.numel() == 0:
        return w.clone()
    top = w.amax()
    scaled = w / torch.where(top > 0, top, torch.ones_like(top))  # max entry is exactly 1
    # Σ scaled ≥ 1 whenever some w > 0, so clamp_min(1) only acts on the all-zero batch (0/1 = 0).
    return w.shape[0] * scaled / scaled.sum().clamp_min(1.0)


# --------------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------------

WEIGHT_FUNCTIONS: dict[str, Callable[..., Tensor]] = {
    "sigmoid": sigmoid,
    "hinge": hinge,
    "hinge_mirrored": hinge_mirrored,
    "step": step,
}
"""PM-based weight functions by name: ``sigmoid, hinge, hinge_mirrored`` take ``(pm, gamma, beta)``,
``step`` takes ``(pm, beta, alpha)``. Call them uniformly through :func:`pm_weights`."""


def pm_weights(
    name: str,
    pm: Tensor,
    *,
    gamma: Scalar | None = None,
    beta: Scalar,
    alpha: Scalar = 0.2,
) -> Tensor:
    """PM-based weights by name: ``WEIGHT_FUNCTIONS[name]`` with the arguments it takes.

    ``gamma`` is required by ``sigmoid``, ``hinge`` and ``hinge_mirrored`` and ignored by ``step``;
    ``alpha`` is used by ``step`` only.

    Args:
        name: one of :data:`WEIGHT_FUNCTIONS`.
        pm: ``[B]`` margins.
        gamma: ``γ ≥ 0``.
        beta: ``β``.
        alpha: the ``α`` of :func:`step`.

    Returns:
        ``[B]`` raw (unnormalised) weights.

    Example:
        >>> pm_weights("sigmoid", torch.tensor([0.5]), gamma=2.0, beta=0.0)
        tensor([0.2689])
    """
    if name not in WEIGHT_FUNCTIONS:
        raise ValueError(
            f"unknown weight function {name!r}; valid names: {', '.join(WEIGHT_FUNCTIONS)}"
        )
    if name == "step":
        return step(pm, beta, alpha)
    if gamma is None:
        raise ValueError(f"weight function {name!r} needs gamma — e.g. gamma=10 (MAIL-AT)")
    return WEIGHT_FUNCTIONS[name](pm, gamma, beta)
