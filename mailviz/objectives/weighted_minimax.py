"""Zeng et al.'s learnable weighted minimax risk (eq. 7): ``weighted_at`` and ``weighted_trades``.

* ``weighted_at`` ("PGD+ours"): ``mean s·CE(f(x′), y)``, ``s = exp(−α·PM(x′))`` not detached, not
  normalised; ``x′`` from weighted PGD (Alg. 1, :func:`mailviz.attacks.weighted_pgd`).
* ``weighted_trades`` ("TRADES+ours"): ``mean CE(f(x), y) + β_t·mean s·KL(p(x)‖p(x′))`` with
  ``x′`` from weighted PGD on ``s·KL``.

Burn-in runs ``at`` / ``trades``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor, nn

from mailviz import attacks, checks, weights
from mailviz.margins import pm_unchecked
from mailviz.objectives._common import _stats, ce_on
from mailviz.objectives.settings import LossOutput
from mailviz.objectives.spec import MethodSpec
from mailviz.objectives.trades import trades_forward

if TYPE_CHECKING:
    from mailviz.objectives.objective import Objective


def loss_weighted_at(
    obj: Objective, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
) -> LossOutput:
    """``mean s·CE(f(x′), y)``, ``s = exp(−α·PM(x′))`` with its gradient."""
    a, alpha = obj._now, obj.params["alpha_train"]
    x_adv = attacks.weighted_pgd(
        net, x, y, a.eps, a.step_size, a.steps, alpha, start=a.start, generator=a.generator
    )
    assert isinstance(x_adv, Tensor)
    logits, ce = ce_on(model, x_adv, y)
    with checks.skip_host_syncs():  # as in mail_weights: a NaN shows in the loss
        s = weights.exp_kernel(pm_unchecked(logits, y), alpha)  # not detached (Zeng)
    return LossOutput((s * ce).mean(), _stats(logits, y, s))


def loss_weighted_trades(
    obj: Objective, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
) -> LossOutput:
    """``mean CE(f(x), y) + β_t·mean s·KL(p(x)‖p(x′))``."""
    a, alpha = obj._now, obj.params["alpha_train"]
    # Zeng Alg. 1 with the TRADES loss: ascend Σ_i exp(−α·PM_i(x′))·KL(p(x_i) ‖ p(x′_i))
    x_adv = attacks.weighted_pgd(
        net,
        x,
        y,
        a.eps,
        a.step_size,
        a.steps,
        alpha,
        loss="kl",
        start=a.start,
        generator=a.generator,
        final_logits=False,
    )
    ce_nat, kl, logits_adv = trades_forward(model, x, x_adv, y)
    with checks.skip_host_syncs():
        s = weights.exp_kernel(pm_unchecked(logits_adv, y), alpha)  # not detached
    loss = ce_nat.mean() + obj.params["beta_trades"] * (s * kl).mean()
    return LossOutput(loss, _stats(logits_adv, y, s))


WEIGHTED_AT = MethodSpec(
    "weighted_at", loss_weighted_at, {"alpha_train": 0.1},
    attack_loss="ce", start="uniform", base="at", attack_losses=("ce",),
)  # fmt: skip
WEIGHTED_TRADES = MethodSpec(
    "weighted_trades", loss_weighted_trades, {"alpha_train": 2.0, "beta_trades": 6.0},
    attack_loss="kl", start="normal", base="trades", attack_losses=("kl",),
)  # fmt: skip
