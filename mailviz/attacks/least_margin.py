"""LM-PGD (MAIL appendix eq. 12-14): PGD descending the probabilistic margin, shrinking steps."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from mailviz.attacks._common import (
    LM_STEP_MAX_FRACTION,
    LM_STEP_MIN_FRACTION,
    LOSSES,
    AttackResult,
    _check_bool,
    _check_choice,
    _check_common,
    _check_inputs,
    _check_int,
    _eps,
    _eval_mode,
    _Guard,
    _objective,
    _per_example,
    _positive,
    _start_point,
)


def lm_pgd(  # long: eq. 12–14 (look-ahead, momentum, line search) kept as one loop
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float | Tensor,
    *,
    steps: int = 50,
    momentum: float = 0.8,
    step_max: float | Tensor | None = None,
    step_min: float | Tensor | None = None,
    min_until: int = 15,
    n_candidates: int = 5,
    loss: str = "ce",
    confidence: float = 0.0,
    start: str = "uniform",
    record: bool = False,
    generator: torch.Generator | None = None,
    return_result: bool = False,
    init: Tensor | None = None,
    clamp_start: bool = True,
) -> Tensor | AttackResult:
    """Line-Search & Momentum PGD (LM-PGD, MAIL appendix A, eq. 12–14).

    PGD (eq. 11) with a Nesterov look-ahead gradient and a per-example line search of the step.
    For ``t = 1 … K`` (``δ^{(0)}`` from ``start``, ``v^{(0)} = 0``, ``δ^{(−1)} = δ^{(0)}``)::

        x̃^{(t)} = x + Π(δ^{(t−1)} + γ·(δ^{(t−1)} − δ^{(t−2)}))                 look-ahead
        v^{(t)} = γ·v^{(t−1)} + sign(∇ℓ(x̃^{(t)}, y))                            eq. 12
        δ_α     = Π(δ^{(t−1)} + α·sign(v^{(t)}))                                 eq. 13
        α^{(t)} = argmax_{α ∈ V_t} ℓ(x + δ_α, y),  δ^{(t)} = δ_{α^{(t)}}           eq. 14

    where Π projects onto the ε-ball and clamps to [0, 1]. The extracted equations mix units
    (``v`` holds gradients but is added to a perturbation), so mailviz reads them as follows: the
    velocity accumulates *sign-normalised* gradients (scale-free, like the sign step of eq. 11),
    the step is ``α·sign(v)`` so that α is an L∞ step length as in eq. 11, and the Nesterov
    look-ahead evaluates the gradient where the previous displacement, damped by γ, would carry
    the iterate (Nesterov's ``θ_t + γ(θ_t − θ_{t−1})``). Because every term of ``v`` has unit
    size, ``sign(v)`` departs from the current gradient sign only where the recent signs
    disagree with it (one opposing sign weighs γ = 0.8 < 1, two weigh γ + γ² > 1): the momentum
    damps oscillations around a maximum rather than accelerating. ``V_t`` is the grid of
    ``n_candidates`` equally spaced step sizes in ``[α_min, α_max]``, ``α_min = step_min`` for
    the first ``min_until`` iterations and 0 afterwards (so from then on "stay" is a candidate
    and the loss never decreases). All candidates are evaluated in one batched forward of
    ``n_candidates × B`` inputs and each example picks its own best α (ties: the smallest).

    Paper defaults (Figure 1(a)): 50 iterations, γ = 0.8, α_max = 6/255, α_min = 4/255 for the
    first 15 iterations, then 0, at ε = 8/255. mailviz scales them to the ε in use:
    ``step_max = ε·6/8`` and ``step_min = ε·4/8`` unless given.

    κ does not apply (the paper's point: with momentum and line-searched step lengths the number
    of steps no longer measures distance), so ``AttackResult.kappa`` is ``None``. The final logits
    come from the last line search, at no extra cost.

    Cost: ``K`` forward+backward passes at the look-ahead points, ``K`` forwards of
    ``n_candidates × B`` inputs (no backward), and one clean forward for ``loss="kl"``.

    Args:
        model, x, y, eps, loss, confidence, start, record, generator, return_result, init,
            clamp_start: as in :func:`pgd` (no restarts).
        steps: K ≥ 1 iterations.
        momentum: γ in [0, 1).
        step_max: α_max > 0 (float or ``[B]``); default ``ε·6/8``.
        step_min: α_min in [0, α_max] (float or ``[B]``) for the first ``min_until`` iterations;
            default ``α_max·4/6`` (``ε·4/8`` when ``step_max`` is not given either).
        min_until: number of iterations that use ``step_min`` (then the lower end is 0).
        n_candidates: grid size of the line search, ≥ 2.

    Returns:
        ``x_adv`` ``[B, ...]``, or an :class:`AttackResult` (``kappa=None``).

    Shape:
        ``x``: ``[B, ...]`` → ``x_adv``: ``[B, ...]``; ``path``: ``[K+1, B, ...]``.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> x, y = torch.rand(8, 1, 2, 2), torch.randint(0, 3, (8,))
        >>> lm_pgd(model, x, y, eps=8 / 255, steps=20).shape
        torch.Size([8, 1, 2, 2])
    """
    y = _check_inputs(model, x, y)
    eps_b = _eps(eps, x)
    a_max, a_min, clamp_start = _lm_checks(
        x, eps_b, steps, momentum, step_max, step_min, min_until, n_candidates, loss, confidence,
        start, record, return_result, generator, init, clamp_start,
    )  # fmt: skip
    guard = _Guard(x, y)
    x = x.detach()
    batch, n = x.shape[0], n_candidates
    with _eval_mode(model):
        objective, ref = _objective(loss, float(confidence), model, x)
        ref_n = None if ref is None else ref.repeat(n, *([1] * (ref.dim() - 1)))
        y_n = y.repeat(n)
        low = (x - eps_b).clamp(min=0.0)
        high = (x + eps_b).clamp(max=1.0)
        x_adv = _start_point(x, eps_b, low, high, start, init, generator, clamp_start)
        x_prev = x_adv
        velocity = torch.zeros_like(x)
        grid = torch.linspace(0.0, 1.0, n, device=x.device, dtype=x.dtype)
        grid = grid.view(n, *([1] * x.dim()))  # [n, 1, 1, ...] against [B, 1, ...] step sizes
        path = x.new_empty((steps + 1, *x.shape)) if record else None
        path_pred = (
            torch.empty((steps + 1, batch), dtype=torch.int64, device=x.device) if record else None
        )
        no_min = torch.zeros_like(a_min)
        logits_best = loss_best = None
        for t in range(steps):
            look = torch.clamp(x_adv + momentum * (x_adv - x_prev), low, high) if t else x_adv
            look = look.detach().requires_grad_(True)
            with torch.enable_grad():
                logits = model(look)
                guard.logits(logits)
                (grad,) = torch.autograd.grad(objective(logits, y, ref).sum(), look)
            if t == 0 and path is not None and path_pred is not None:
                path[0] = x_adv  # at t = 0 the look-ahead point is the start itself
                path_pred[0] = logits.detach().argmax(dim=1)
            velocity.mul_(momentum).add_(grad.sign())
            direction = velocity.sign()
            lower = a_min if t < min_until else no_min
            alphas = lower + (a_max - lower) * grid  # [n, B, 1, ...]
            candidates = torch.clamp(x_adv + alphas * direction, low, high)  # [n, B, ...]
            with torch.no_grad():
                cand_logits = model(candidates.flatten(0, 1))
                cand_loss = objective(cand_logits, y_n, ref_n).view(n, batch)
            choice = cand_loss.argmax(dim=0)  # first maximum: the smallest α among ties
            x_prev = x_adv
            index = choice.view(1, batch, *([1] * (x.dim() - 1))).expand(1, *x.shape)
            x_adv = candidates.gather(0, index).squeeze(0)
            classes = cand_logits.shape[1]
            logits_best = (
                cand_logits.view(n, batch, classes)
                .gather(0, choice.view(1, batch, 1).expand(1, batch, classes))
                .squeeze(0)
                .detach()
            )
            loss_best = cand_loss.gather(0, choice.view(1, batch)).squeeze(0).detach()
            if path is not None and path_pred is not None:
                path[t + 1] = x_adv
                path_pred[t + 1] = logits_best.argmax(dim=1)
    if not return_result:
        return x_adv
    return AttackResult(x_adv, logits_best, loss_best, None, path, path_pred)


def _lm_checks(
    x: Tensor,
    eps_b: Tensor,
    steps: int,
    momentum: float,
    step_max: float | Tensor | None,
    step_min: float | Tensor | None,
    min_until: int,
    n_candidates: int,
    loss: str,
    confidence: float,
    start: str,
    record: bool,
    return_result: bool,
    generator: torch.Generator | None,
    init: Tensor | None,
    clamp_start: bool,
) -> tuple[Tensor, Tensor, bool]:
    """:func:`lm_pgd`'s argument checks; the step bounds ``(α_max, α_min)`` ``[B, 1, ...]``."""
    _check_int(steps, "steps", 1, "the MAIL appendix uses steps=50")
    _check_int(min_until, "min_until", 0, "the MAIL appendix uses min_until=15")
    _check_int(n_candidates, "n_candidates", 2, "the line search needs a grid, e.g. 5")
    _check_choice(loss, "loss", LOSSES)
    _check_common(x, start, 1, record, return_result, generator, init)
    clamp_start = _check_bool(clamp_start, "clamp_start")
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)):
        raise ValueError(f"momentum must be a float in [0, 1), got {momentum!r} (paper: 0.8)")
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r} (paper: 0.8)")
    if (not isinstance(confidence, (int, float)) or isinstance(confidence, bool)
            or not 0 <= confidence < math.inf):  # fmt: skip
        raise ValueError(f"confidence must be a float ≥ 0, got {confidence!r} (MAIL's CW uses 50)")
    if loss == "kl" and start == "none" and init is None:
        raise ValueError("the KL loss has zero gradient at x′ = x; use start='normal' (TRADES)")
    if step_max is None:
        a_max = eps_b * LM_STEP_MAX_FRACTION
        default_min = eps_b * LM_STEP_MIN_FRACTION
    else:
        a_max = _positive(step_max, "step_max", x, "e.g. 6/255 at eps=8/255")
        default_min = a_max * (LM_STEP_MIN_FRACTION / LM_STEP_MAX_FRACTION)  # the paper's 4:6
    a_min = (
        default_min
        if step_min is None
        else _per_example(
            step_min, "step_min", x, lambda t: t >= 0, "≥ 0", "e.g. 4/255 at eps=8/255"
        )
    )
    if bool((a_min > a_max).any()):
        raise ValueError("step_min must not exceed step_max (paper: 4/255 and 6/255)")

    return a_max, a_min, clamp_start
