"""MAIL's instance weights (Wang et al., 2021, Alg. 2–4, lines 9–11) for MAIL-AT/-TRADES/-MART.

``PM_i = p_y(x′_i) − max_{k≠y} p_k(x′_i)`` from the logits of the *training* forward on ``x′``
(train mode, the forward that feeds the loss — no extra pass), detached;
``w_i = sigmoid(−γ·(PM_i − β))``; ``ω_i = M·w_i/Σ_j w_j``. Every switch of the appendix is a
parameter: ``weight_fn`` (sigmoid / hinge / hinge_mirrored / step, Table 6), ``margin`` (pm / mm,
Table 5), ``normalize`` (batch = paper, constant = authors' code ``3·w``, mean1, none). With
``γ = 0`` and ``normalize="batch"`` every ``ω`` is exactly 1 and MAIL-X *is* X.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torch import Tensor

from mailviz import checks, weights
from mailviz.margins import mm_unchecked, pm_unchecked

if TYPE_CHECKING:
    from mailviz.objectives.objective import Objective

MAIL_WEIGHT_FUNCTIONS: tuple[str, ...] = tuple(weights.WEIGHT_FUNCTIONS)  # sigmoid, hinge, ...
MAIL_MARGINS: tuple[str, ...] = ("pm", "mm")

#: The switches every MAIL variant takes (defaults: the paper's).
MAIL_COMMON: dict[str, Any] = {
    "weight_fn": "sigmoid",
    "margin": "pm",
    "normalize": "batch",
    "step_alpha": 0.2,
}


def mail_weights(obj: Objective, logits_adv: Tensor, y: Tensor) -> Tensor:
    """MAIL Alg. 2–4 lines 9–11: ``ω = normalize(w(margin(x′)))``, margin detached."""
    p = obj.params
    logits_adv = logits_adv.detach()
    if p["margin"] == "pm":
        margin = pm_unchecked(logits_adv, y)
    else:
        margin = mm_unchecked(logits_adv, y)
    # the margin comes from the training forward: a NaN there makes the loss NaN, which the
    # training loop reports, so no extra host sync for the weight function's input check
    with checks.skip_host_syncs():
        w = weights.pm_weights(
            p["weight_fn"], margin, gamma=p["gamma"], beta=p["beta"], alpha=p["step_alpha"]
        )
    return weights.normalize(w, p["normalize"])
