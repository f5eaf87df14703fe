"""What the registry knows about one training method: its loss and its defaults.

Each method module (:mod:`mailviz.objectives.at`, :mod:`~mailviz.objectives.mail_at`, …) defines
one :class:`MethodSpec`; :mod:`mailviz.objectives.registry` lists them. Adding a method is one new
module with its ``SPEC`` and one line in the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mailviz.attacks import LOSSES

__all__ = ["MethodSpec"]


@dataclass(frozen=True)
class MethodSpec:
    """One training method.

    Attributes:
        name: the method's name in configs and on the command line.
        loss: ``loss(objective, model, net, x, y, epoch) -> LossOutput``, the outer minimisation
            of one mini-batch (``net`` is the un-wrapped network the attack differentiates).
        defaults: hyper-parameters and their defaults (order kept in messages).
        attack_loss: the training attack's default loss.
        start: the training attack's start that ``start="auto"`` resolves to.
        base: the method a reweighting method runs during burn-in (``None``: not reweighting).
        attack_losses: the training-attack losses the method accepts.
        param_rules: checks for parameters no other method has, name →
            ``check(value) -> validated value`` (raise :class:`~mailviz.errors.ConfigError`);
            the shared parameters (``beta``, ``gamma``, ``beta_trades``, …) are checked by
            :func:`~mailviz.objectives.params.validate_params`.
    """

    name: str
    loss: Callable[..., Any]
    defaults: dict[str, Any] = field(default_factory=dict)
    attack_loss: str = "ce"
    start: str = "uniform"
    base: str | None = None
    attack_losses: tuple[str, ...] = LOSSES
    param_rules: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
