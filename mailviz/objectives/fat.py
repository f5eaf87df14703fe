"""``fat``: Friendly Adversarial Training (Zhang et al., 2020), ``mean CE(f(x′), y)``.

``x′`` from the early-stopped PGD :func:`mailviz.attacks.friendly_pgd` (each example stops τ steps
after it is first misclassified), τ fixed or the code's dynamic 0/1/2 schedule (:func:`fat_tau`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from torch import Tensor, nn

from mailviz.attacks.friendly import friendly_pgd
from mailviz.objectives._common import _stats, ce_on
from mailviz.objectives.settings import LossOutput
from mailviz.objectives.spec import MethodSpec

if TYPE_CHECKING:
    from mailviz.objectives.objective import Objective

#: FAT's dynamic τ (code default for 120 epochs: τ = 0 up to epoch 50, 1 up to 90, then 2).
_FAT_DYNAMIC_TAU = ((50 / 120, 0), (90 / 120, 1), (1.0, 2))


def fat_tau(params: Mapping[str, Any], epochs: int, epoch: int) -> int:
    """FAT's τ at 0-based ``epoch``: ``tau``, or the code's 0/1/2 schedule when dynamic.

    The FAT code (120 epochs) uses τ = 0 while ``epoch + 1 ≤ 50``, 1 while ``≤ 90``, then 2;
    mailviz scales those boundaries to ``epochs``.
    """
    if not params.get("dynamic_tau", False):
        return int(params.get("tau", 0))
    for fraction, tau in _FAT_DYNAMIC_TAU:
        if epoch + 1 <= fraction * epochs:
            return tau
    return _FAT_DYNAMIC_TAU[-1][1]


def loss_fat(
    obj: Objective, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
) -> LossOutput:
    """``mean CE(f(x′), y)`` with the friendly ``x′``; stats add the PGD steps each example took."""
    a = obj._now
    x_adv, taken = friendly_pgd(
        net, x, y, a.eps, a.step_size, a.steps, obj.fat_tau(epoch), loss=a.loss,
        confidence=a.confidence, start=a.start, omega=obj.params["omega"],
        generator=a.generator, return_steps=True,
    )  # fmt: skip
    logits, ce = ce_on(model, x_adv, y)
    return LossOutput(ce.mean(), _stats(logits, y, None, steps=taken))


SPEC = MethodSpec(
    "fat", loss_fat, {"tau": 0, "dynamic_tau": False, "omega": 0.001},
    attack_loss="ce", start="uniform",
)  # fmt: skip
