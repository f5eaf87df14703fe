"""``at``: adversarial training (Madry et al., 2018), ``mean CE(f(x′), y)``.

``x′`` from PGD on CE (:func:`mailviz.attacks.pgd`, MAIL appendix eq. 11), started uniformly in the
ε-ball (Madry's code).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor, nn

from mailviz.objectives._common import _stats, ce_on
from mailviz.objectives.settings import LossOutput
from mailviz.objectives.spec import MethodSpec

if TYPE_CHECKING:
    from mailviz.objectives.objective import Objective


def loss_at(
    obj: Objective, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
) -> LossOutput:
    """``mean CE(f(x′), y)``."""
    x_adv = obj._pgd(net, x, y).x_adv
    logits, ce = ce_on(model, x_adv, y)
    return LossOutput(ce.mean(), _stats(logits, y, None))


SPEC = MethodSpec("at", loss_at, {}, attack_loss="ce", start="uniform")
