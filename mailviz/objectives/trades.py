"""``trades`` (Zhang et al., 2019): ``mean CE(f(x), y) + β_t·(1/B)·Σ KL(p(x) ‖ p(x′))``.

``x′`` from KL-PGD started at ``x + 0.001·N(0, I)`` (the TRADES code). :func:`trades_forward` is
shared with MAIL-TRADES and Zeng's weighted TRADES.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch.nn.functional as F
from torch import Tensor, nn

from mailviz.objectives._common import _kl_rows, _stats
from mailviz.objectives.settings import LossOutput
from mailviz.objectives.spec import MethodSpec

if TYPE_CHECKING:
    from mailviz.objectives.objective import Objective


def trades_forward(
    model: nn.Module, x: Tensor, x_adv: Tensor, y: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Natural CE ``[B]``, ``KL(p(x)‖p(x′))`` ``[B]`` and the adversarial logits (train)."""
    model.train()
    logits_nat = model(x)
    logits_adv = model(x_adv)
    ce_nat = F.cross_entropy(logits_nat, y, reduction="none")
    return ce_nat, _kl_rows(logits_nat, logits_adv), logits_adv


def loss_trades(
    obj: Objective, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
) -> LossOutput:
    """``mean CE(f(x), y) + β_t·mean KL(p(x) ‖ p(x′))``."""
    x_adv = obj._pgd(net, x, y).x_adv
    ce_nat, kl, logits_adv = trades_forward(model, x, x_adv, y)
    loss = ce_nat.mean() + obj.params["beta_trades"] * kl.mean()
    return LossOutput(loss, _stats(logits_adv, y, None))


SPEC = MethodSpec("trades", loss_trades, {"beta_trades": 6.0}, attack_loss="kl", start="normal")
