"""``mail_at``: MAIL-AT (Wang et al., 2021, Alg. 2), ``mean ω·CE(f(x′), y)``.

``ω`` from :func:`~mailviz.objectives.mail_weights.mail_weights` on the training forward's
logits; ``x′`` from PGD (uniform start, like its base ``at``). Burn-in runs ``at``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor, nn

from mailviz.objectives._common import _stats, ce_on
from mailviz.objectives.mail_weights import MAIL_COMMON, mail_weights
from mailviz.objectives.settings import LossOutput
from mailviz.objectives.spec import MethodSpec

if TYPE_CHECKING:
    from mailviz.objectives.objective import Objective


def loss_mail_at(
    obj: Objective, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
) -> LossOutput:
    """``mean ω·CE(f(x′), y)``."""
    x_adv = obj._pgd(net, x, y).x_adv
    logits, ce = ce_on(model, x_adv, y)
    omega = mail_weights(obj, logits, y)
    return LossOutput((omega * ce).mean(), _stats(logits, y, omega))


SPEC = MethodSpec(
    "mail_at", loss_mail_at, {"beta": -0.5, "gamma": 10.0, **MAIL_COMMON},
    attack_loss="ce", start="uniform", base="at",
)  # fmt: skip
