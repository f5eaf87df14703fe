"""Weighted PGD (Zeng et al., Alg. 1): ascend the importance-weighted loss Σ exp(−α·PM)·ℓ."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mailviz.attacks._ascent import _sign_ascent
from mailviz.attacks._common import (
    WEIGHTED_LOSSES,
    AttackResult,
    Objective,
    _check_bool,
    _check_choice,
    _check_common,
    _check_inputs,
    _check_int,
    _eps,
    _eval_mode,
    _Guard,
    _kl,
    _objective,
    _per_example,
    _positive,
    _weighted_ce,
)
from mailviz.margins import pm_unchecked


def weighted_pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float | Tensor,
    step_size: float | Tensor,
    steps: int,
    alpha: float | Tensor,
    *,
    loss: str = "ce",
    start: str = "uniform",
    restarts: int = 1,
    record: bool = False,
    generator: torch.Generator | None = None,
    return_result: bool = False,
    final_logits: bool = True,
    init: Tensor | None = None,
    clamp_start: bool = True,
) -> Tensor | AttackResult:
    """Weighted PGD of Zeng et al. (2021), Algorithm 1: PGD on the importance-weighted loss.

    Ascends ``L(x′) = Σ_i s_i(x′)·CE(f(x′_i), y_i)`` with ``s_i = exp(−α·margin_i(x′))``
    (their eq. 7) and ``margin = p_y − max_{j≠y} p_j``
    (:func:`mailviz.margins.probabilistic_margin`).
    The weight is **not** detached: the gradient flows through ``s`` as well, so the attack also
    pushes examples towards the boundary where the weight grows. Each step is eq. 11: sign step,
    projection onto the ε-ball, clamp to [0, 1].

    Algorithm 1 starts from ``x + 0.001·ξ``, ``ξ ~ N(0, I)`` (``start="normal"``); the authors'
    evaluation code starts uniformly and keeps the best of 10 restarts, which is the default here
    (``start="uniform"``). Restarts keep, per example, a misclassified restart over a correct one,
    then the larger weighted loss. With ``alpha=0`` every weight is 1 and the attack is exactly
    :func:`pgd` with ``loss="ce"`` (same start for the same generator state). κ is counted along
    the weighted path as in :func:`pgd`.

    ``loss="kl"`` is the TRADES variant ("TRADES+ours"): ``s_i·KL(p(x_i) ‖ p(x′_i))`` with the same
    undetached weight and ``p(x)`` computed once; ``alpha=0`` is then :func:`pgd` with ``"kl"``.

    Cost: as :func:`pgd` (``restarts × K`` forward+backward passes, +1 forward per restart for
    the final logits when needed).

    Args:
        model, x, y, eps, step_size, steps, start, restarts, record, generator, return_result,
        final_logits, init, clamp_start: as in :func:`pgd`.
        loss: ``"ce"`` (Algorithm 1) or ``"kl"`` (TRADES+ours).
        alpha: α of the weight ``exp(−α·margin)``, a float or a ``[B]`` tensor (α_train /
            α_test; 0 gives plain PGD).

    Returns:
        ``x_adv`` ``[B, ...]``, or an :class:`AttackResult` whose ``loss`` is ``s_i·CE_i``
        (``s_i·KL_i`` for ``loss="kl"``).

    Shape:
        ``x``: ``[B, ...]``, ``y``: ``[B]``, ``alpha``: ``[]`` or ``[B]`` → ``[B, ...]``.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> x, y = torch.rand(8, 1, 2, 2), torch.randint(0, 3, (8,))
        >>> weighted_pgd(model, x, y, 0.1, 0.025, 10, alpha=2.0).shape
        torch.Size([8, 1, 2, 2])
    """
    y = _check_inputs(model, x, y)
    eps_b = _eps(eps, x)
    step_b = _positive(step_size, "step_size", x, "e.g. step_size=0.0031 (Zeng's evaluation)")
    _check_int(steps, "steps", 1, "pass steps=20 for Zeng's evaluation attack")
    _check_common(x, start, restarts, record, return_result, generator, init)
    _check_choice(loss, "loss", WEIGHTED_LOSSES)
    if loss == "kl" and start == "none" and init is None:
        raise ValueError("the KL loss has zero gradient at x′ = x; use start='normal' (TRADES)")
    alpha_b = _per_example(
        alpha, "alpha", x, torch.isfinite, "finite", "Zeng et al. use alpha in {0, 1, 2, 3}"
    ).view(-1)
    guard = _Guard(x, y)
    with _eval_mode(model):
        objective: Objective = _weighted_ce
        ref: Tensor | None = alpha_b
        if loss == "kl":
            _, ref = _objective("kl", 0.0, model, x.detach())  # p(x), once

            def objective(logits: Tensor, labels: Tensor, p_clean: Tensor | None) -> Tensor:
                weight = torch.exp(-alpha_b * pm_unchecked(logits, labels))
                return weight * _kl(logits, labels, p_clean)

        return _sign_ascent(
            model, x, y, eps_b, step_b, steps, objective, ref,
            start=start, restarts=restarts, record=record, generator=generator,
            return_result=return_result, final_logits=final_logits, init=init, guard=guard,
            clamp_start=_check_bool(clamp_start, "clamp_start"),
        )  # fmt: skip
