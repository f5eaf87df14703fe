"""Distributionally robust loss under a χ² ball (Zeng et al. eq. 28, Fig. 4), solved exactly."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mailviz import checks
from mailviz.evaluate._checks import _as_bool, _as_real, _is_real

# --------------------------------------------------------------------------------------------
# DRO with a χ² ball (Zeng et al. eq. 28)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DROResult:
    """Worst case of eq. 28: ``loss = Σ_i w_i l_i``, ``accuracy = 100 Σ_i w_i 1[correct_i]`` (%,
    ``None`` without ``correct``) and the maximising weights ``w`` (``[N]``, float64, on the
    simplex)."""

    loss: float
    accuracy: float | None
    weights: np.ndarray


class _ChiSquareDRO:
    """Exact solver of ``max_w Σ w_i l_i`` s.t. ``w ∈ Δ_N``, ``½‖w − 1/N‖² ≤ ρ/N`` for many ρ.

    Derivation (KKT): stationarity ``l_i − λ(w_i − 1/N) − η + μ_i = 0`` gives
    ``w(t) = Proj_Δ(1/N + t·l)`` with ``t = 1/λ ≥ 0``. If the projection keeps the top-k losses
    (sorted decreasingly, ``m_k`` their mean), ``w_i = 1/k + t(l_(i) − m_k)`` on them and 0 else,
    so ``‖w(t) − 1/N‖² = 1/k − 1/N + t²·V_k`` with ``V_k = Σ_{i≤k}(l_(i) − m_k)²``. The support
    shrinks as t grows: the k-th loss leaves at ``T_k = 1/(k·m_k − k·l_(k))`` (non-increasing in
    k), and the squared distance is continuous and non-decreasing in t. So: compute the squared
    distance ``B_k`` at every breakpoint in one vectorised pass (cumulative sums), pick the k
    with ``B_{k+1} ≤ r² < B_k`` (``r² = 2ρ/N``) and solve ``1/k − 1/N + t²V_k = r²`` for t in
    closed form. If even the uniform distribution over the tied maxima fits the ball
    (``r² ≥ 1/g − 1/N``, g = number of losses equal to the max) the constraint is inactive and
    the worst case is the max loss. Tied losses enter and leave the support together (their
    breakpoints coincide), so ties need no special case.
    """

    def __init__(self, losses: Any) -> None:
        l = _as_real(losses, "losses")
        if not checks.enabled() and not np.isfinite(l).all():  # the solver needs finite losses
            raise ValueError("losses must be finite; got NaN or inf — check the logits")
        self.losses = l
        n = l.size
        self.n = n
        self.order = np.argsort(-l, kind="stable")
        s = l[self.order]
        self.sorted = s
        x = s - s[0]  # shift by the max for accuracy: x ≤ 0, x_(1) = 0
        j = np.arange(1, n + 1, dtype=np.float64)
        c = np.cumsum(x)
        q = np.cumsum(x * x)
        v = np.maximum(q - c * c / j, 0.0)
        jd = c - j * x  # k·(m_k − l_(k)) ≥ 0, zero exactly on the tied maxima
        self.g = int(np.count_nonzero(x == 0.0))
        breaks = np.full(n + 2, np.inf)  # breaks[k] = squared distance at T_k, k = 1..N+1
        with np.errstate(divide="ignore", invalid="ignore"):
            b = 1.0 / j - 1.0 / n + np.where(jd > 0, v / (jd * jd), np.inf)
        breaks[1 : n + 1] = b
        breaks[n + 1] = 0.0
        self.breaks = breaks

    def _w_sorted(self, k: int, t: float) -> np.ndarray:
        s = self.sorted
        w = np.zeros(self.n)
        w[:k] = 1.0 / k + t * (s[:k] - s[:k].mean())
        return w

    def solve(self, rho: float) -> np.ndarray:
        if not _is_real(rho) or not rho >= 0:
            raise ValueError(f"rho must be a float >= 0 (the chi-square budget), got {rho!r}")
        n, g, s = self.n, self.g, self.sorted
        r2 = 2.0 * float(rho) / n
        w = np.zeros(n)
        if r2 >= 1.0 / g - 1.0 / n:  # the constraint is inactive: all mass on the max loss
            w[:g] = 1.0 / g
        else:
            # smallest k > g with B_{k+1} ≤ r²  (B_{N+1} = 0 ≤ r² guarantees one)
            ok = np.nonzero(self.breaks[g + 2 : n + 2] <= r2)[0]
            k = g + 1 + int(ok[0])
            for _ in range(n):  # guard the breakpoint choice against last-bit rounding
                mean = s[:k].mean()
                v = float(np.sum((s[:k] - mean) ** 2))
                t = math.sqrt(max(r2 - (1.0 / k - 1.0 / n), 0.0) / v)
                if k > g + 1 and 1.0 / k + t * (s[k - 1] - mean) < 0.0:
                    k -= 1
                elif k < n and 1.0 / k + t * (s[k] - mean) > 0.0:
                    k += 1
                else:
                    break
            w = np.clip(self._w_sorted(k, t), 0.0, None)
            w /= w.sum()
        out = np.empty(n)
        out[self.order] = w
        return out


def _check_correct(correct: Any, n: int) -> np.ndarray | None:
    if correct is None:
        return None
    arr = _as_bool(correct).astype(np.float64)
    if arr.size != n:
        raise ValueError(f"correct must have one entry per loss ({n}), got {arr.size}")
    return arr


def dro_chi2(losses: Any, rho: float, correct: Any = None) -> DROResult:
    """Worst-case χ²-reweighted loss of Zeng et al. eq. 28, solved exactly.

    ``max_w Σ_i w_i l_i`` subject to ``Σ_i w_i = 1``, ``w_i ≥ 0`` and ``½‖w − 1/N‖² ≤ ρ/N``.

    Reading of eq. 28: it prints ``(1/N) Σ_i w_i l_i``; with ``w`` on the simplex the weighted
    loss is ``Σ_i w_i l_i`` (the same stray ``1/N`` as in eq. 18–19), which is what
    is reported: ``ρ = 0`` gives the mean loss, ``ρ/N ≥ ½(1 − 1/N)`` (a simplex vertex fits the
    ball) gives the max loss. The maximiser is ``w = Proj_Δ(1/N + t·l)`` for the multiplier
    ``t ≥ 0`` that puts ``w`` on the sphere ``½‖w − 1/N‖² = ρ/N`` (see :class:`_ChiSquareDRO`
    for the closed form); float64, one sort, no iterative optimiser. Weighted accuracy:
    ``100·Σ_i w_i·1[correct_i]`` (%).

    Args:
        losses: ``[N]`` finite per-example adversarial losses (e.g.
            ``per_example(...)["loss"]``); a 2-D array is refused, not flattened.
        rho: budget ``ρ ≥ 0`` (``math.inf`` allowed).
        correct: optional ``[N]`` booleans for the weighted accuracy (0/1 numbers are refused).

    Returns:
        :class:`DROResult` ``(loss, accuracy, weights)``.

    Example:
        >>> dro_chi2([1.0, 2.0, 3.0], rho=0.0).loss
        2.0
        >>> dro_chi2([1.0, 2.0, 3.0], rho=10.0).loss
        3.0
    """
    solver = _ChiSquareDRO(losses)
    c = _check_correct(correct, solver.n)
    w = solver.solve(rho)
    return DROResult(
        loss=float(w @ solver.losses),
        accuracy=None if c is None else 100.0 * float(w @ c),
        weights=w,
    )


def dro_curve(losses: Any, rhos: Sequence[float], correct: Any = None) -> pd.DataFrame:
    """:func:`dro_chi2` for every ρ in ``rhos`` (one sort shared): Zeng et al. Fig. 4.

    Returns:
        Frame with columns ``rho, loss, accuracy`` (accuracy in %, NaN without ``correct``);
        ``loss`` is non-decreasing in ρ.

    Example:
        >>> dro_curve([1.0, 2.0, 3.0], [0.0, 10.0])["loss"].tolist()
        [2.0, 3.0]
    """
    solver = _ChiSquareDRO(losses)
    c = _check_correct(correct, solver.n)
    rows = []
    for rho in list(rhos):
        w = solver.solve(rho)
        rows.append(
            dict(rho=float(rho), loss=float(w @ solver.losses),
                 accuracy=math.nan if c is None else 100.0 * float(w @ c))
        )  # fmt: skip
    return pd.DataFrame(rows, columns=["rho", "loss", "accuracy"])
