"""``mail_mart``: MAIL-MART (Wang et al., 2021, Alg. 4).

``mean ω·BCE(x′, y) + β_m·(1/B)·Σ KL(p(x)‖p(x′))·(1 − p_y(x))`` with ``ω`` from
:func:`~mailviz.objectives.mail_weights.mail_weights` weighting the CE-based term. Burn-in runs
``mart``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor, nn

from mailviz.objectives._common import _stats
from mailviz.objectives.mail_weights import MAIL_COMMON, mail_weights
from mailviz.objectives.mart import mart_forward
from mailviz.objectives.settings import LossOutput
from mailviz.objectives.spec import MethodSpec

if TYPE_CHECKING:
    from mailviz.objectives.objective import Objective


def loss_mail_mart(
    obj: Objective, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
) -> LossOutput:
    """``mean ω·BCE + β_m·mean MKL``."""
    x_adv = obj._pgd(net, x, y).x_adv
    bce, mkl, logits_adv = mart_forward(model, x, x_adv, y)
    omega = mail_weights(obj, logits_adv, y)
    loss = (omega * bce).mean() + obj.params["beta_mart"] * mkl.mean()
    return LossOutput(loss, _stats(logits_adv, y, omega))


SPEC = MethodSpec(
    "mail_mart", loss_mail_mart,
    {"beta": -0.5, "gamma": 10.0, "beta_mart": 5.0, **MAIL_COMMON},
    attack_loss="ce", start="normal", base="mart",
)  # fmt: skip
