"""How much κ depends on the path (MAIL §3, notebook 01): rank agreement and changed shares.

:func:`rank_agreement` gives Spearman's ρ between every pair of :class:`AttackSetting` s,
:func:`changed_fraction` the share of examples whose κ moves, :func:`path_dependency_summary` both
measures at once; :func:`path_examples` picks a few examples whose κ moves the most.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch


def path_examples(
    frame: pd.DataFrame,
    k: int = 6,
    value: str = "kappa",
    *,
    points: Any = None,
    min_distance: float = 0.0,
) -> list[int]:
    """The ``k`` examples whose ``value`` varies most across the settings (ties: lower index).

    With ``points`` (``[N, ...]`` inputs, indexed like ``example``) and ``min_distance``, the pick
    is greedy in that order and skips an example within ``min_distance`` (L∞) of one already
    chosen, so the drawn ε-boxes do not pile up. Used to pick the points a figure draws: say so
    next to the figure, since they are chosen *because* their κ moves (the share over the whole
    set is :func:`changed_fraction`).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if not min_distance >= 0:
        raise ValueError(f"min_distance must be >= 0, got {min_distance!r}")
    wide = _wide(frame, value, "setting", "example")
    spread = (wide.max(axis=1) - wide.min(axis=1)).rename("spread").reset_index()
    spread = spread.sort_values(["spread", "example"], ascending=[False, True], kind="stable")
    order = [int(e) for e in spread["example"]]
    if points is None or min_distance == 0:
        return order[:k]
    x = torch.as_tensor(points).reshape(len(points), -1).double()
    chosen: list[int] = []
    for e in order:
        if all(float((x[e] - x[c]).abs().max()) >= min_distance for c in chosen):
            chosen.append(e)
        if len(chosen) == k:
            break
    return chosen


def _wide(frame: pd.DataFrame, value: str, by: str, index: str) -> pd.DataFrame:
    for column in (value, by, index):
        if column not in frame.columns:
            raise ValueError(
                f"frame has no column {column!r}; columns: {', '.join(map(str, frame.columns))}"
            )
    wide = frame.pivot(index=index, columns=by, values=value)
    return wide[list(dict.fromkeys(frame[by]))]  # settings in order of appearance


def rank_agreement(
    frame: pd.DataFrame, value: str, *, by: str = "setting", index: str = "example"
) -> pd.DataFrame:
    """Spearman's ρ of ``value`` between every pair of settings, over the same examples.

    ``ρ = 1`` means the settings rank the examples identically (ties get their average rank, as
    in ``scipy.stats.spearmanr``). A setting whose ``value`` is constant has no ranking; its ρ
    is NaN.

    Returns:
        Square frame indexed and labelled by the settings (diagonal 1).

    Example:
        >>> frame = pd.DataFrame(dict(setting=["a"] * 3 + ["b"] * 3, example=[0, 1, 2] * 2,
        ...                           kappa=[1, 2, 3, 3, 2, 1]))
        >>> float(rank_agreement(frame, "kappa").loc["a", "b"])
        -1.0
    """
    wide = _wide(frame, value, by, index).astype(float)
    return wide.corr(method="spearman")


def mean_rank_agreement(matrix: pd.DataFrame) -> float:
    """Mean of the off-diagonal entries of a :func:`rank_agreement` matrix (NaN propagates)."""
    values = matrix.to_numpy(dtype=float)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or values.shape[0] < 2:
        raise ValueError(f"need a square matrix of at least 2 settings, got {values.shape}")
    mask = ~np.eye(values.shape[0], dtype=bool)
    return float(values[mask].mean())


def changed_fraction(
    frame: pd.DataFrame,
    value: str = "kappa",
    *,
    reference: str | None = None,
    by: str = "setting",
    index: str = "example",
    same_end: str | None = None,
    tol: float = 0.01,
) -> pd.DataFrame:
    """Share of examples whose ``value`` differs from the reference setting's, per setting.

    With ``same_end`` (a column such as ``"pm"``) the column ``changed_same_end`` gives the share
    of examples whose value changed although ``same_end`` differs by less than ``tol`` — for
    κ: the attack ended at (nearly) the same PM, but counted a different number of steps.

    Returns:
        One row per other setting: ``setting``, ``changed`` (fraction in [0, 1] of examples with
        a different value), ``mean_abs_change`` (mean ``|value − value_ref|``) and, with
        ``same_end``, ``changed_same_end``; plus a last row ``"any setting"`` with the share of
        examples whose value is not the same under all settings.

    Example:
        >>> frame = pd.DataFrame(dict(setting=["a"] * 2 + ["b"] * 2, example=[0, 1] * 2,
        ...                           kappa=[5, 5, 5, 0]))
        >>> changed_fraction(frame)["changed"].tolist()
        [0.5, 0.5]
    """
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol!r} — e.g. tol=0.01 (PM units)")
    wide = _wide(frame, value, by, index)
    end = None if same_end is None else _wide(frame, same_end, by, index)
    names = list(wide.columns)
    ref = names[0] if reference is None else reference
    if ref not in names:
        raise ValueError(f"unknown reference setting {ref!r}; settings: {', '.join(names)}")
    rows = []
    for name in names:
        if name == ref:
            continue
        diff = (wide[name] - wide[ref]).abs()
        row = dict(setting=name, changed=float((diff > 0).mean()),
                   mean_abs_change=float(diff.mean()))  # fmt: skip
        if end is not None:
            close = (end[name] - end[ref]).abs() < tol
            row["changed_same_end"] = float(((diff > 0) & close).mean())
        rows.append(row)
    spread = wide.max(axis=1) - wide.min(axis=1)
    row = dict(setting="any setting", changed=float((spread > 0).mean()),
               mean_abs_change=float(spread.mean()))  # fmt: skip
    if end is not None:
        close = (end.max(axis=1) - end.min(axis=1)) < tol
        row["changed_same_end"] = float(((spread > 0) & close).mean())
    rows.append(row)
    columns = ["setting", "changed", "mean_abs_change"]
    return pd.DataFrame(rows, columns=columns + (["changed_same_end"] if end is not None else []))


def path_dependency_summary(
    frame: pd.DataFrame, measures: Sequence[str] = ("kappa", "pm")
) -> pd.DataFrame:
    """Mean and minimum pairwise Spearman ρ across the settings, one row per measure."""
    rows = []
    for measure in measures:
        matrix = rank_agreement(frame, measure)
        values = matrix.to_numpy(dtype=float)[~np.eye(len(matrix), dtype=bool)]
        rows.append(
            dict(measure=measure, mean_spearman=float(values.mean()),
                 min_spearman=float(values.min()))
        )  # fmt: skip
    return pd.DataFrame(rows, columns=["measure", "mean_spearman", "min_spearman"])
