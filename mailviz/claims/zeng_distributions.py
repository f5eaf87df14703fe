"""The claims of lessons 04, 07 and 08: spread of s̃ (Figs. 5–7), DRO χ² (Fig. 4), stand-ins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mailviz.claims._zeng_runs import (
    _ZENG,
    _entries_by_model,
    _metric_invariants,
    _pair,
    _pair_seeds,
    _runs,
)
from mailviz.claims.core import estimate, replicate_estimates
from mailviz.claims.record import Claim, all_of, comparison, invariant

# --------------------------------------------------------------------------------------------
# Lesson 04: the spread of s̃ (Figs. 5–7)
# --------------------------------------------------------------------------------------------


def _deficit(margin: np.ndarray, alpha: float) -> np.ndarray:
    """Entropy deficit ``log N − H(softmax(−α m))`` over the last axis."""
    z = -alpha * margin
    z = z - z.max(axis=-1, keepdims=True)
    w = np.exp(z)
    p = w / w.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=-1)
    return np.log(margin.shape[-1]) - h


def spread_claims(
    models: Mapping[Any, Any],
    dataset: Any,
    plan: Any,
    spread: pd.DataFrame,
    *,
    lesson: str = "04",
) -> list[Claim]:
    """Figs. 5–7: the spread of s̃ grows with α_test (invariant) and, as the paper reports,
    s̃ concentrates as α_train grows.

    The concentration claim's effect is Spearman's ρ between α_train (the baseline counts as
    0, the limit of eq. 7) and the entropy deficit ``log N − H(s̃)``, averaged over the
    (ε_test, α_test > 0) columns of ``plan`` (:func:`scipy.stats.spearmanr` through
    :func:`scipy.stats.rankdata`); the paper reports a negative trend. A second claim compares
    the headline TRADES+ours (α_train = 2) with TRADES at ε_test = ε_train, α_test = 2.
    """
    from scipy.stats import rankdata

    from mailviz import nonuniform as nu

    trends = {c: nu.rank_trend(spread, "alpha_test", c, by=["model", "seed", "eps"])
              for c in ("entropy_deficit", "max_weight")}  # fmt: skip
    claims = [invariant(
        "zeng.spread_grows", lesson, "the entropy deficit and the largest weight of s̃ grow with "
        "α_test for every model, seed and ε_test (dH/dα = −α·Var(m) ≤ 0)",
        all(bool(t["increasing"].all()) for t in trends.values()),
        detail=f"{sum(int((~t['increasing']).sum()) for t in trends.values())} curves fall",
    )]  # fmt: skip
    by_model = _entries_by_model(models)
    order = sorted(by_model, key=lambda m: (m.family, m.alpha_train or 0.0))
    order = [m for m in order if m.family == "TRADES"]
    if len(order) < 3:
        return claims
    seeds = sorted(set.intersection(*(set(by_model[m]) for m in order)))
    alphas = [a for a in plan.hist_alphas if a > 0]
    margins = {}  # (model, eps index) -> [R, N]
    eps_train = float(next(iter(by_model[order[0]].values())).config.eps)
    grid = plan.eps_grid(eps_train)
    for m in order:
        for j, e in enumerate(grid):
            margins[(m, j)] = _runs(by_model[m], lambda t, e=e: nu.attack_run(
                t, dataset, e, steps=plan.steps, step_size=plan.step_size(e),
                seed=int(t.config.seed)), seeds)[1]  # fmt: skip
    x = rankdata([m.alpha_train or 0.0 for m in order])
    n = margins[(order[0], 0)].shape[1]
    base, top = order[0], order[-1]

    def stats(idx: np.ndarray) -> np.ndarray:
        rhos = []
        for j in range(len(grid)):
            for a in alphas:
                d = np.stack([_deficit(margins[(m, j)][:, idx], a) for m in order])  # [M, R]
                ranks = np.apply_along_axis(rankdata, 0, d)
                xc, rc = x - x.mean(), ranks - ranks.mean(axis=0)
                rhos.append((xc @ rc) / np.sqrt((xc**2).sum() * (rc**2).sum(axis=0)))
        rho = np.mean(np.stack(rhos), axis=0)
        j = len(grid) - 1
        gap = _deficit(margins[(top, j)][:, idx], 2.0) - _deficit(margins[(base, j)][:, idx], 2.0)
        return np.stack([rho, gap], axis=1)

    rho, gap = replicate_estimates(stats, n)
    claims.append(comparison(
        "zeng.figs5_7.concentrates", lesson, f"{_ZENG} Figs. 5–7",
        "s̃ concentrates as α_train grows: Spearman ρ between α_train and the entropy deficit "
        "(mean over ε_test and α_test > 0)", rho, unit="Spearman ρ", direction="less",
        decimals=3, paper="negative (histograms narrow as α_train grows)",
    ))  # fmt: skip
    claims.append(comparison(
        "zeng.figs5_7.headline", lesson, f"{_ZENG} Figs. 5–7",
        f"{top.name} has a smaller entropy deficit than {base.name} at ε_test = ε_train, "
        "α_test = 2", gap, unit="nats", direction="less", decimals=4,
        paper="smaller (narrower histogram)",
    ))  # fmt: skip
    return claims


# --------------------------------------------------------------------------------------------
# Lesson 07: DRO (Fig. 4)
# --------------------------------------------------------------------------------------------


def dro_claims(
    models: Mapping[Any, Any],
    dataset: Any,
    plan: Any,
    dro: pd.DataFrame,
    *,
    lesson: str = "07",
) -> list[Claim]:
    """Fig. 4: the solver's invariants and "+ours has the lower worst-case loss at every ρ".

    Invariants, per model and seed: at ρ = 0 the mean loss; once ρ ≥ (N − 1)/2 the max loss;
    non-decreasing in ρ. The claim is a conjunction over ρ of "loss(ours) − loss(baseline) < 0",
    each with the paired bootstrap over test examples (the DRO problem re-solved on every
    resample, :func:`mailviz.evaluate.dro_curve`).
    """
    from mailviz import evaluate
    from mailviz import nonuniform as nu

    by_model = _entries_by_model(models)
    losses = nu.dro_losses(models, dataset, plan)
    rhos = sorted(dro["rho"].unique())
    ends, mono = [], []
    for (name, seed), curve in dro.groupby(["model", "seed"], sort=False):
        sub = losses[(losses["model"] == name) & (losses["seed"] == seed)]["loss"].to_numpy()
        curve = curve.sort_values("rho")
        n = len(sub)
        first_ok = (
            abs(curve["loss"].iloc[0] - sub.mean()) < 1e-9 if curve["rho"].iloc[0] == 0 else True
        )
        big = curve[curve["rho"] >= (n - 1) / 2]
        last_ok = bool((abs(big["loss"] - sub.max()) < 1e-9).all())
        ends.append(first_ok and last_ok)
        mono.append(bool((curve["loss"].diff().dropna() >= -1e-12).all()))
    claims = [
        invariant("zeng.dro.ends", lesson, "the DRO solver gives the mean loss at ρ = 0 and the "
                  "max loss once ρ ≥ (N − 1)/2, for every model and seed", all(ends),
                  detail=f"{sum(ends)} of {len(ends)} curves"),
        invariant("zeng.dro.monotone", lesson, "the worst-case loss is non-decreasing in ρ",
                  all(mono), detail=f"{sum(mono)} of {len(mono)} curves"),
    ]  # fmt: skip
    for family in nu.FAMILIES:
        base, ours = _pair(by_model, family)
        if base is None or ours is None:
            continue
        seeds = _pair_seeds(by_model[base], by_model[ours])

        def arr(model: Any, seeds: list[int] = seeds) -> np.ndarray:
            sel = losses[losses["model"] == model.name]
            return np.stack([sel[sel["seed"] == s]["loss"].to_numpy() for s in seeds])

        lb, lo = arr(base), arr(ours)

        def gap(idx: np.ndarray, lb: np.ndarray = lb, lo: np.ndarray = lo) -> np.ndarray:
            rows = []
            for r in range(lb.shape[0]):
                cb = evaluate.dro_curve(lb[r, idx], rhos)["loss"].to_numpy()
                co = evaluate.dro_curve(lo[r, idx], rhos)["loss"].to_numpy()
                rows.append(co - cb)
            return np.stack(rows)  # [R, len(rhos)]

        parts = [
            comparison(
                f"zeng.fig4.{family.lower()}.rho{rho:g}",
                lesson,
                f"{_ZENG} Fig. 4",
                f"at ρ = {rho:g}",
                est,
                unit="nats",
                direction="less",
                decimals=4,
            )
            for rho, est in zip(rhos, replicate_estimates(gap, lb.shape[1]), strict=True)
        ]
        claims.append(all_of(
            f"zeng.fig4.{family.lower()}", lesson, f"{_ZENG} Fig. 4",
            f"{ours.name} has a lower worst-case χ² loss than {base.name} at every budget ρ",
            parts, paper="lower at every ρ",
        ))  # fmt: skip
    return claims


# --------------------------------------------------------------------------------------------
# Lesson 08: the quick stand-ins
# --------------------------------------------------------------------------------------------


def standin_claims(table: pd.DataFrame, *, lesson: str = "08") -> list[Claim]:
    """Lesson 08: the invariants of the metrics on the stand-ins, and how often weighted PGD is
    at least as strong as PGD (the share of rows, over the replicates; no test-set component —
    it counts rows, with the seed-to-seed spread as its interval)."""
    claims = _metric_invariants(table.assign(eps=table.get("eps", 0.0)), lesson)
    rows = table[table["alpha_test"] > 0]
    per_seed = rows.assign(ok=rows["A_tr"] <= rows["A_sa"] + 1e-9).groupby("seed")["ok"].mean()
    if len(per_seed) >= 2:
        claims.append(comparison(
            "zeng.standin.tr_le_sa", lesson, f"{_ZENG} §5",
            "weighted PGD is at least as strong as PGD (A_tr ≤ A_sa) in most rows (stand-ins)",
            estimate(per_seed.to_numpy(dtype=float)), unit="share", threshold=0.5, decimals=3,
            detail=f"{len(rows) // len(per_seed)} rows per replicate",
        ))  # fmt: skip
    return claims
