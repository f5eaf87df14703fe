"""``gairat`` (Zhang et al., 2021): ``mean ω·CE(f(x′), y)``.

``ω`` = GAIRAT's tanh (or sigmoid / discrete) weight of κ, the least PGD steps to misclassify
(:func:`mailviz.margins`), rescaled to mean one in the mini-batch. Burn-in runs ``at``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor, nn

from mailviz import weights
from mailviz.objectives._common import _stats, ce_on
from mailviz.objectives.settings import LossOutput
from mailviz.objectives.spec import MethodSpec

if TYPE_CHECKING:
    from mailviz.objectives.objective import Objective

GAIRAT_WEIGHT_FUNCTIONS: tuple[str, ...] = ("tanh", "sigmoid", "discrete")


def loss_gairat(
    obj: Objective, model: nn.Module, net: nn.Module, x: Tensor, y: Tensor, epoch: int
) -> LossOutput:
    """``mean ω·CE(f(x′), y)`` with ``ω`` GAIRAT's weight of κ, mean one; stats add ``kappa``."""
    result = obj._pgd(net, x, y)
    assert result.kappa is not None
    kappa, steps, lam = result.kappa, obj.attack.steps, obj.params["lam"]
    name = obj.params["weight_fn"]
    if name == "tanh":
        w = weights.gairat_tanh(kappa, steps, lam)
    elif name == "sigmoid":
        w = weights.gairat_sigmoid(kappa, steps, lam)
    else:
        w = weights.gairat_discrete(kappa, steps)
    omega = weights.normalize(w, "mean1")
    logits, ce = ce_on(model, result.x_adv, y)
    return LossOutput((omega * ce).mean(), _stats(logits, y, omega, kappa=kappa))


SPEC = MethodSpec(
    "gairat", loss_gairat, {"lam": -1.0, "weight_fn": "tanh"},
    attack_loss="ce", start="uniform", base="at",
)  # fmt: skip
