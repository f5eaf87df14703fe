"""FAT's friendly PGD (Zhang et al., 2020, Alg. 1): PGD that stops τ steps after misclassification.

The training attack of :mod:`mailviz.objectives.fat`; also importable as
``mailviz.objectives.friendly_pgd`` (where it lived before).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from mailviz.attacks._common import (
    LOSSES,
    _check_choice,
    _check_common,
    _check_inputs,
    _check_int,
    _eps,
    _eval_mode,
    _Guard,
    _objective,
    _positive,
    _start_point,
)


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def friendly_pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float | Tensor,
    step_size: float | Tensor,
    steps: int,
    tau: int,
    *,
    loss: str = "ce",
    confidence: float = 0.0,
    start: str = "uniform",
    omega: float = 0.0,
    generator: torch.Generator | None = None,
    return_steps: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Early-stopped PGD of Friendly Adversarial Training (Zhang et al., 2020, Alg. 1).

    PGD (MAIL appendix eq. 11) where each example stops on its own: before each of the ``K``
    steps, iterate ``x^{(t)}`` is classified; if it is misclassified and its budget ``τ_i`` is
    spent, the example is frozen at ``x^{(t)}``; if it is misclassified with budget left, the
    budget drops by one and the example steps on; if it is correct it steps on::

        x^{(t+1)} = clip_[0,1](Π_{B∞(x,ε)}(x^{(t)} + α·sign(∇ℓ(x^{(t)})) + ω·ξ)),  ξ ~ N(0, I)

    for every still-active example. ``τ = 0`` returns the first misclassified iterate, which is
    the "friendly" adversarial example; ``τ ≥ K`` never stops early and, with ``ω = 0``, equals
    :func:`mailviz.attacks.pgd` from the same start. The final iterate is not checked (as in the
    FAT code). Batched: a per-example active mask replaces the code's re-indexing, so every step
    runs one forward+backward of the whole batch and no host sync happens.

    Args:
        model: classifier on inputs in [0, 1]; run in eval mode, its flags restored afterwards.
        x: ``[B, ...]`` clean inputs in [0, 1] (not modified).
        y: ``[B]`` labels.
        eps: ε in (0, 1], float or ``[B]``.
        step_size: α > 0, float or ``[B]``.
        steps: K ≥ 1 (maximum number of steps).
        tau: τ ≥ 0, how many extra steps an example takes after it is first misclassified.
        loss: attack loss ``"ce"`` (FAT), ``"kl"`` (FAT for TRADES) or ``"cw"``.
        confidence: κ_c ≥ 0 of the ``"cw"`` loss (as in :func:`mailviz.attacks.pgd`).
        start: ``"uniform"`` (FAT code), ``"normal"`` or ``"none"``.
        omega: std of the Gaussian noise added to every step (FAT code: 0.001).
        generator: random source for the start and the noise, on ``x.device``.
        return_steps: also return how many steps each example took.

    Returns:
        ``x_adv`` ``[B, ...]``, or ``(x_adv, steps_taken [B] int64)``.

    Shape:
        ``x``: ``[B, ...]`` → ``[B, ...]``.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> x, y = torch.rand(8, 1, 2, 2), torch.randint(0, 3, (8,))
        >>> x_adv, taken = friendly_pgd(model, x, y, 0.1, 0.025, 10, tau=0, return_steps=True)
        >>> bool(((x_adv - x).abs() <= 0.1 + 1e-6).all()), taken.shape
        (True, torch.Size([8]))
    """
    y = _check_inputs(model, x, y)
    guard = _Guard(x, y)
    eps_b = _eps(eps, x)
    step_b = _positive(step_size, "step_size", x, "e.g. step_size=eps/4")
    _check_int(steps, "steps", 1, "FAT uses steps=10")
    _check_int(tau, "tau", 0, "FAT uses tau in {0, 1, 2, 3}")
    _check_choice(loss, "loss", LOSSES)
    _check_common(x, start, 1, False, False, generator, None)
    if not _is_number(omega) or not 0 <= omega < math.inf:
        raise ValueError(f"omega must be a float >= 0, got {omega!r} — the FAT code uses 0.001")
    if loss == "kl" and start == "none":
        raise ValueError("the KL loss has zero gradient at x′ = x; use start='normal' (TRADES)")
    x = x.detach()
    low = (x - eps_b).clamp(min=0.0)
    high = (x + eps_b).clamp(max=1.0)
    batch = x.shape[0]
    view = (batch, *([1] * (x.dim() - 1)))
    with _eval_mode(model):
        objective, ref = _objective(loss, float(confidence), model, x)
        x_adv = _start_point(x, eps_b, low, high, start, None, generator)
        active = torch.ones(batch, dtype=torch.bool, device=x.device)
        budget = torch.full((batch,), tau, dtype=torch.int64, device=x.device)
        taken = torch.zeros(batch, dtype=torch.int64, device=x.device)
        for _ in range(steps):
            with torch.enable_grad():
                x_adv.requires_grad_(True)
                logits = model(x_adv)
                guard.logits(logits)
                (grad,) = torch.autograd.grad(objective(logits, y, ref).sum(), x_adv)
            x_adv = x_adv.detach()
            wrong = logits.detach().argmax(dim=1) != y
            active = active & ~(wrong & (budget == 0))
            budget = budget - (active & wrong).to(torch.int64)
            moved = torch.addcmul(x_adv, step_b, grad.sign())
            if omega > 0:
                noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
                moved = moved + omega * noise
            x_adv = torch.where(active.view(view), moved.clamp(low, high), x_adv)
            taken = taken + active.to(torch.int64)
    return (x_adv, taken) if return_steps else x_adv


# --------------------------------------------------------------------------------------------
# The objective
# --------------------------------------------------------------------------------------------
