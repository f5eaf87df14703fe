"""FGSM (Goodfellow et al., 2015): one signed-gradient step of size ε."""

from __future__ import annotations

from torch import Tensor, nn

from mailviz.attacks._ascent import _sign_ascent
from mailviz.attacks._common import (
    AttackResult,
    _check_inputs,
    _cross_entropy,
    _eps,
    _eval_mode,
    _Guard,
)

# --------------------------------------------------------------------------------------------
# Public attacks
# --------------------------------------------------------------------------------------------


def fgsm(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float | Tensor,
    *,
    return_result: bool = False,
) -> Tensor | AttackResult:
    """Fast gradient sign method: ``x′ = clip_[0,1](x + ε·sign(∇_x CE(f(x), y)))``.

    One step of eq. 11 from ``x`` itself (no random start) with step size ε on the
    cross-entropy loss. Cost: one forward+backward (+1 forward with ``return_result=True``).

    Args:
        model: classifier mapping ``[B, ...]`` inputs in [0, 1] to logits ``[B, classes]``.
        x: ``[B, ...]`` clean inputs in [0, 1] (not modified).
        y: ``[B]`` integer labels.
        eps: L∞ budget in (0, 1], a float or a ``[B]`` tensor.
        return_result: return an :class:`AttackResult` (κ ∈ {0, 1}: is ``x`` correct) instead of
            the tensor.

    Shape:
        ``x``: ``[B, ...]`` → ``x_adv``: ``[B, ...]``.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> x, y = torch.rand(2, 1, 2, 2), torch.tensor([0, 2])
        >>> bool(((fgsm(model, x, y, eps=0.1) - x).abs() <= 0.1 + 1e-6).all())
        True
    """
    y = _check_inputs(model, x, y)
    eps_b = _eps(eps, x)
    guard = _Guard(x, y)
    with _eval_mode(model):
        return _sign_ascent(
            model, x, y, eps_b, eps_b, 1, _cross_entropy, None,
            start="none", restarts=1, record=False, generator=None,
            return_result=return_result, final_logits=True, init=None, guard=guard,
        )  # fmt: skip
