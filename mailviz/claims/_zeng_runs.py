"""Reading the cached attack runs of the Zeng lessons, per model and replicate, for the claims."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mailviz.claims.record import Claim, invariant

_ZENG = "Zeng et al."


def weighted_accuracy(correct: np.ndarray, margin: np.ndarray, alpha: float) -> np.ndarray:
    """``100·Σ_i w_i c_i / Σ_i w_i`` with ``w_i = exp(−α·m_i)`` over the last axis (eq. 18–19).

    ``alpha = 0`` gives the plain accuracy. Stable for large α (the exponent is shifted by the
    smallest margin).

    Example:
        >>> weighted_accuracy(np.array([True, False]), np.array([0.5, -0.5]), 0.0).item()
        50.0
    """
    c = np.asarray(correct, dtype=np.float64)
    m = np.asarray(margin, dtype=np.float64)
    z = -alpha * (m - m.min(axis=-1, keepdims=True))
    w = np.exp(z - z.max(axis=-1, keepdims=True))
    return 100.0 * (w * c).sum(axis=-1) / w.sum(axis=-1)


def _entries_by_model(models: Mapping[Any, Any]) -> dict[Any, dict[int, Any]]:
    from mailviz.nonuniform import _entries

    out: dict[Any, dict[int, Any]] = {}
    for m, s, t in _entries(models):
        out.setdefault(m, {})[s] = t
    return out


def _runs(runs: Mapping[int, Any], fetch: Any, seeds: Sequence[int]) -> tuple[np.ndarray, ...]:
    """``correct``, ``margin`` and ``loss`` arrays ``[R, N]`` of ``fetch(trained)`` per seed."""
    frames = [fetch(runs[s]) for s in seeds]
    return tuple(np.stack([f[col].to_numpy(dtype=np.float64) for f in frames])
                 for col in ("correct", "margin", "loss"))  # fmt: skip


def _paper_value(ref: pd.DataFrame, metric: str, **where: Any) -> float:
    rows = ref
    for key, value in where.items():
        if key not in rows.columns:
            return math.nan
        if value is None:
            rows = rows[rows[key].isna()]
        elif isinstance(value, str):
            rows = rows[rows[key] == value]
        else:
            rows = rows[np.isclose(rows[key].astype(float), float(value))]
    if rows.empty or metric not in rows.columns:
        return math.nan
    return float(rows[metric].iloc[0])


def _pair_seeds(runs_a: Mapping[int, Any], runs_b: Mapping[int, Any]) -> list[int]:
    seeds = sorted(set(runs_a) & set(runs_b))
    if not seeds:
        raise ValueError("the two models share no replicate seed — train both with the same seeds")
    return seeds


def _pair(by_model: Mapping[Any, Any], family: str) -> tuple[Any, Any]:
    from mailviz.nonuniform import HEADLINE_ALPHA

    base = next((m for m in by_model if m.family == family and m.alpha_train is None), None)
    ours = next((m for m in by_model if m.family == family
                 and m.alpha_train == HEADLINE_ALPHA[family]), None)  # fmt: skip
    return base, ours


def _metric_invariants(table: pd.DataFrame, lesson: str) -> list[Claim]:
    from mailviz.nonuniform import rank_trend

    tol = 1e-9
    above = table[table["A_sa"] > table["A_rob"] + tol]
    trend = rank_trend(table, "alpha_test", "A_sa", by=["model", "seed", "eps"])
    rising = trend[~trend["decreasing"]]
    zero = table[table["alpha_test"] == 0.0]
    same = bool(((zero["A_sa"] - zero["A_rob"]).abs() <= tol).all()
                and ((zero["A_tr"] - zero["A_rob"]).abs() <= tol).all())  # fmt: skip
    out = [
        invariant("zeng.sa_le_rob", lesson, "A_sa ≤ A_rob in every row", above.empty,
                  detail=f"{len(above)} of {len(table)} rows break it"),
        invariant("zeng.sa_falls", lesson, "A_sa is non-increasing in α_test for every model, "
                  "seed and ε_test", rising.empty,
                  detail=f"{len(rising)} of {len(trend)} curves rise"),
    ]  # fmt: skip
    if len(zero):
        out.append(invariant("zeng.alpha0", lesson, "A_sa = A_tr = A_rob at α_test = 0", same,
                             detail=f"checked on {len(zero)} rows"))  # fmt: skip
    return out
