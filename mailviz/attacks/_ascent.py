"""The signed-gradient ascent step shared by FGSM, PGD and weighted PGD (MAIL appendix eq. 11).

``x^{(t+1)} = Π_{B∞(x,ε)}(x^{(t)} + α·sign(∇ℓ(x^{(t)})))``, with the restart bookkeeping
(:func:`_stronger`) that keeps the stronger of two runs per example.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from mailviz.attacks._common import AttackResult, Objective, _Guard, _start_point


def _stronger(best: AttackResult, new: AttackResult, y: Tensor) -> AttackResult:
    """Per example, keep ``new`` if it is misclassified and ``best`` is not, or if both agree on
    correctness and ``new`` has the larger final loss."""
    assert best.logits is not None and new.logits is not None
    assert best.loss is not None and new.loss is not None
    wrong_best = best.logits.argmax(dim=1) != y
    wrong_new = new.logits.argmax(dim=1) != y
    take = (wrong_new & ~wrong_best) | ((wrong_new == wrong_best) & (new.loss > best.loss))

    def pick(a: Tensor | None, b: Tensor | None, batch_dim: int = 0) -> Tensor | None:
        if a is None or b is None:
            return None
        shape = [1] * a.dim()
        shape[batch_dim] = -1
        return torch.where(take.view(shape), b, a)

    return AttackResult(
        x_adv=pick(best.x_adv, new.x_adv),
        logits=pick(best.logits, new.logits),
        loss=pick(best.loss, new.loss),
        kappa=pick(best.kappa, new.kappa),
        path=pick(best.path, new.path, batch_dim=1),
        path_pred=pick(best.path_pred, new.path_pred, batch_dim=1),
    )


def _sign_ascent(
    model: Callable[[Tensor], Tensor],
    x: Tensor,
    y: Tensor,
    eps: Tensor,
    step_size: Tensor,
    steps: int,
    objective: Objective,
    ref: Tensor | None,
    *,
    start: str,
    restarts: int,
    record: bool,
    generator: torch.Generator | None,
    return_result: bool,
    final_logits: bool,
    init: Tensor | None,
    guard: _Guard | None = None,
    clamp_start: bool = True,
) -> Tensor | AttackResult:
    """``restarts`` runs of eq. 11 on ``objective``; the model must already be in eval mode.

    ``guard`` sees the first forward's logits before the objective does (:class:`_Guard`)."""
    x = x.detach()
    low = (x - eps).clamp(min=0.0)  # project-then-clamp == one clamp to [low, high]
    high = (x + eps).clamp(max=1.0)
    need_final = record or restarts > 1 or (return_result and final_logits)
    best: AttackResult | None = None
    for _ in range(restarts):
        x_adv = _start_point(x, eps, low, high, start, init, generator, clamp_start)
        kappa = (
            torch.zeros(x.shape[0], dtype=torch.int64, device=x.device) if return_result else None
        )
        path = x.new_empty((steps + 1, *x.shape)) if record else None
        path_pred = (
            torch.empty((steps + 1, x.shape[0]), dtype=torch.int64, device=x.device)
            if record
            else None
        )
        for t in range(steps):
            with torch.enable_grad():
                x_adv.requires_grad_(True)
                logits = model(x_adv)
                if guard is not None:
                    guard.logits(logits)
                (grad,) = torch.autograd.grad(objective(logits, y, ref).sum(), x_adv)
            x_adv = x_adv.detach()
            if kappa is not None:  # the forward for the gradient already predicts iterate t
                pred = logits.detach().argmax(dim=1)
                kappa += pred == y
                if path is not None and path_pred is not None:
                    path[t] = x_adv
                    path_pred[t] = pred
            x_adv = torch.addcmul(x_adv, step_size, grad.sign()).clamp_(low, high)
        logits_final = loss_final = None
        if need_final:
            with torch.no_grad():
                logits_final = model(x_adv).detach()
                loss_final = objective(logits_final, y, ref).detach()
            if path is not None and path_pred is not None:
                path[steps] = x_adv
                path_pred[steps] = logits_final.argmax(dim=1)
        run = AttackResult(x_adv, logits_final, loss_final, kappa, path, path_pred)
        best = run if best is None else _stronger(best, run, y)
    assert best is not None
    return best if return_result else best.x_adv
