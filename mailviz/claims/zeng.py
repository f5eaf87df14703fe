r"""The claims of the Zeng et al. lessons: 04 spread, 05 non-uniform attacks, 07 DRO, 08 zoo.

Every claim reads the per-example attack runs of :mod:`mailviz.nonuniform` (cached next to each
model), so its statistic can be recomputed on a bootstrap resample of the test examples — the
same resample for every model and replicate (paired) — and averaged over the replicates
(:func:`mailviz.claims.core.replicate_estimates`). The weighted accuracies are ratio estimators,
``A = 100·Σ_i w_i c_i / Σ_i w_i`` with ``w_i = exp(−α·PM_i)``, recomputed on each resample (s̃
is renormalised over the resampled set, as it is over the test set).

The paper's number beside each claim is read from ``mailviz/paper_numbers/zeng.json``
(:func:`mailviz.nonuniform.paper_reference`), never typed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mailviz.claims.core import estimate, replicate_estimates
from mailviz.claims.record import Claim, all_of, comparison, invariant

__all__ = [
    "weighted_accuracy",
    "spread_claims",
    "nonuniform_claims",
    "dro_claims",
    "standin_claims",
]

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


# --------------------------------------------------------------------------------------------
# Lesson 05: A_rob / A_sa / A_tr
# --------------------------------------------------------------------------------------------


def nonuniform_claims(
    models: Mapping[Any, Any],
    dataset: Any,
    plan: Any,
    table: pd.DataFrame,
    *,
    profile: str = "quick",
    lesson: str = "05",
    rob_tolerance: float = 2.0,
) -> list[Claim]:
    """Zeng et al.'s claims about non-uniform attacks, over the replicates of ``models``.

    Invariants (mathematics, checked on every row of ``table``): ``A_sa ≤ A_rob``; ``A_sa``
    non-increasing in α_test; all three metrics equal at α_test = 0. Claims:

    * ``A_tr ≤ A_sa`` "in most scenarios" (§5): the share of rows (model, ε_test, α_test > 0)
      where weighted PGD is at least as strong, threshold one half;
    * Table 2: the headline "+ours" raises ``A_sa`` and ``A_tr`` over its baseline at
      α_test = 2, ε_test = ε_train (TRADES α_train = 2, PGD α_train = 0.1);
    * Tables 4–6: ``A_rob`` of "+ours" is at most ``rob_tolerance`` points below its baseline;
    * Table 9: "+ours" keeps a higher ``A_sa`` (α_test = 1) under all four stronger attacks.

    Args:
        models: ``{(ZengModel, seed): TrainedModel}`` (every replicate).
        dataset: the test set; plan: the profile's :class:`~mailviz.nonuniform.NonuniformPlan`.
        table: :func:`mailviz.nonuniform.nonuniform_table` of ``models`` (for the invariants).
    """
    from mailviz import nonuniform as nu

    by_model = _entries_by_model(models)
    ref = nu.paper_reference(profile)
    claims = _metric_invariants(table, lesson)
    claims.append(_tr_below_sa(by_model, dataset, plan, ref, lesson))
    for family in nu.FAMILIES:
        base, ours = _pair(by_model, family)
        if base is None or ours is None:
            continue
        claims.extend(_table2(by_model, base, ours, dataset, plan, ref, lesson))
        claims.append(_rob_cost(by_model, base, ours, dataset, plan, profile, lesson,
                                rob_tolerance))  # fmt: skip
        claims.append(_table9(by_model, base, ours, dataset, plan, profile, lesson))
    return claims


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


def _tr_below_sa(by_model: Mapping[Any, Any], dataset: Any, plan: Any, ref: pd.DataFrame,
                 lesson: str) -> Claim:  # fmt: skip
    from mailviz import nonuniform as nu

    rows = []  # (model, eps, alpha): correct/margin arrays of the plain and weighted runs
    seeds = None
    for m, runs in by_model.items():
        seeds = sorted(runs) if seeds is None else seeds
        eps_train = float(next(iter(runs.values())).config.eps)
        for e in plan.eps_grid(eps_train):
            if not (plan.tr_all_models or m.headline or math.isclose(e, eps_train)):
                continue
            step = plan.step_size(e)
            plain = _runs(runs, lambda t, e=e, step=step: nu.attack_run(
                t, dataset, e, steps=plan.steps, step_size=step, seed=int(t.config.seed)), seeds)
            for a in plan.alphas_test:
                if a == 0.0:
                    continue
                weighted = _runs(runs, lambda t, e=e, step=step, a=a: nu.attack_run(
                    t, dataset, e, attack="weighted", alpha=a, steps=plan.steps, step_size=step,
                    seed=int(t.config.seed)), seeds)  # fmt: skip
                rows.append((plain, weighted, a))
    n = rows[0][0][0].shape[1]

    def share(idx: np.ndarray) -> np.ndarray:
        below = [weighted_accuracy(w[0][:, idx], w[1][:, idx], a)
                 <= weighted_accuracy(p[0][:, idx], p[1][:, idx], a) + 1e-9
                 for p, w, a in rows]  # fmt: skip
        return np.mean(np.stack(below), axis=0)  # [R]

    (est,) = replicate_estimates(share, n)
    both = ref.dropna(subset=["A_sa", "A_tr"])
    paper = float((both["A_tr"] <= both["A_sa"]).mean()) if len(both) else math.nan
    return comparison(
        "zeng.tr_le_sa_most", lesson, f"{_ZENG} §5",
        "weighted PGD is at least as strong as PGD (A_tr ≤ A_sa) in most scenarios "
        "(share of rows with α_test > 0)", est, unit="share", threshold=0.5, decimals=3,
        paper=f"{paper:.3f} of the published rows" if math.isfinite(paper) else "",
        detail=f"{len(rows)} rows per replicate",
    )  # fmt: skip


def _table2(by_model: Mapping[Any, Any], base: Any, ours: Any, dataset: Any, plan: Any,
            ref: pd.DataFrame, lesson: str) -> list[Claim]:  # fmt: skip
    from mailviz import nonuniform as nu

    seeds = _pair_seeds(by_model[base], by_model[ours])
    alpha = 2.0

    def fetch(model: Any, attack: str) -> tuple[np.ndarray, ...]:
        def one(t: Any) -> pd.DataFrame:
            e = float(t.config.eps)
            kw = dict(steps=plan.steps, step_size=plan.step_size(e), seed=int(t.config.seed))
            if attack == "weighted":
                return nu.attack_run(t, dataset, e, attack="weighted", alpha=alpha, **kw)
            return nu.attack_run(t, dataset, e, **kw)

        return _runs(by_model[model], one, seeds)

    data = {(m, a): fetch(m, a) for m in (base, ours) for a in ("pgd", "weighted")}
    n = data[(base, "pgd")][0].shape[1]

    def gains(idx: np.ndarray) -> np.ndarray:
        out = []
        for attack in ("pgd", "weighted"):
            b, o = data[(base, attack)], data[(ours, attack)]
            out.append(weighted_accuracy(o[0][:, idx], o[1][:, idx], alpha)
                       - weighted_accuracy(b[0][:, idx], b[1][:, idx], alpha))  # fmt: skip
        return np.stack(out, axis=1)

    sa, tr = replicate_estimates(gains, n)
    claims = []
    for metric, est in (("A_sa", sa), ("A_tr", tr)):
        p_ours = _paper_value(ref, metric, defense=ours.defense, alpha_train=ours.alpha_train,
                              eps_fraction=1.0, alpha_test=alpha)  # fmt: skip
        p_base = _paper_value(ref, metric, defense=base.defense, alpha_train=None,
                              eps_fraction=1.0, alpha_test=alpha)  # fmt: skip
        paper = (f"{p_ours - p_base:+.2f} ({p_ours:.2f} vs {p_base:.2f})"
                 if math.isfinite(p_ours) and math.isfinite(p_base) else "")  # fmt: skip
        claims.append(comparison(
            f"zeng.table2.{base.family.lower()}.{metric}", lesson, f"{_ZENG} Table 2",
            f"{ours.name} has a higher {metric} than {base.name} at α_test = 2, "
            f"ε_test = ε_train", est, unit=f"points of {metric}", paper=paper,
        ))  # fmt: skip
    return claims


def _rob_cost(by_model: Mapping[Any, Any], base: Any, ours: Any, dataset: Any, plan: Any,
              profile: str, lesson: str, tolerance: float) -> Claim:  # fmt: skip
    from mailviz import nonuniform as nu

    seeds = _pair_seeds(by_model[base], by_model[ours])

    def one(t: Any) -> pd.DataFrame:
        e = float(t.config.eps)
        return nu.attack_run(t, dataset, e, steps=plan.steps, step_size=plan.step_size(e),
                             seed=int(t.config.seed))  # fmt: skip

    b, o = _runs(by_model[base], one, seeds), _runs(by_model[ours], one, seeds)
    n = b[0].shape[1]
    (est,) = replicate_estimates(lambda idx: 100.0 * (o[0][:, idx].mean(1)
                                                      - b[0][:, idx].mean(1)), n)  # fmt: skip
    uni = nu.paper_reference(profile, "uniform")
    p_ours = _paper_value(uni, "A_rob", defense=ours.defense, alpha_train=ours.alpha_train)
    p_base = _paper_value(uni, "A_rob", defense=base.defense, alpha_train=None)
    paper = (f"{p_ours - p_base:+.2f} ({p_ours:.2f} vs {p_base:.2f})"
             if math.isfinite(p_ours) and math.isfinite(p_base) else "")  # fmt: skip
    return comparison(
        f"zeng.rob_cost.{base.family.lower()}", lesson, f"{_ZENG} Tables 4–6",
        f"{ours.name} loses at most {tolerance:g} points of A_rob against {base.name}", est,
        unit="points of A_rob", threshold=-float(tolerance), paper=paper,
    )  # fmt: skip


def _table9(by_model: Mapping[Any, Any], base: Any, ours: Any, dataset: Any, plan: Any,
            profile: str, lesson: str) -> Claim:  # fmt: skip
    from mailviz import nonuniform as nu

    seeds = _pair_seeds(by_model[base], by_model[ours])
    alpha = 1.0
    ref = nu.paper_reference(profile, "attacks")
    parts = []
    attacks = nu.strong_attacks(plan)
    data = {}
    for label, loss, steps in attacks:
        for m in (base, ours):
            data[(m, label)] = _runs(
                by_model[m], lambda t, loss=loss, steps=steps: nu.strong_run(
                    t, dataset, plan, loss, steps), seeds)  # fmt: skip
    n = data[(base, attacks[0][0])][0].shape[1]

    def gains(idx: np.ndarray) -> np.ndarray:
        cols = []
        for label, _, _ in attacks:
            b, o = data[(base, label)], data[(ours, label)]
            cols.append(weighted_accuracy(o[0][:, idx], o[1][:, idx], alpha)
                        - weighted_accuracy(b[0][:, idx], b[1][:, idx], alpha))  # fmt: skip
        return np.stack(cols, axis=1)

    for (label, _, _), est in zip(attacks, replicate_estimates(gains, n), strict=True):
        p_ours = _paper_value(ref, "A_sa", defense=ours.defense, alpha_train=ours.alpha_train,
                              attack=label, alpha_test=alpha)  # fmt: skip
        p_base = _paper_value(ref, "A_sa", defense=base.defense, alpha_train=None, attack=label,
                              alpha_test=alpha)  # fmt: skip
        paper = f"{p_ours - p_base:+.2f}" if math.isfinite(p_ours + p_base) else ""
        parts.append(comparison(
            f"zeng.table9.{base.family.lower()}.{label}", lesson, f"{_ZENG} Table 9",
            f"under {label}", est, unit="points of A_sa", paper=paper))  # fmt: skip
    return all_of(
        f"zeng.table9.{base.family.lower()}", lesson, f"{_ZENG} Table 9",
        f"{ours.name} keeps a higher A_sa (α_test = 1) than {base.name} under all four "
        f"stronger attacks (20/100-step PGD and PGD-margin, first {plan.long_n or 'all'} "
        f"test examples)", parts,
    )  # fmt: skip


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
        first_ok = abs(curve["loss"].iloc[0] - sub.mean()) < 1e-9 if curve["rho"].iloc[0] == 0 \
            else True
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

        parts = [comparison(f"zeng.fig4.{family.lower()}.rho{rho:g}", lesson, f"{_ZENG} Fig. 4",
                            f"at ρ = {rho:g}", est, unit="nats", direction="less", decimals=4)
                 for rho, est in zip(rhos, replicate_estimates(gap, lb.shape[1]), strict=True)]
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
