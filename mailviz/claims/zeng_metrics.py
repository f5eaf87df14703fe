"""The claims of lesson 05: Zeng et al.'s non-uniform metrics (A_rob / A_sa / A_tr, Tables 2 and 9).

The weighted accuracies are ratio estimators, ``A = 100·Σ_i w_i c_i / Σ_i w_i`` with
``w_i = exp(−α·PM_i)``, recomputed on each paired bootstrap resample of the test examples (s̃ is
renormalised over the resampled set, as it is over the test set).
"""

from __future__ import annotations

import math
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
    _paper_value,
    _runs,
    weighted_accuracy,
)
from mailviz.claims.core import replicate_estimates
from mailviz.claims.record import Claim, all_of, comparison

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
            plain = _runs(
                runs,
                lambda t, e=e, step=step: nu.attack_run(
                    t, dataset, e, steps=plan.steps, step_size=step, seed=int(t.config.seed)
                ),
                seeds,
            )
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
