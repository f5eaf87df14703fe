"""The training attack's settings and what one training step returns.

:class:`AttackSettings` is the inner maximisation's budget, step, loss and start;
:class:`LossOutput` the scalar loss with its per-example diagnostics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from mailviz import attacks
from mailviz.errors import ConfigError

__all__ = ["STARTS", "AttackSettings", "LossOutput"]

#: Accepted ``AttackSettings.start`` values: the attacks' starts plus ``"auto"`` (method's own).
STARTS: tuple[str, ...] = (*attacks.STARTS, "auto")


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass
class AttackSettings:
    """The training attack (inner maximisation): L∞ budget, PGD step and loss.

    Attributes:
        eps: ε in pixel scale (0, 1] (float or per-example ``[B]`` tensor).
        step_size: α > 0 of each signed step (float or ``[B]``).
        steps: K ≥ 1.
        loss: ``"ce"``, ``"cw"`` or ``"kl"`` (:func:`default_attack_loss` gives each method's).
        start: ``"uniform"``, ``"normal"``, ``"none"`` or ``"auto"`` (the method's own,
            :func:`default_start`).
        generator: random source for starts and FAT's noise; must live on the data's device.
        confidence: κ_c ≥ 0 of the ``"cw"`` loss ``−max(MM, −κ_c)`` (:func:`mailviz.attacks.pgd`);
            0 stops ascending once ``x′`` is misclassified, MAIL's evaluation CW uses 50.
    """

    eps: float | Tensor
    step_size: float | Tensor
    steps: int
    loss: str
    start: str = "uniform"
    generator: torch.Generator | None = None
    confidence: float = 0.0

    def __post_init__(self) -> None:
        if _is_number(self.eps) and not 0 < self.eps <= 1:
            raise ConfigError(f"eps must be in (0, 1] (pixel scale), got {self.eps} — e.g. 8/255")
        if _is_number(self.step_size) and not 0 < self.step_size < math.inf:
            raise ConfigError(
                f"step_size must be > 0 and finite, got {self.step_size} — e.g. eps/4"
            )
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ConfigError(f"steps must be an integer >= 1, got {self.steps!r} — e.g. 10")
        if self.loss not in attacks.LOSSES:
            raise ConfigError(
                f"unknown attack loss {self.loss!r}; valid: {', '.join(attacks.LOSSES)}"
            )
        if self.start not in STARTS:
            raise ConfigError(f"unknown start {self.start!r}; valid: {', '.join(STARTS)}")
        if self.generator is not None and not isinstance(self.generator, torch.Generator):
            raise ConfigError(f"generator must be a torch.Generator, got {type(self.generator)}")
        c = self.confidence
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not 0 <= c < math.inf:
            raise ConfigError(f"cw_confidence must be a finite number >= 0, got {c!r} — e.g. 50")
        if c and self.loss != "cw":
            raise ConfigError(
                f"cw_confidence applies to the 'cw' attack loss only, not {self.loss!r}; "
                "set attack_loss='cw' or cw_confidence=0"
            )


@dataclass
class LossOutput:
    """What one training step's objective returns.

    Attributes:
        loss: scalar with its graph, ready for ``backward()``.
        stats: per-example ``[B]`` detached tensors: ``"margin"`` (PM of the example the loss is
            computed on — ``x′``, or ``x`` for ``clean`` — from the training forward),
            ``"weight"`` (the ``ω`` actually used; ones when unweighted), ``"correct"`` (bool,
            that forward predicts ``y``), plus ``"kappa"`` (gairat) and ``"steps"`` (fat: PGD steps
            taken).
    """

    loss: Tensor
    stats: dict[str, Tensor] = field(default_factory=dict)
