"""Zeng et al.'s importance weights: the kernel exp(−α·margin) and s̃ = softmax(−α·PM)."""

from __future__ import annotations

import torch
from torch import Tensor

from mailviz.weights._checks import Scalar, _as_float_tensor, _check_range, _finite_input, _param

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
