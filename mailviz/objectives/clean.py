"""``clean``: standard training, ``mean CE(f(x), y)`` — no attack (the baseline)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch.nn.functional as F
from torch import Tensor, nn

from mailviz import attacks
from mailviz.objectives._common import _stats
from mailviz.objectives.settings import LossOutput
from mailviz.objectives.spec import MethodSpec

if TYPE_CHECKING:
    from mailviz.objectives.objective import Objective


def loss_clean(
    obj: Objective, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
) -> LossOutput:
    """``mean CE(f(x), y)`` on the clean batch."""
    guard = attacks._Guard(x, y)  # no attack here to check x, y and the logits
    model.train()
    logits = model(x)
    guard.logits(logits)
    loss = F.cross_entropy(logits, y)
    return LossOutput(loss, _stats(logits, y, None))


SPEC = MethodSpec("clean", loss_clean, {}, attack_loss="ce", start="uniform")
