"""Evaluation attacks by name: ``nat``, ``pgdK``, ``cwK``, ``aa``, ``aa-fast``.

:func:`parse_attack` turns a name into an :class:`AttackSpec`; :func:`default_step_size` is the
``2.5·ε/K`` step of Madry et al.; the private builders return the attack function each spec
runs (PGD on CE, CW-∞ with MAIL's confidence 50, AutoAttack).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mailviz import attacks as attack_lib

#: The attack-spec grammar accepted by :func:`evaluate` (shown in its error message).
ATTACK_GRAMMAR = "nat | pgdK | cwK | aa | aa-fast (K = steps, e.g. pgd20, cw20, pgd100)"
#: κ_c of the CW margin loss in the ``cwK`` attack, as in MAIL's evaluation code.
CW_CONFIDENCE = 50.0

_SPEC_RE = re.compile(r"^(?:(nat)|(pgd|cw)([1-9][0-9]*)|(aa)(-fast)?)$")

AttackFn = Callable[[nn.Module, Tensor, Tensor], "Tensor | attack_lib.AttackResult"]


# --------------------------------------------------------------------------------------------
# Attack specs and argument checks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttackSpec:
    """A parsed attack spec: ``kind`` is ``"nat"``, ``"pgd"``, ``"cw"`` or ``"aa"``."""

    name: str
    kind: str
    steps: int | None = None
    version: str | None = None  # AutoAttack: "standard" or "fast"


def parse_attack(spec: str) -> AttackSpec:
    """Parse an attack spec string of :data:`ATTACK_GRAMMAR`.

    * ``"nat"``: clean inputs;
    * ``"pgdK"``: K-step PGD on the cross-entropy (uniform start);
    * ``"cwK"``: K-step PGD on the CW margin loss ``min(max_{j≠y} f_j − f_y, κ_c)`` with
      ``κ_c = 50`` (:data:`CW_CONFIDENCE`, MAIL's evaluation code);
    * ``"aa"``: standard AutoAttack; ``"aa-fast"``: the cheaper APGD-only screen of
      :func:`mailviz.attacks.autoattack`.

    Example:
        >>> parse_attack("pgd20")
        AttackSpec(name='pgd20', kind='pgd', steps=20, version=None)
    """
    text = spec.strip().lower() if isinstance(spec, str) else ""
    match = _SPEC_RE.match(text)
    if match is None:
        raise ValueError(f"unknown attack spec {spec!r}; grammar: {ATTACK_GRAMMAR}")
    nat, family, steps, aa, fast = match.groups()
    if nat:
        return AttackSpec("nat", "nat")
    if family:
        return AttackSpec(text, family, int(steps))
    assert aa
    return AttackSpec(text, "aa", version="fast" if fast else "standard")


def default_step_size(eps: float, steps: int) -> float:
    """``2.5·ε / steps`` — the step size used when ``step_size=None``.

    Example:
        >>> round(default_step_size(0.031, 20), 6)
        0.003875
    """
    return 2.5 * eps / steps


def _pgd_attack(
    eps: float,
    steps: int,
    step_size: float | None,
    *,
    loss: str = "ce",
    alpha: float | None = None,
    restarts: int = 1,
    generator: torch.Generator | None = None,
) -> AttackFn:
    """PGD (``alpha=None``; CE or CW with κ_c = 50) or Zeng's weighted PGD with ``alpha``."""
    step = default_step_size(eps, steps) if step_size is None else step_size

    def run(model: nn.Module, x: Tensor, y: Tensor) -> attack_lib.AttackResult:
        if alpha is not None:
            return attack_lib.weighted_pgd(
                model, x, y, eps, step, steps, alpha,
                restarts=restarts, generator=generator, return_result=True,
            )  # fmt: skip
        return attack_lib.pgd(
            model, x, y, eps, step, steps, loss=loss, restarts=restarts,
            confidence=CW_CONFIDENCE if loss == "cw" else 0.0,
            generator=generator, return_result=True,
        )  # fmt: skip

    return run


def _aa_attack(eps: float, version: str, batch_size: int, seed: int) -> AttackFn:
    def run(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        return attack_lib.autoattack(
            model, x, y, eps, version=version, batch_size=batch_size, seed=seed
        )

    return run
