"""The method registry: method name → :class:`~mailviz.objectives.spec.MethodSpec`.

Adding a training method is one new module defining its ``SPEC`` (loss and defaults) and one line
in :data:`SPECS` below. Every table the rest of mailviz reads (``METHODS``, ``BASE_METHOD``, the
default parameters, attack losses and starts) is derived from it.
"""

from __future__ import annotations

from typing import Any

from mailviz.objectives import (
    at,
    awp,
    clean,
    fat,
    gairat,
    mail_at,
    mail_mart,
    mail_trades,
    mart,
    trades,
    weighted_minimax,
)
from mailviz.objectives.spec import MethodSpec

__all__ = ["SPECS", "METHODS", "BASE_METHOD", "REWEIGHTING_METHODS"]

#: Every method, in the order the CLI and the lessons list them.
SPECS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        clean.SPEC,
        at.SPEC,
        trades.SPEC,
        mart.SPEC,
        fat.SPEC,
        awp.SPEC,
        gairat.SPEC,
        mail_at.SPEC,
        mail_trades.SPEC,
        mail_mart.SPEC,
        weighted_minimax.WEIGHTED_AT,
        weighted_minimax.WEIGHTED_TRADES,
    )
}

METHODS: tuple[str, ...] = tuple(SPECS)
#: The method a reweighting method runs during burn-in (and equals when every weight is 1).
BASE_METHOD: dict[str, str] = {n: s.base for n, s in SPECS.items() if s.base is not None}
REWEIGHTING_METHODS: tuple[str, ...] = tuple(BASE_METHOD)

_DEFAULTS: dict[str, dict[str, Any]] = {n: s.defaults for n, s in SPECS.items()}
_ATTACK_LOSS_DEFAULT: dict[str, str] = {n: s.attack_loss for n, s in SPECS.items()}
_ATTACK_LOSS_ALLOWED: dict[str, tuple[str, ...]] = {n: s.attack_losses for n, s in SPECS.items()}
_START_DEFAULT: dict[str, str] = {n: s.start for n, s in SPECS.items()}
