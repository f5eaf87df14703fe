"""GAIRAT's weights of κ, the least PGD steps (Zhang et al., 2021): tanh, sigmoid, discrete."""

from __future__ import annotations

import torch
from torch import Tensor

from mailviz.weights._checks import Scalar, _check_range, _check_steps, _kappa, _param

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
