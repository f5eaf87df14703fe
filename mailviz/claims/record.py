"""One claim: its source, statement, the paper's number, our estimate, interval and verdict.

A lesson checks three kinds of statement:

* ``"comparison"`` — an effect the papers report (method A beats method B, a trend, a share of
  rows), estimated over replicates with :func:`mailviz.claims.core.replicate_estimate` and given
  a verdict: *reproduced*, *contradicted* or *inconclusive*;
* ``"invariant"`` — a mathematical fact the run must obey (``PM = (1 − r)·tanh(MM/2)``,
  ``A_sa(α_test = 0) = A_rob``, the DRO endpoints): verdict *holds* or *fails*, always asserted;
* ``"all"`` — a conjunction ("at every ρ", "under every attack") of comparison claims: reproduced
  when every part is, contradicted when any part is, inconclusive otherwise; its estimate is the
  part closest to contradicting the paper.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from mailviz.claims.core import Estimate, verdict

__all__ = ["Claim", "comparison", "invariant", "all_of", "KINDS"]

#: The kinds of claim (see the module docstring).
KINDS: tuple[str, ...] = ("comparison", "invariant", "all")


@dataclass(frozen=True)
class Claim:
    """A statement a lesson checks, with everything needed to print and assert its verdict.

    Attributes:
        id: stable identifier (``"zeng.table2.trades.A_sa"``), used by the stability registry.
        lesson: the notebook's number (``"05"``).
        source: where the statement comes from (``"Zeng et al. Table 2"``, ``"MAIL Table 6"``,
            ``"mathematics"``).
        statement: the statement in words, with no run-dependent number.
        kind: ``"comparison"``, ``"invariant"`` or ``"all"``.
        verdict: ``reproduced`` / ``contradicted`` / ``inconclusive`` (comparisons),
            ``holds`` / ``fails`` (invariants).
        estimate: our effect with its interval (None for invariants).
        unit: unit of the effect (``"points"``, ``"nats"``, ``"Spearman ρ"``).
        paper: the paper's number for the same effect, as text (``"+3.84"``), or ``""``.
        direction, threshold: the paper's side: effect ``direction`` than ``threshold``.
        decimals: decimals when printed.
        detail: extra words from the run (``"3 of 84 rows"``); generated, never typed.
        parts: the sub-claims of an ``"all"`` claim.
    """

    id: str
    lesson: str
    source: str
    statement: str
    kind: str
    verdict: str
    estimate: Estimate | None = None
    unit: str = "points"
    paper: str = ""
    direction: str = "greater"
    threshold: float = 0.0
    decimals: int = 2
    detail: str = ""
    parts: tuple[Claim, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not self.id or not self.statement:
            raise ValueError("a claim needs an id and a statement")

    @property
    def passed(self) -> bool:
        """Invariants: holds. Comparisons: reproduced."""
        return self.verdict in ("holds", "reproduced")


def _check_lesson(lesson: str) -> str:
    if not (isinstance(lesson, str) and len(lesson) == 2 and lesson.isdigit()):
        raise ValueError(f"lesson must be the notebook's two-digit number, got {lesson!r}")
    return lesson


def comparison(
    id: str,
    lesson: str,
    source: str,
    statement: str,
    est: Estimate,
    *,
    unit: str = "points",
    paper: str | float = "",
    direction: str = "greater",
    threshold: float = 0.0,
    decimals: int = 2,
    detail: str = "",
) -> Claim:
    """A comparison claim: the verdict of ``est`` against "effect ``direction`` ``threshold``".

    ``paper`` may be a number (printed with a sign and ``decimals``) or text.

    Example:
        >>> from mailviz.claims.core import estimate
        >>> comparison("demo", "06", "MAIL Table 6", "sigmoid beats hinge",
        ...            estimate([40.0, 42.0, 44.0])).verdict
        'reproduced'
    """
    if not isinstance(est, Estimate):
        raise ValueError(f"est must be an Estimate (mailviz.claims.estimate), got {type(est)}")
    if isinstance(paper, (int, float)) and not isinstance(paper, bool):
        paper = f"{paper:+.{decimals}f}" if math.isfinite(paper) else ""
    return Claim(
        id=id, lesson=_check_lesson(lesson), source=source, statement=statement,
        kind="comparison", verdict=verdict(est, direction, threshold), estimate=est, unit=unit,
        paper=str(paper), direction=direction, threshold=float(threshold), decimals=decimals,
        detail=detail,
    )  # fmt: skip


def invariant(
    id: str, lesson: str, statement: str, holds: bool, *, detail: str = "",
    source: str = "mathematics",
) -> Claim:  # fmt: skip
    """A fact that must hold on every run (always asserted by :func:`mailviz.claims.check`).

    Example:
        >>> invariant("pm.identity", "02", "PM = (1 - r) tanh(MM/2)", True).verdict
        'holds'
    """
    return Claim(id=id, lesson=_check_lesson(lesson), source=source, statement=statement,
                 kind="invariant", verdict="holds" if bool(holds) else "fails",
                 detail=detail)  # fmt: skip


def all_of(
    id: str, lesson: str, source: str, statement: str, parts: Sequence[Claim], *,
    paper: str = "", detail: str = "",
) -> Claim:  # fmt: skip
    """A conjunction of comparison claims ("at every ρ", "under every attack").

    Verdict: *reproduced* if every part is, *contradicted* if any part is, else *inconclusive*.
    Its estimate (and unit, direction, threshold) is the part whose interval reaches furthest
    towards contradicting the paper — the weakest link.

    Example:
        >>> from mailviz.claims.core import estimate
        >>> a = comparison("a", "07", "s", "x", estimate([1.0, 2.0, 3.0]))
        >>> b = comparison("b", "07", "s", "y", estimate([-1.0, 0.5, 1.0]))
        >>> all_of("ab", "07", "s", "x and y", [a, b]).verdict
        'inconclusive'
    """
    parts = tuple(parts)
    if not parts or any(p.kind != "comparison" for p in parts):
        raise ValueError("all_of needs one or more comparison claims")
    verdicts = {p.verdict for p in parts}
    if "contradicted" in verdicts:
        overall = "contradicted"
    elif verdicts == {"reproduced"}:
        overall = "reproduced"
    else:
        overall = "inconclusive"

    def weakness(p: Claim) -> float:
        assert p.estimate is not None
        gap = p.estimate.low - p.threshold if p.direction == "greater" else (
            p.threshold - p.estimate.high)  # fmt: skip
        return gap

    weakest = min(parts, key=weakness)
    counts = ", ".join(f"{sum(p.verdict == v for p in parts)} {v}"
                       for v in ("reproduced", "inconclusive", "contradicted")
                       if any(p.verdict == v for p in parts))  # fmt: skip
    words = f"{len(parts)} parts: {counts}; weakest: {weakest.statement}"
    return replace(
        weakest, id=id, lesson=_check_lesson(lesson), source=source, statement=statement,
        kind="all", verdict=overall, paper=paper or weakest.paper,
        detail=f"{words}{'; ' + detail if detail else ''}", parts=parts,
    )  # fmt: skip
