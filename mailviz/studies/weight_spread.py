"""Spread of the importance weights s̃ = softmax(−α_test·PM) (Zeng Figs. 5–7, notebook 04).

:func:`weight_spread` summarises one weight vector, :func:`importance_frame` collects s̃ for every
model, ε_test and α_test from the cached attack runs, :func:`spread_table` tabulates the spread,
:func:`rank_trend` how it moves with α_train.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from mailviz import weights
from mailviz.studies.nonuniform_metrics import _check_alpha_list
from mailviz.studies.nonuniform_runs import NonuniformPlan, attack_run
from mailviz.studies.zeng_models import _attack_seed, _entries

# --------------------------------------------------------------------------------------------
# Spread of the importance weights (Figs. 5–7)
# --------------------------------------------------------------------------------------------


def weight_spread(weights_: Any) -> dict[str, float]:
    """How far a distribution ``s̃`` over N test examples is from uniform.

    * ``max_weight = max_i s̃_i`` and ``max_over_uniform = N·max_i s̃_i`` (1 when uniform);
    * ``entropy_deficit = log N − H(s̃) = KL(s̃ ‖ uniform)`` in nats, ``H(s̃) = −Σ s̃_i log s̃_i``
      (0 when uniform, ``log N`` when all mass sits on one example);
    * ``ess = 1 / Σ_i s̃_i²``, the effective sample size, and ``ess_fraction = ess / N``
      (1 when uniform, ``1/N`` for a point mass).

    For ``s̃ = softmax(−α·m)`` with fixed margins, ``entropy_deficit`` and ``max_weight`` are
    non-decreasing in α ≥ 0 (``dH/dα = −α·Var_s̃(m)``): a stronger attacker spreads s̃.

    Args:
        weights_: ``[N]`` non-negative weights summing to 1 (tensor, array or Series).

    Example:
        >>> weight_spread([0.25, 0.25, 0.25, 0.25])["entropy_deficit"]
        0.0
    """
    w = weights_.detach().cpu().numpy() if isinstance(weights_, torch.Tensor) else weights_
    w = np.asarray(w, dtype=np.float64).ravel()
    if w.size == 0 or not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights must be a non-empty array of finite non-negative numbers")
    if not math.isclose(float(w.sum()), 1.0, rel_tol=0, abs_tol=1e-6):
        raise ValueError(f"weights must sum to 1 (got {w.sum():.6g}) — use weights.importance")
    n = w.size
    positive = w[w > 0]
    entropy = float(-(positive * np.log(positive)).sum())
    ess = float(1.0 / np.square(w).sum())
    return dict(n=float(n), max_weight=float(w.max()), max_over_uniform=float(n * w.max()),
                entropy_deficit=max(math.log(n) - entropy, 0.0), ess=ess,
                ess_fraction=ess / n)  # fmt: skip


def importance_frame(
    models: Mapping[Any, Any],
    dataset: Any,
    plan: NonuniformPlan,
    *,
    eps: Sequence[float] | None = None,
    alphas_test: Sequence[float] | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Per-example ``s̃_i = softmax(−α_test·PM)_i`` over the test set after unweighted PGD.

    The weights behind ``A_sa`` and Zeng et al.'s Figs. 5–7 (the attacker's sampling
    distribution), from the same cached PGD runs as :func:`nonuniform_table` (attack seed: each
    model's training seed unless ``seed`` is given); equal to
    :func:`mailviz.evaluate.weight_distribution` with ``attack="pgd"``.

    Returns:
        Tidy frame with columns ``model, seed, alpha_train, eps, alpha_test, example, weight,
        margin, correct`` (``alpha_train`` NaN for the baseline, as
        :func:`mailviz.plots.weight_histograms` expects); ``weight`` sums to 1 within each
        (model, seed, ε, α_test).
    """
    entries = _entries(models)
    alphas = _check_alpha_list(plan.hist_alphas if alphas_test is None else alphas_test,
                               "alphas_test")  # fmt: skip
    frames = []
    for m, s, t in entries:
        for e in plan.eps_grid(float(t.config.eps)) if eps is None else eps:
            run = attack_run(t, dataset, e, steps=plan.steps, step_size=plan.step_size(e),
                             seed=_attack_seed(t, seed))  # fmt: skip
            margin = torch.tensor(run["margin"].to_numpy(dtype=np.float64))
            for a in alphas:
                frames.append(
                    pd.DataFrame(
                        dict(
                            model=m.name,
                            seed=s,
                            alpha_train=m.alpha_train,
                            eps=float(e),
                            alpha_test=a,
                            example=run["example"].to_numpy(),
                            weight=weights.importance(margin, a).numpy(),
                            margin=run["margin"].to_numpy(),
                            correct=run["correct"].to_numpy(),
                        )
                    )  # fmt: skip
                )
    out = pd.concat(frames, ignore_index=True)
    out["alpha_train"] = out["alpha_train"].astype(float)
    return out


def spread_table(
    frame: pd.DataFrame, by: Sequence[str] = ("model", "alpha_train", "eps", "alpha_test")
) -> pd.DataFrame:
    """:func:`weight_spread` of ``weight`` within each group of an :func:`importance_frame`.

    Returns:
        One row per group: the ``by`` columns, then ``n, max_weight, max_over_uniform,
        entropy_deficit, ess, ess_fraction``.
    """
    by = list(by)
    missing = [c for c in [*by, "weight"] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing} — build it with importance_frame()")
    rows = []
    for key, group in frame.groupby(by, sort=False, dropna=False):
        values = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, values, strict=True)), **weight_spread(group["weight"])})
    return pd.DataFrame(rows)


def rank_trend(
    frame: pd.DataFrame, x: str, y: str, by: Sequence[str] = (), *, fill_x: float | None = None
) -> pd.DataFrame:
    """Does ``y`` rise with ``x`` within each group? Spearman ρ and monotonicity flags.

    Args:
        frame: any tidy frame.
        x, y: column names.
        by: grouping columns (one row per group).
        fill_x: value for NaN ``x`` (e.g. ``0.0``: the baseline is α_train = 0, the limiting
            case of eq. 7).

    Returns:
        Frame with the ``by`` columns, ``points``, ``spearman`` (NaN when constant),
        ``increasing`` / ``decreasing`` (y non-decreasing / non-increasing along sorted x).
    """
    from scipy.stats import spearmanr

    missing = [c for c in [x, y, *by] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing}")
    data = frame.copy()
    if fill_x is not None:
        data[x] = data[x].astype(float).fillna(fill_x)
    groups = data.groupby(list(by), sort=False, dropna=False) if by else [((), data)]
    rows = []
    for key, group in groups:
        g = group.sort_values(x)
        xs, ys = g[x].to_numpy(dtype=float), g[y].to_numpy(dtype=float)
        diffs = np.diff(ys)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a constant column: ρ is NaN, as documented
            rho = float(spearmanr(xs, ys).statistic) if len(g) > 1 else math.nan
        values = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, values, strict=True)), "points": len(g), "spearman": rho,
                     "increasing": bool((diffs >= 0).all()),
                     "decreasing": bool((diffs <= 0).all())})  # fmt: skip
    return pd.DataFrame(rows)
