"""MAIL's weight functions of the margin (Table 6): sigmoid, hinge, mirrored hinge, step."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from mailviz.weights._checks import (
    Scalar,
    _as_float_tensor,
    _check_gamma,
    _check_range,
    _finite_input,
    _param,
)

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
