"""Zeng et al.'s non-uniform metrics and their tables (eq. 17–19; Tables 1–12, Fig. 3).

``A_rob = (100/N)·Σ_i 1[correct_i]`` after unweighted PGD; ``A_sa = 100·Σ_i s̃_i·1[correct_i]``
on the same adversarial inputs with ``s̃ = softmax(−α_test·PM)``; ``A_tr`` the same on the inputs
of weighted PGD with α = α_test. :func:`nonuniform_metrics` computes them from attack runs,
:func:`nonuniform_table` (Tables 1–3, 7, 8, 10–12, Fig. 3), :func:`attack_table` (Table 9) and
:func:`uniform_table` (Tables 4–6) tabulate them, :func:`ordering_violations` checks
``A_tr ≤ A_sa ≤ A_rob`` and :func:`gain_over_baseline` compares with the unweighted baseline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from mailviz import evaluate
from mailviz.studies.nonuniform_runs import NonuniformPlan, attack_run, first
from mailviz.studies.zeng_models import (
    _attack_seed,
    _entries,
    _label,
    _model_columns,
)


def _bar(total: int, desc: str, progress: bool) -> Any:
    """A tqdm bar over ``total`` attack runs (cache hits count too); a no-op when disabled."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="run", leave=False, disable=not progress,
                dynamic_ncols=True)  # fmt: skip


def _check_alpha_list(values: Any, name: str) -> tuple[float, ...]:
    items = [values] if isinstance(values, (int, float)) else list(values)
    if not items:
        raise ValueError(f"{name} must name at least one value, e.g. {name}=(0.5, 1, 1.5, 2)")
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{name} must hold finite numbers, got {v!r} — e.g. (0.5, 1, 2)")
        out.append(float(v))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# A_rob / A_sa / A_tr
# --------------------------------------------------------------------------------------------


def _accuracy(run: pd.DataFrame, alpha: float) -> float:
    correct = torch.tensor(run["correct"].to_numpy(dtype=bool))
    margin = torch.tensor(run["margin"].to_numpy(dtype=np.float64))
    return evaluate.nonuniform_accuracy(correct, margin, alpha)


def nonuniform_metrics(
    plain: pd.DataFrame,
    alphas_test: Sequence[float],
    weighted: Mapping[float, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """``A_rob``, ``A_sa`` and ``A_tr`` (%) per α_test from per-example runs (eq. 17–19).

    ``A_rob = 100·mean(correct)`` and ``A_sa = 100·Σ s̃_i·correct_i`` with
    ``s̃ = softmax(−α_test·PM)`` both read ``plain`` (the unweighted attack); ``A_tr`` reads
    ``weighted[α_test]`` (weighted PGD with α = α_test), NaN where that run is absent. At
    α_test = 0 every metric is the uniform accuracy. Identical to
    :func:`mailviz.evaluate.nonuniform_report` on the same runs.

    Example:
        >>> run = pd.DataFrame({"correct": [True, False], "margin": [0.5, -0.5]})
        >>> nonuniform_metrics(run, [0.0])["A_sa"].tolist()
        [50.0]
    """
    alphas = _check_alpha_list(alphas_test, "alphas_test")
    weighted = dict(weighted or {})
    a_rob = 100.0 * float(plain["correct"].to_numpy(dtype=bool).mean())
    rows = []
    for a in alphas:
        run = plain if a == 0.0 else weighted.get(a)
        rows.append(
            dict(alpha_test=a, A_rob=a_rob, A_sa=_accuracy(plain, a),
                 A_tr=math.nan if run is None else _accuracy(run, a))
        )  # fmt: skip
    return pd.DataFrame(rows, columns=["alpha_test", "A_rob", "A_sa", "A_tr"])


def nonuniform_table(
    models: Mapping[Any, Any],
    dataset: Any,
    plan: NonuniformPlan,
    *,
    eps: Sequence[float] | None = None,
    alphas_test: Sequence[float] | None = None,
    seed: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """``A_rob``, ``A_sa``, ``A_tr`` of every model at every (ε_test, α_test): Tables 7–8, Fig. 3.

    One cached unweighted PGD run per (model, seed, ε_test) gives ``A_rob`` and ``A_sa`` for all
    α_test; ``A_tr`` runs weighted PGD per α_test — for every model at every ε_test when
    ``plan.tr_all_models``, else for the headline models everywhere and the others at
    ε_test = ε_train only (``A_tr`` is NaN elsewhere).

    Args:
        models: ``{(ZengModel, seed): TrainedModel}`` (:func:`train_catalogue`).
        dataset: the test set.
        plan: the profile's :class:`NonuniformPlan`.
        eps: ε_test values; default ``plan.eps_grid(ε_train)`` per model.
        alphas_test: default ``plan.alphas_test``.
        seed: attack seed; default each model's own training seed (replicates differ in their
            attacks' random starts too).
        progress: a progress bar over the attack runs (cached runs count as done at once).

    Returns:
        Tidy frame, one row per (model, seed, ε_test, α_test), with columns ``model, seed,
        family, defense, alpha_train, eps_train, eps, eps_fraction, alpha_test, A_rob, A_sa,
        A_tr, steps``; ``attrs["label"]`` names the dataset / network / profile / replicates.
    """
    entries = _entries(models)
    alphas = _check_alpha_list(plan.alphas_test if alphas_test is None else alphas_test,
                               "alphas_test")  # fmt: skip
    jobs = []  # (model, seed, trained, ε_test, the α_test that get a weighted-PGD run)
    for m, s, t in entries:
        eps_train = float(t.config.eps)
        for e in plan.eps_grid(eps_train) if eps is None else eps:
            with_tr = plan.tr_all_models or m.headline or math.isclose(e, eps_train)
            jobs.append((m, s, t, e, [a for a in alphas if a != 0.0 and with_tr]))
    bar = _bar(sum(1 + len(tr) for *_, tr in jobs), "A_rob / A_sa / A_tr", progress)
    frames = []
    for m, s, t, e, tr_alphas in jobs:
        step = plan.step_size(e)
        aseed = _attack_seed(t, seed)
        plain = attack_run(t, dataset, e, steps=plan.steps, step_size=step, seed=aseed)
        bar.update()
        weighted = {}
        for a in tr_alphas:
            weighted[a] = attack_run(t, dataset, e, attack="weighted", alpha=a, steps=plan.steps,
                                     step_size=step, seed=aseed)  # fmt: skip
            bar.update()
        part = nonuniform_metrics(plain, alphas, weighted)
        frames.append(
            part.assign(**_model_columns(m, s, t), eps=float(e),
                        eps_fraction=round(float(e) / float(t.config.eps), 6), steps=plan.steps)
        )  # fmt: skip
    bar.close()
    columns = ["model", "seed", "family", "defense", "alpha_train", "eps_train", "eps",
               "eps_fraction", "alpha_test", "A_rob", "A_sa", "A_tr", "steps"]  # fmt: skip
    out = pd.concat(frames, ignore_index=True)[columns]
    out.attrs["label"] = _label(models)
    return out


def strong_attacks(plan: NonuniformPlan) -> list[tuple[str, str, int]]:
    """Table 9's four attacks: ``(label, loss, steps)`` — PGD and PGD-margin with ``plan.steps``
    and ``plan.long_steps`` steps."""
    return [(f"{steps}-{label}", loss, steps)
            for loss, label in (("pgd", "PGD"), ("cw", "PGD-margin"))
            for steps in (plan.steps, plan.long_steps)]  # fmt: skip


def strong_run(t: Any, dataset: Any, plan: NonuniformPlan, loss: str, steps: int,
               seed: int | None = None) -> pd.DataFrame:  # fmt: skip
    """The per-example run of one Table 9 attack on the first ``plan.long_n`` test examples
    (the short PGD run is the prefix of the full-set run: no attack is run twice)."""
    e = float(t.config.eps)
    step = plan.step_size(e)
    aseed = _attack_seed(t, seed)
    if loss == "pgd" and steps == plan.steps:
        return first(attack_run(t, dataset, e, steps=steps, step_size=step, seed=aseed),
                     plan.long_n)  # fmt: skip
    return attack_run(t, dataset, e, attack=loss, steps=steps, step_size=step, n=plan.long_n,
                      seed=aseed)  # fmt: skip


def attack_table(
    models: Mapping[Any, Any],
    dataset: Any,
    plan: NonuniformPlan,
    *,
    alphas_test: Sequence[float] = (1.0, 2.0),
    seed: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """``A_rob`` and ``A_sa`` under PGD and PGD-margin with ``plan.steps`` and ``plan.long_steps``
    steps at ε_test = ε_train: Zeng Table 9 (which reports α_test = 1).

    PGD ascends the cross-entropy, PGD-margin the CW margin loss (κ_c = 50,
    :data:`mailviz.evaluate.CW_CONFIDENCE`). All four attacks (:func:`strong_attacks`) are
    evaluated on the first ``plan.long_n`` test examples (:func:`strong_run`; s̃ is renormalised
    over the prefix). ``seed``: attack seed, default each model's training seed. ``progress``
    shows a bar over the attack runs.

    Returns:
        Frame with columns ``model, seed, family, defense, alpha_train, eps_train, eps, attack,
        alpha_test, A_rob, A_sa, n``; ``attack`` reads ``"20-PGD"``, ``"100-PGD-margin"``...
    """
    entries = _entries(models)
    alphas = _check_alpha_list(alphas_test, "alphas_test")
    frames = []
    attacks_ = strong_attacks(plan)
    bar = _bar(len(attacks_) * len(entries), "Table 9 attacks", progress)
    for m, s, t in entries:
        for label, loss, steps in attacks_:
            run = strong_run(t, dataset, plan, loss, steps, seed)
            bar.update()
            part = nonuniform_metrics(run, alphas).drop(columns="A_tr")
            frames.append(part.assign(**_model_columns(m, s, t), eps=float(t.config.eps),
                                      attack=label, n=len(run)))  # fmt: skip
    bar.close()
    columns = ["model", "seed", "family", "defense", "alpha_train", "eps_train", "eps", "attack",
               "alpha_test", "A_rob", "A_sa", "n"]  # fmt: skip
    out = pd.concat(frames, ignore_index=True)[columns]
    out.attrs["label"] = _label(models)
    return out


def uniform_table(
    models: Mapping[Any, Any],
    dataset: Any,
    plan: NonuniformPlan,
    *,
    seed: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Natural accuracy ``A_nat`` and ``A_rob`` (PGD, ``plan.steps``, ε_test = ε_train) per model
    and seed: the layout of Zeng Tables 4–6. ``progress`` shows a bar over the attack runs.

    Returns:
        Frame with columns ``model, seed, family, defense, alpha_train, eps_train, A_nat, A_rob``.
    """
    entries = _entries(models)
    rows = []
    bar = _bar(2 * len(entries), "A_nat / A_rob", progress)
    for m, s, t in entries:
        e = float(t.config.eps)
        aseed = _attack_seed(t, seed)
        nat = attack_run(t, dataset, None, attack="nat", seed=aseed)
        pgd = attack_run(t, dataset, e, steps=plan.steps, step_size=plan.step_size(e), seed=aseed)
        bar.update(2)
        rows.append(
            dict(**_model_columns(m, s, t),
                 A_nat=100.0 * float(nat["correct"].to_numpy(dtype=bool).mean()),
                 A_rob=100.0 * float(pgd["correct"].to_numpy(dtype=bool).mean()))
        )  # fmt: skip
    bar.close()
    out = pd.DataFrame(rows)
    out.attrs["label"] = _label(models)
    return out


def ordering_violations(table: pd.DataFrame, tol: float = 0.0) -> pd.DataFrame:
    """Rows of a :func:`nonuniform_table` that break ``A_tr ≤ A_sa ≤ A_rob`` by more than ``tol``.

    ``A_sa ≤ A_rob`` holds for every α_test ≥ 0 by construction (PM > 0 exactly on correct
    examples, and s̃ shifts mass to low margins); ``A_tr ≤ A_sa`` is an empirical statement
    about weighted PGD. Rows with NaN ``A_tr`` are checked only for ``A_sa ≤ A_rob``.

    Returns:
        The offending rows (empty when the ordering holds), with columns ``tr_minus_sa`` and
        ``sa_minus_rob`` added.
    """
    if not isinstance(table, pd.DataFrame) or not {"A_rob", "A_sa", "A_tr"} <= set(table):
        raise ValueError("table must be a nonuniform_table frame with A_rob, A_sa, A_tr columns")
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0 (percentage points), got {tol!r}")
    out = table.assign(tr_minus_sa=table["A_tr"] - table["A_sa"],
                       sa_minus_rob=table["A_sa"] - table["A_rob"])  # fmt: skip
    bad = (out["tr_minus_sa"] > tol) | (out["sa_minus_rob"] > tol)
    return out[bad.fillna(False)].reset_index(drop=True)


def gain_over_baseline(
    table: pd.DataFrame, metric: str, on: Sequence[str] = ("eps", "alpha_test")
) -> pd.DataFrame:
    """Each "+ours" row's ``metric`` minus its family's baseline at the same ``on`` values.

    Works on any frame with ``model, family, alpha_train`` (NaN for the baseline) and the ``on``
    columns: :func:`nonuniform_table` (``on=("eps", "alpha_test")``), :func:`uniform_table`
    (``on=()``), :func:`dro_table` (``on=("rho",)``). With a ``seed`` column the rows are paired
    by seed (replicate ``s`` of "+ours" against replicate ``s`` of the baseline).

    Returns:
        One row per "+ours" row: ``model, family, alpha_train``, ``seed`` (when present), the
        ``on`` columns, ``ours``, ``baseline`` and ``gain = ours − baseline``.

    Example:
        >>> t = pd.DataFrame({"model": ["PGD", "PGD+ours"], "family": ["PGD", "PGD"],
        ...                   "alpha_train": [None, 0.1], "A_rob": [50.0, 51.5]})
        >>> gain_over_baseline(t, "A_rob", on=())["gain"].tolist()
        [1.5]
    """
    on = list(on)
    if "seed" in table.columns and "seed" not in on:
        on = ["seed", *on]
    missing = [c for c in ["model", "family", "alpha_train", metric, *on] if c not in table]
    if missing:
        raise ValueError(f"table lacks columns {missing} — build it with mailviz.nonuniform")
    is_base = table["alpha_train"].isna()
    base = table[is_base][["family", *on, metric]].rename(columns={metric: "baseline"})
    if base.duplicated(["family", *on]).any():
        raise ValueError("several baseline rows share a key; pass the distinguishing columns as on")
    ours = table[~is_base][["model", "family", "alpha_train", *on, metric]]
    out = ours.rename(columns={metric: "ours"}).merge(base, on=["family", *on], how="left")
    return out.assign(gain=out["ours"] - out["baseline"])
