"""Loss pieces shared by the methods (per example) and the helpers every method's loss uses."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mailviz.margins import pm_unchecked

#: MART's constant in ``log(1.0001 − max_{k≠y} p_k)`` (keeps the log finite when max → 1).
MART_BCE_CONSTANT = 1.0001


def _kl_rows(logits_nat: Tensor, logits_adv: Tensor) -> Tensor:
    """``KL(p(x) ‖ p(x′))`` per example; gradient flows into both (TRADES/MART code)."""
    log_nat = F.log_softmax(logits_nat.float(), dim=1)
    log_adv = F.log_softmax(logits_adv.float(), dim=1)
    return F.kl_div(log_adv, log_nat, reduction="none", log_target=True).sum(dim=1)


def _boosted_ce(logits_adv: Tensor, y: Tensor) -> Tensor:
    """MART's BCE (MAIL eq. 16): ``CE(f(x′), y) − log(1.0001 − max_{k≠y} p_k(x′))`` per example."""
    probs = F.softmax(logits_adv.float(), dim=1)
    best_other = probs.scatter(1, y.view(-1, 1), 0.0).amax(dim=1)
    ce = F.cross_entropy(logits_adv.float(), y, reduction="none")
    return ce - torch.log(MART_BCE_CONSTANT - best_other)


def _true_prob(logits: Tensor, y: Tensor) -> Tensor:
    return F.softmax(logits.float(), dim=1).gather(1, y.view(-1, 1)).squeeze(1)


def _stats(logits: Tensor, y: Tensor, weight: Tensor | None, **extra: Tensor) -> dict[str, Tensor]:
    logits = logits.detach()
    stats = {
        "margin": pm_unchecked(logits, y),
        "weight": (
            torch.ones(y.shape[0], device=logits.device) if weight is None else weight.detach()
        ),
        "correct": logits.argmax(dim=1) == y,
    }
    stats.update({k: v.detach() for k, v in extra.items()})
    return stats


def _unwrap(model: nn.Module) -> nn.Module:
    """DDP / DataParallel keep the network in ``.module``."""
    inner = getattr(model, "module", None)
    return inner if isinstance(inner, nn.Module) else model


# --------------------------------------------------------------------------------------------


def ce_on(model: nn.Module, x_adv: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """The training forward on ``x′`` (train mode): logits and per-example CE."""
    model.train()
    logits = model(x_adv)
    return logits, F.cross_entropy(logits, y, reduction="none")
