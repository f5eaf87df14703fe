"""Zeng et al.'s published tables beside ours, and the stand-in evaluations of the zoo lesson.

:func:`paper_reference` picks the published rows matching a profile, :func:`beside_paper` puts
them next to our numbers, :func:`evaluate_models` fills the attack cache for a list of models and
:func:`standin_tables` the A_rob / A_sa / A_tr tables of the lessons' stand-in models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from mailviz import weights
from mailviz.config import ExperimentConfig
from mailviz.studies.nonuniform_metrics import (
    nonuniform_metrics,
)
from mailviz.studies.nonuniform_runs import NonuniformPlan, attack_run
from mailviz.studies.zeng_models import _attack_seed

# --------------------------------------------------------------------------------------------
# The paper's numbers beside ours
# --------------------------------------------------------------------------------------------

#: Which of Zeng et al.'s tables each profile compares with (the profile's analogue dataset).
_REFERENCE_TABLES: dict[str, dict[str, tuple[str, ...]]] = {
    "cifar10": {
        "grid": ("table7", "table8", "table11", "table2"),
        "attacks": ("table9",),
        "uniform": ("table4",),
    },
    "mnist": {"grid": ("table1", "table10"), "attacks": (), "uniform": ("table6",)},
}
_PROFILE_REFERENCE = {"smoke": "cifar10", "quick": "cifar10", "paper": "cifar10",
                      "mnist": "mnist"}  # fmt: skip
_KEYS = {"grid": ["defense", "alpha_train", "eps_fraction", "alpha_test"],
         "attacks": ["defense", "alpha_train", "attack", "alpha_test"],
         "uniform": ["defense", "alpha_train"]}  # fmt: skip


def paper_reference(profile: str = "quick", kind: str = "grid") -> pd.DataFrame:
    """Zeng et al.'s published numbers for the comparison a profile makes, one row per key.

    ``quick`` (digits, ε_train = 0.2, the CIFAR-10 robust regime), ``smoke`` and ``paper``
    compare with CIFAR-10 / ResNet-18: ``kind="grid"`` Tables 7, 8, 11 and 2 (ε_test = ε/4, ε/2, ε
    at 2/255, 4/255, 8/255 — ``eps_fraction = round(4·ε_test/ε_train)/4``), ``"attacks"`` Table
    9, ``"uniform"`` Table 4. ``mnist`` compares with MNIST: Tables 1 and 10, Table 6.

    Rows are read as printed (``mailviz/paper_numbers/zeng.json``) with two documented
    readings: a row with α_train "−" is the unweighted baseline whatever its Defense label (Table
    8 prints "TRADES+ours" there at ε_test = 0.016), and when a key repeats (Table 8 prints
    α_train = 1.5 twice per block at ε_test = 0.016; Tables 2/8/11 share rows) the first row is
    kept. ``source`` lists the tables a row came from.

    Returns:
        Frame keyed by ``defense, alpha_train`` (+ ``eps_fraction, alpha_test`` or ``attack,
        alpha_test``) with the metric columns and ``source``; ``attrs["label"]`` is
        ``"Zeng et al. Tables 7, 8, 11, 2 — CIFAR-10 / ResNet-18, paper scale"``.
    """
    from mailviz.paper import paper_table

    if profile not in _PROFILE_REFERENCE:
        raise ValueError(f"unknown profile {profile!r}; valid: {', '.join(_PROFILE_REFERENCE)}")
    if kind not in _KEYS:
        raise ValueError(f"kind must be 'grid', 'attacks' or 'uniform', got {kind!r}")
    ids = _REFERENCE_TABLES[_PROFILE_REFERENCE[profile]][kind]
    keys = _KEYS[kind]
    if not ids:
        out = pd.DataFrame(columns=[*keys, "source"])
        out.attrs["label"] = "no published table for this comparison"
        return out
    frames, sources = [], []
    for tid in ids:
        t = paper_table("zeng", tid)
        f = t.copy()
        f["source"] = t.attrs["source"].replace("Zeng et al. ", "")
        if "eps_test" not in f and "eps_test" in t.attrs:
            f["eps_test"] = t.attrs["eps_test"]
        if kind == "grid":
            f["eps_fraction"] = (4 * f["eps_test"] / t.attrs["eps_train"]).round() / 4
        sources.append(t.attrs["source"].replace("Zeng et al. ", ""))
        frames.append(f)
    ref = pd.concat(frames, ignore_index=True)
    baseline = ref["alpha_train"].isna()
    ref.loc[baseline, "defense"] = ref.loc[baseline, "defense"].str.replace("+ours", "")
    ref["_key"] = list(zip(*(ref[k].astype(str) for k in keys), strict=True))
    src = ref.groupby("_key", sort=False)["source"].agg(lambda s: ", ".join(dict.fromkeys(s)))
    ref = ref.drop_duplicates("_key", keep="first").copy()
    ref["source"] = ref["_key"].map(src)
    metrics = [c for c in ("A_nat", "A_rob", "A_sa", "A_tr") if c in ref.columns]
    out = ref[[*keys, *metrics, "source"]].reset_index(drop=True)
    attrs = paper_table("zeng", ids[0]).attrs
    tables = ", ".join(s.replace("Table ", "") for s in sources)
    out.attrs["label"] = (f"Zeng et al. Table{'s' if len(ids) > 1 else ''} {tables} — "
                          f"{attrs['dataset']} / {attrs['model']}, paper scale")  # fmt: skip
    return out


def beside_paper(
    ours: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    metrics: Sequence[str] | None = None,
    index: Sequence[str] | None = None,
    decimals: int = 2,
) -> pd.DataFrame:
    """Our measurements and the paper's side by side, each under its own labelled column group.

    With a ``seed`` column (replicates) our cells read ``mean ± std`` over the replicates
    (:func:`mailviz.replicates.mean_std`). Rows of ``ours`` are matched to ``reference``
    (:func:`paper_reference`) on the reference's
    key columns (``defense``, ``alpha_train`` and ``eps_fraction``/``attack``, ``alpha_test``);
    a row without a published counterpart shows NaN in the paper's columns. The top column level
    is ``ours.attrs["label"]`` (e.g. "measured — digits / digits_cnn, quick profile") for ours
    and ``reference.attrs["label"]`` for the paper's, so the two are never confused.

    Args:
        ours: :func:`nonuniform_table`, :func:`attack_table` or :func:`uniform_table`.
        reference: the matching :func:`paper_reference`.
        metrics: metric columns (default: those of ``A_nat, A_rob, A_sa, A_tr`` in ``ours``;
            NaN on the paper's side where it did not publish one).
        index: row index columns (default ``model`` + the key columns other than ``defense`` and
            ``alpha_train``).
        decimals: rounding.

    Returns:
        DataFrame with a two-level column index ``(source label, metric)``.
    """
    keys = [c for c in reference.columns if c not in ("A_nat", "A_rob", "A_sa", "A_tr", "source")]
    missing = [k for k in keys if k not in ours.columns]
    if missing:
        raise ValueError(f"ours lacks the key columns {missing} of the reference table")
    if metrics is None:
        metrics = [c for c in ("A_nat", "A_rob", "A_sa", "A_tr") if c in ours.columns]
    metrics = list(metrics)
    if index is None:
        index = ["model", *[k for k in keys if k not in ("defense", "alpha_train")]]
    index = list(index)

    def keyed(frame: pd.DataFrame) -> pd.Series:
        parts = []
        for k in keys:
            col = frame[k]
            parts.append(col.map(lambda v: "nan" if pd.isna(v) else f"{float(v):.6g}")
                         if k != "defense" and k != "attack" else col.astype(str))  # fmt: skip
        return pd.Series(list(zip(*parts, strict=True)), index=frame.index)

    ref = reference.assign(_key=keyed(reference)).set_index("_key")
    ours_label = ours.attrs.get("label", "measured (this run)")
    paper_label = reference.attrs.get("label", "paper")
    if "seed" in ours.columns:  # replicates: one row per key, "mean ± std" cells
        from mailviz.replicates import mean_std

        group = list(dict.fromkeys([*index, *keys]))
        cells = mean_std(ours, group, metrics, decimals=decimals).reset_index()
        mine = cells.assign(_key=keyed(cells))
        table = mine.set_index(index)[metrics]
    else:
        mine = ours.assign(_key=keyed(ours))
        table = mine.set_index(index)[metrics].round(decimals)
    theirs = ref.reindex(index=mine["_key"], columns=metrics).round(decimals)
    theirs.index = table.index
    out = pd.concat({ours_label: table, paper_label: theirs}, axis=1)
    return out


def evaluate_models(
    models: dict[str, Any],
    dataset: Any,
    eps: float,
    plan: NonuniformPlan,
    *,
    restarts: int = 1,
    batch_size: int = 500,
    n: int | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Zeng et al.'s metrics for any ``{name: model}`` — the cached quick models or zoo checkpoints.

    For every model: ``A_rob``, ``A_sa`` and ``A_tr`` (eq. 17–19) at α_test ∈ {0} ∪
    ``plan.alphas_test`` (:func:`mailviz.evaluate.nonuniform_report`), the per-example importance
    weights s̃ at ``plan.hist_alphas`` (:func:`mailviz.evaluate.weight_distribution`, Figs. 5–7) and
    the clean accuracy. The attack is PGD-``plan.steps`` with ``plan.step_size(eps)``.

    Returns:
        ``(table, weights, nat)``: tidy frames with a ``model`` column.
    """
    from mailviz import evaluate

    if not models:
        raise ValueError("evaluate_models needs at least one model: pass {name: model}")
    alphas = (0.0, *(a for a in plan.alphas_test if a != 0.0))
    attack = dict(steps=plan.steps, step_size=plan.step_size(eps), restarts=restarts,
                  batch_size=batch_size, n=n, seed=seed)  # fmt: skip
    tables, weights, nats = [], [], []
    for name, model in models.items():
        tables.append(evaluate.nonuniform_report(model, dataset, eps, alphas, **attack)
                      .assign(model=name))  # fmt: skip
        weights.append(evaluate.weight_distribution(model, dataset, eps, plan.hist_alphas, **attack)
                       .assign(model=name))  # fmt: skip
        nats.append(evaluate.evaluate(model, dataset, ("nat",), n=n, batch_size=batch_size,
                                      model_name=name))  # fmt: skip
    return (pd.concat(tables, ignore_index=True), pd.concat(weights, ignore_index=True),
            pd.concat(nats, ignore_index=True))  # fmt: skip


def standin_tables(
    runs: Mapping[tuple[str, int], Any],
    dataset: Any,
    plan: NonuniformPlan,
    *,
    n: int | None = None,
    seed: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """:func:`evaluate_models`' three frames for trained models, from the cached attack runs.

    For ``{(label, seed): TrainedModel}`` (the quick stand-ins of notebook 08): the unweighted
    PGD run at ε_train and one weighted-PGD run per α_test come from :func:`attack_run` (the same
    cached runs as :func:`nonuniform_table`, so TRADES is attacked once for notebooks 04–08);
    attack seed: each model's training seed unless ``seed`` is given.

    Returns:
        ``(table, weights, nat)`` with a ``model`` (the label) and a ``seed`` column: ``table`` as
        :func:`mailviz.evaluate.nonuniform_report` (α_test ∈ {0} ∪ ``plan.alphas_test``),
        ``weights`` as :func:`mailviz.evaluate.weight_distribution` (``plan.hist_alphas``),
        ``nat`` with ``attack="nat"`` and ``value`` (%).
    """
    if not isinstance(runs, Mapping) or not runs:
        raise ValueError("runs must be a non-empty {(label, seed): TrainedModel} dict")
    alphas = (0.0, *(a for a in plan.alphas_test if a != 0.0))
    tables, weight_frames, nats = [], [], []
    for (label, s), t in runs.items():
        if not isinstance(getattr(t, "config", None), ExperimentConfig):
            raise ValueError(f"runs[{label!r}, {s}] must be a TrainedModel, got {type(t).__name__}")
        e = float(t.config.eps)
        step = plan.step_size(e)
        aseed = _attack_seed(t, seed)
        plain = attack_run(t, dataset, e, steps=plan.steps, step_size=step, n=n, seed=aseed)
        weighted = {a: attack_run(t, dataset, e, attack="weighted", alpha=a, steps=plan.steps,
                                  step_size=step, n=n, seed=aseed)
                    for a in alphas if a != 0.0}  # fmt: skip
        tables.append(nonuniform_metrics(plain, alphas, weighted).assign(
            model=label, seed=int(s), eps=e, attack="pgd", steps=plan.steps))  # fmt: skip
        margin = torch.tensor(plain["margin"].to_numpy(dtype=np.float64))
        for a in plan.hist_alphas:
            weight_frames.append(pd.DataFrame(dict(
                example=plain["example"].to_numpy(), alpha_test=float(a), eps=e,
                weight=weights.importance(margin, float(a)).numpy(),
                margin=plain["margin"].to_numpy(), correct=plain["correct"].to_numpy(),
                model=label, seed=int(s))))  # fmt: skip
        nat = attack_run(t, dataset, None, attack="nat", n=n, seed=aseed)
        nats.append(
            dict(
                model=label,
                seed=int(s),
                attack="nat",
                eps=0.0,
                metric="accuracy",
                value=100.0 * float(nat["correct"].to_numpy(dtype=bool).mean()),
            )
        )
    columns = ["model", "seed", "eps", "alpha_test", "A_rob", "A_sa", "A_tr", "attack", "steps"]
    table = pd.concat(tables, ignore_index=True)[columns]
    return table, pd.concat(weight_frames, ignore_index=True), pd.DataFrame(nats)
