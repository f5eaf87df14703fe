"""Replicates: the seeds of a lesson's models and mean ± std tables over them.

Every model a lesson trains comes in ``REPLICATES`` copies with seeds ``SEED, SEED + 1, …,
SEED + REPLICATES − 1`` (both are papermill parameters of each lesson). The defaults follow the
papers: MAIL reports mean ± std over "5 trials" (Tables 4–7), so the ``paper`` profile trains 5;
the ``quick`` profile trains 3, the fewest that give a seed-to-seed standard deviation with any
meaning; ``mnist`` (tens of CPU minutes a model) and ``smoke`` train 1, and their verdicts say
that they rest on test-set sampling alone.

Tables show ``mean ± std`` over replicates (the sample standard deviation, ``ddof = 1``), the
seeds' own format; the tidy per-seed frames stay available for anything else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["DEFAULT_REPLICATES", "default_replicates", "seeds", "summary", "mean_std"]

#: Replicates per profile (MAIL Tables 4–7: "5 trials").
DEFAULT_REPLICATES: dict[str, int] = {"smoke": 1, "quick": 3, "mnist": 1, "paper": 5}


def default_replicates(profile: str) -> int:
    """The number of replicates a lesson trains at ``profile`` by default.

    Example:
        >>> default_replicates("quick"), default_replicates("paper")
        (3, 5)
    """
    if profile not in DEFAULT_REPLICATES:
        raise ValueError(f"unknown profile {profile!r}; valid: {', '.join(DEFAULT_REPLICATES)}")
    return DEFAULT_REPLICATES[profile]


def _int(value: Any, name: str, minimum: int, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r} — e.g. {example}")
    return int(value)


def seeds(seed: int, replicates: int) -> list[int]:
    """The training seeds of the replicates: ``[seed, seed + 1, …, seed + replicates − 1]``.

    Example:
        >>> seeds(10, 3)
        [10, 11, 12]
    """
    base = _int(seed, "SEED", 0, "SEED = 0")
    count = _int(replicates, "REPLICATES", 1, "REPLICATES = 3")
    return list(range(base, base + count))


def summary(frame: pd.DataFrame, by: Sequence[str], values: Sequence[str]) -> pd.DataFrame:
    """Numeric mean, std (``ddof = 1``; NaN for one replicate) and count of ``values`` per group.

    Returns:
        One row per group of ``by`` (in order of appearance) with columns ``by``, then
        ``<value>_mean``, ``<value>_std``, ``<value>_n`` for each value.

    Example:
        >>> f = pd.DataFrame({"model": ["AT"] * 3, "seed": [0, 1, 2], "acc": [60.0, 62.0, 64.0]})
        >>> summary(f, ["model"], ["acc"])[["acc_mean", "acc_std", "acc_n"]].iloc[0].tolist()
        [62.0, 2.0, 3.0]
    """
    by, values = list(by), list(values)
    missing = [c for c in [*by, *values] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing}; columns: {list(frame.columns)}")
    grouped = frame.groupby(by, sort=False, dropna=False)[values]
    stats = grouped.agg(["mean", "std", "count"])
    stats.columns = [f"{v}_{'n' if s == 'count' else s}" for v, s in stats.columns]
    out = stats.reset_index()
    for v in values:
        out[f"{v}_n"] = out[f"{v}_n"].astype(float)
    return out


def _cell(mean: float, std: float, decimals: int) -> str:
    if not math.isfinite(mean):
        return "—"
    if not math.isfinite(std):
        return f"{mean:.{decimals}f}"
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def mean_std(
    frame: pd.DataFrame, by: Sequence[str], values: Sequence[str], *, decimals: int = 2
) -> pd.DataFrame:
    """``"mean ± std"`` text cells of ``values`` over replicates, one row per group of ``by``.

    With one replicate per group the cell is the value alone. Groups keep their order of
    appearance; the ``by`` columns become the index.

    Example:
        >>> f = pd.DataFrame({"model": ["AT"] * 3, "acc": [60.0, 62.0, 64.0]})
        >>> mean_std(f, ["model"], ["acc"]).loc["AT", "acc"]
        '62.00 ± 2.00'
    """
    stats = summary(frame, by, values)
    out = stats[list(by)].copy()
    for v in values:
        out[v] = [_cell(m, s, decimals) for m, s in
                  zip(stats[f"{v}_mean"], stats[f"{v}_std"], strict=True)]  # fmt: skip
    return out.set_index(list(by))
