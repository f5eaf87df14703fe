"""``mart`` (Wang et al., 2020): ``mean BCE(x′, y) + β_m·(1/B)·Σ KL(p(x)‖p(x′))·(1 − p_y(x))``.

``BCE = CE − log(1.0001 − max_{k≠y} p_k(x′))`` (MAIL eq. 16–17). :func:`mart_forward` is shared
with MAIL-MART.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor, nn

from mailviz.objectives._common import _boosted_ce, _kl_rows, _stats, _true_prob
from mailviz.objectives.settings import LossOutput
from mailviz.objectives.spec import MethodSpec

if TYPE_CHECKING:
    from mailviz.objectives.objective import Objective


def mart_forward(
    model: nn.Module, x: Tensor, x_adv: Tensor, y: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """BCE ``[B]`` (eq. 16), MKL ``[B]`` (eq. 17, KL(p(x)‖p(x′))) and the adversarial logits."""
    model.train()
    logits_nat = model(x)
    logits_adv = model(x_adv)
    bce = _boosted_ce(logits_adv, y)
    mkl = _kl_rows(logits_nat, logits_adv) * (1.0 - _true_prob(logits_nat, y))
    return bce, mkl, logits_adv


def loss_mart(
    obj: Objective, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
) -> LossOutput:
    """``mean BCE + β_m·mean MKL``."""
    x_adv = obj._pgd(net, x, y).x_adv
    bce, mkl, logits_adv = mart_forward(model, x, x_adv, y)
    loss = bce.mean() + obj.params["beta_mart"] * mkl.mean()
    return LossOutput(loss, _stats(logits_adv, y, None))


SPEC = MethodSpec("mart", loss_mart, {"beta_mart": 5.0}, attack_loss="ce", start="normal")
