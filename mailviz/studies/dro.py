"""Zeng et al.'s DRO view (Fig. 4, eq. 28, notebook 07): worst-case χ² losses of the trained models.

:func:`dro_losses` reads the per-example losses of the cached attack runs, :func:`dro_table` the
exact χ² DRO curve (:func:`mailviz.evaluate.dro_curve`) for every model over the plan's ρ grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from mailviz import evaluate
from mailviz.studies.nonuniform_runs import NonuniformPlan, attack_run
from mailviz.studies.zeng_models import _attack_seed, _entries

# --------------------------------------------------------------------------------------------
# DRO (Fig. 4)
# --------------------------------------------------------------------------------------------


def dro_table(
    models: Mapping[Any, Any],
    dataset: Any,
    plan: NonuniformPlan,
    *,
    eps: float | None = None,
    rhos: Sequence[float] | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Worst-case χ²-reweighted CE loss and accuracy vs ρ per model and seed (eq. 28, Fig. 4).

    The losses are the per-example cross-entropies after the same cached unweighted PGD run as
    :func:`nonuniform_table` (ε_test = ε_train by default; attack seed: each model's training
    seed unless ``seed`` is given); :func:`mailviz.evaluate.dro_curve` solves eq. 28 exactly
    for every ρ.

    Returns:
        Frame with columns ``model, seed, family, defense, alpha_train, eps, rho, loss,
        accuracy``.
    """
    entries = _entries(models)
    grid = list(plan.rhos if rhos is None else rhos)
    frames = []
    for m, s, t in entries:
        e = float(t.config.eps) if eps is None else float(eps)
        run = attack_run(t, dataset, e, steps=plan.steps, step_size=plan.step_size(e),
                         seed=_attack_seed(t, seed))  # fmt: skip
        curve = evaluate.dro_curve(run["loss"].to_numpy(), grid, correct=run["correct"].to_numpy())
        frames.append(curve.assign(model=m.name, seed=s, family=m.family, defense=m.defense,
                                   alpha_train=m.alpha_train, eps=e))  # fmt: skip
    columns = ["model", "seed", "family", "defense", "alpha_train", "eps", "rho", "loss",
               "accuracy"]  # fmt: skip
    return pd.concat(frames, ignore_index=True)[columns]


def dro_losses(models: Mapping[Any, Any], dataset: Any, plan: NonuniformPlan, *,
               seed: int | None = None) -> pd.DataFrame:  # fmt: skip
    """The per-example CE losses behind :func:`dro_table` (ε_test = ε_train): columns ``model,
    seed, family, alpha_train, example, loss, correct`` — what the claims' bootstrap resamples."""
    frames = []
    for m, s, t in _entries(models):
        e = float(t.config.eps)
        run = attack_run(t, dataset, e, steps=plan.steps, step_size=plan.step_size(e),
                         seed=_attack_seed(t, seed))  # fmt: skip
        frames.append(run[["example", "loss", "correct"]].assign(
            model=m.name, seed=s, family=m.family, alpha_train=m.alpha_train))  # fmt: skip
    return pd.concat(frames, ignore_index=True)
