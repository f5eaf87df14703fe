"""``mail_trades``: MAIL-TRADES (Wang et al., 2021, Alg. 3).

``mean CE(f(x), y) + β_t·(1/B)·Σ ω_i·KL(p(x_i) ‖ p(x′_i))`` with ``ω`` from
:func:`~mailviz.objectives.mail_weights.mail_weights`; KL-PGD from ``x + 0.001·N(0, I)`` like its
base ``trades``. Burn-in runs ``trades``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor, nn

from mailviz.objectives._common import _stats
from mailviz.objectives.mail_weights import MAIL_COMMON, mail_weights
from mailviz.objectives.settings import LossOutput
from mailviz.objectives.spec import MethodSpec
from mailviz.objectives.trades import trades_forward

if TYPE_CHECKING:
    from mailviz.objectives.objective import Objective


def loss_mail_trades(
    obj: Objective, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
) -> LossOutput:
    """``mean CE(f(x), y) + β_t·mean ω·KL``."""
    x_adv = obj._pgd(net, x, y).x_adv
    ce_nat, kl, logits_adv = trades_forward(model, x, x_adv, y)
    omega = mail_weights(obj, logits_adv, y)
    loss = ce_nat.mean() + obj.params["beta_trades"] * (omega * kl).mean()
    return LossOutput(loss, _stats(logits_adv, y, omega))


SPEC = MethodSpec(
    "mail_trades", loss_mail_trades,
    {"beta": 0.0, "gamma": 2.0, "beta_trades": 6.0, **MAIL_COMMON},
    attack_loss="kl", start="normal", base="trades",
)  # fmt: skip
