"""Analyses behind the MAIL notebooks: path dependency of κ, PM vs MM, weights, results tables.

The other modules compute one thing each (an attack, a margin, a weight, an accuracy); the
questions of the MAIL appendix need a few of them put side by side. This module holds those
combinations, so the notebooks only call them:

* **Path dependency (notebook 01).** GAIRAT's least PGD steps
  ``κ_i = Σ_{t=0}^{K−1} 1[f(x_i^{(t)}) = y_i]`` counts how long a PGD path stays correct, so it
  depends on the start and the step size; MAIL's probabilistic margin
  ``PM_i = p_{y_i}(x′_i) − max_{j≠y_i} p_j(x′_i)`` (Def. 1) reads only the end point.
  :func:`kappa_pm_table` attacks one fixed set under several :class:`AttackSetting` s;
  :func:`rank_agreement` gives Spearman's ρ between every pair of settings, :func:`changed_fraction`
  the share of examples whose κ moves, :func:`path_dependency_summary` both measures at once;
  :func:`path_examples` and :func:`setting_paths` pick and replay a few paths for
  :func:`mailviz.plots.lps_paths`.
* **PM vs MM (notebook 02).** With ``j*`` the best other class and ``r = 1 − p_y − p_{j*}`` the
  probability left on the remaining classes, the two margins are tied by the identity

      ``PM = (1 − r) · tanh(MM / 2)``,  ``MM = f_y − max_{j≠y} f_j`` (MAIL appendix eq. 15),

  so they agree in sign and disagree in rank only through ``r`` and the saturation of tanh, i.e.
  through the scale of the logits. :func:`margin_table` returns every term per example
  (:func:`adversarial_margins` for a PGD-attacked set), :func:`margin_disagreement` the sign and
  rank statistics, :func:`pm_envelope` the ``r = 0`` curve, and :func:`scale_sweep` what a
  rescaling of the logits does to MAIL's sigmoid weights on either margin.
* **Training weights (notebook 06).** :func:`objective_weights` runs a method's own
  :class:`~mailviz.objectives.Objective` (without a backward pass) over a data set and returns
  the per-example weights ``ω`` it assigns to the adversarial examples: nothing re-implemented.
  :func:`weight_summary` says how concentrated they are (effective sample size, share of the
  weight mass on misclassified examples).
* **Results tables (notebooks 02 and 06).** :func:`mail_table_specs` lists the rows of MAIL's
  Tables 4–7, :func:`train_specs` trains (or loads) them for every replicate seed (one cache for
  all notebooks and :func:`mailviz.catalogue.prepare`), :func:`per_example_runs` attacks them
  with the profile's :func:`evaluation_plan` and keeps every example's result (cached next to
  each model; :mod:`mailviz.claims` needs the pairs), :func:`accuracies` / :func:`evaluate_runs`
  give the table's numbers, :func:`summarize` numeric mean ± std over replicates, and
  :func:`paper_columns` the seeds' published numbers for :func:`mailviz.plots.results_table`.
  Whether a difference is real is :mod:`mailviz.claims`' question.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from mailviz import attacks, margins, objectives

__all__ = [
    "METHOD_LABELS",
    "ATTACK_LOSS_LABELS",
    "AttackSetting",
    "path_settings",
    "kappa_pm_table",
    "cached_kappa_pm_table",
    "rank_agreement",
    "mean_rank_agreement",
    "changed_fraction",
    "path_dependency_summary",
    "margin_table",
    "pm_envelope",
    "envelope_curve",
    "path_examples",
    "setting_paths",
    "margin_disagreement",
    "adversarial_logits",
    "adversarial_margins",
    "scale_sweep",
    "objective_weights",
    "weights_by",
    "weight_summary",
    "EvaluationPlan",
    "evaluation_plan",
    "RunSpec",
    "MAIL_TABLES",
    "mail_table_specs",
    "train_specs",
    "weights_of_runs",
    "cached_objective_weights",
    "per_example_runs",
    "evaluate_runs",
    "accuracies",
    "summarize",
    "paper_columns",
]

#: Display names of the methods, as in MAIL's tables.
METHOD_LABELS: dict[str, str] = {
    "clean": "clean",
    "at": "AT",
    "trades": "TRADES",
    "mart": "MART",
    "fat": "FAT",
    "awp": "AWP",
    "gairat": "GAIRAT",
    "mail_at": "MAIL-AT",
    "mail_trades": "MAIL-TRADES",
    "mail_mart": "MAIL-MART",
    "weighted_at": "PGD+ours (Zeng)",
    "weighted_trades": "TRADES+ours (Zeng)",
}
#: Row names of MAIL's Table 7 for the training attack's loss.
ATTACK_LOSS_LABELS: dict[str, str] = {"ce": "PGD", "cw": "CW", "kl": "KL"}


# --------------------------------------------------------------------------------------------
# Path dependency: κ and PM of one fixed set under several attack settings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttackSetting:
    """One attack configuration of the path-dependency study.

    Attributes:
        name: label used in frames and figures.
        steps: K, the number of iterations (κ ∈ {0..K}).
        step_size: α of PGD's signed step (pixel scale); ignored by LM-PGD.
        start: ``"uniform"`` (δ ~ U(−ε, ε)), ``"normal"`` or ``"none"``.
        seed: seed of the generator that draws the random start (same seed → same start).
        lm: LM-PGD (MAIL appendix eq. 12–14) instead of PGD; its κ is counted along its path.
    """

    name: str
    steps: int = 10
    step_size: float | None = None
    start: str = "uniform"
    seed: int = 0
    lm: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"steps must be an integer >= 1, got {self.steps!r} — e.g. 10")
        if not self.lm and (self.step_size is None or not self.step_size > 0):
            raise ValueError(
                f"{self.name}: PGD needs a step_size > 0, got {self.step_size!r} — e.g. eps/4"
            )
        if self.start not in attacks.STARTS:
            raise ValueError(f"unknown start {self.start!r}; valid: {', '.join(attacks.STARTS)}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")


def path_settings(eps: float, steps: int = 10) -> list[AttackSetting]:
    """The five settings of notebook 01: PGD-K at three step sizes and two starts, and LM-PGD-K.

    ``α = ε/4`` with start A is the training attack of the profiles (the reference); then a new
    random start B, a half and a double step size from start A, and LM-PGD from start A.

    Example:
        >>> [s.name for s in path_settings(0.2)][:2]
        ['PGD α=ε/4, start A', 'PGD α=ε/4, start B']
    """
    if not 0 < eps <= 1:
        raise ValueError(f"eps must be in (0, 1], got {eps!r} — e.g. eps=0.2 (quick profile)")
    return [
        AttackSetting("PGD α=ε/4, start A", steps, eps / 4, seed=0),
        AttackSetting("PGD α=ε/4, start B", steps, eps / 4, seed=1),
        AttackSetting("PGD α=ε/8, start A", steps, eps / 8, seed=0),
        AttackSetting("PGD α=ε/2, start A", steps, eps / 2, seed=0),
        AttackSetting("LM-PGD, start A", steps, None, seed=0, lm=True),
    ]


def _device_of(model: nn.Module) -> torch.device:
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


def _as_xy(data: Any) -> tuple[Tensor, Tensor]:
    """An ImageDataset (``.x``/``.y``) or an ``(x, y)`` pair as two tensors."""
    if hasattr(data, "x") and hasattr(data, "y"):
        return data.x, data.y
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return torch.as_tensor(data[0]), torch.as_tensor(data[1])
    raise ValueError(
        f"data must be an ImageDataset (mailviz.data.load_dataset) or an (x, y) pair, "
        f"got {type(data).__name__}"
    )


def _check_batch_size(batch_size: object) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r} — e.g. 500")
    return batch_size


def _subset(data: Any, n: int | None) -> tuple[Tensor, Tensor]:
    """The first ``n`` examples (all for ``None``) of an ImageDataset or ``(x, y)`` pair."""
    x_all, y_all = _as_xy(data)
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an integer >= 1 or None, got {n!r}")
        x_all, y_all = x_all[:n], y_all[:n]
    return x_all, y_all


def _run_setting(
    model: nn.Module,
    x_all: Tensor,
    y_all: Tensor,
    eps: float,
    setting: AttackSetting,
    batch_size: int,
    record: bool,
) -> list[tuple[Tensor, attacks.AttackResult]]:
    """Attack ``x_all`` batch by batch under ``setting``; one generator per setting, so the
    random starts (and hence every result) depend only on the setting, the data and the batch
    size — :func:`kappa_pm_table` and :func:`setting_paths` see the same runs."""
    device = _device_of(model)
    gen = torch.Generator(device=device).manual_seed(setting.seed)
    out = []
    for start in range(0, len(y_all), batch_size):
        x = x_all[start : start + batch_size].to(device)
        y = y_all[start : start + batch_size].to(device)
        if setting.lm:  # κ of LM-PGD needs the predictions along its path
            res = attacks.lm_pgd(
                model, x, y, eps, steps=setting.steps, start=setting.start, record=True,
                generator=gen, return_result=True,
            )  # fmt: skip
        else:
            res = attacks.pgd(
                model, x, y, eps, setting.step_size, setting.steps, start=setting.start,
                record=record, generator=gen, return_result=True,
            )  # fmt: skip
        assert isinstance(res, attacks.AttackResult) and res.logits is not None
        out.append((y, res))
    return out


def _kappa(y: Tensor, res: attacks.AttackResult) -> Tensor:
    if res.kappa is not None:
        return res.kappa
    assert res.path_pred is not None
    return margins.kappa_from_predictions(res.path_pred[:-1], y)


def _check_settings(settings: Sequence[AttackSetting]) -> list[AttackSetting]:
    settings = list(settings)
    if not settings or not all(isinstance(s, AttackSetting) for s in settings):
        raise ValueError("settings must be a non-empty list of AttackSetting (see path_settings)")
    names = [s.name for s in settings]
    if len(set(names)) != len(names):
        raise ValueError(f"setting names must be unique, got {names}")
    return settings


def kappa_pm_table(
    model: nn.Module,
    data: Any,
    eps: float,
    settings: Sequence[AttackSetting],
    *,
    n: int | None = None,
    batch_size: int = 500,
) -> pd.DataFrame:
    """κ, PM and MM of the same examples under each attack setting (MAIL §3's path dependency).

    For every setting the examples are attacked in batches (the model in eval mode) and

    * ``kappa``: GAIRAT's ``κ_i = Σ_{t=0}^{K−1} 1[f(x_i^{(t)}) = y_i]`` over the iterates the
      attack visited (``AttackResult.kappa`` for PGD; for LM-PGD,
      :func:`mailviz.margins.kappa_from_predictions` on its path — what GAIRAT's rule gives
      there);
    * ``pm``: ``p_y(x′) − max_{j≠y} p_j(x′)`` at the final iterate ``x′ = x^{(K)}`` (Def. 1);
    * ``mm``: ``f_y(x′) − max_{j≠y} f_j(x′)`` at ``x′`` (eq. 15);
    * ``correct``: ``f(x′)`` predicts ``y``.

    Each setting draws its random starts from a generator seeded with its ``seed``, so two
    settings with the same seed and ``start`` start every example from the same point.

    Args:
        model: classifier on inputs in [0, 1].
        data: ImageDataset or ``(x, y)`` pair; the first ``n`` examples are used.
        eps: L∞ budget.
        settings: the attack settings (:func:`path_settings`).
        n: number of examples (``None``: all).
        batch_size: examples attacked at once (part of what fixes the random starts).

    Returns:
        Tidy frame, one row per (setting, example): ``setting, example, label, kappa, steps,
        pm, mm, correct``.

    Example:
        >>> frame = kappa_pm_table(model, test, 0.2, path_settings(0.2))  # doctest: +SKIP
        >>> rank_agreement(frame, "kappa")  # doctest: +SKIP
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    settings = _check_settings(settings)
    batch_size = _check_batch_size(batch_size)
    x_all, y_all = _subset(data, n)
    frames = []
    for setting in settings:
        runs = _run_setting(model, x_all, y_all, eps, setting, batch_size, record=False)
        logits = torch.cat([res.logits.float().cpu() for _, res in runs])  # type: ignore[union-attr]
        frames.append(
            pd.DataFrame(
                dict(
                    setting=setting.name,
                    example=np.arange(len(y_all)),
                    label=y_all.cpu().numpy(),
                    kappa=torch.cat([_kappa(y, res).cpu() for y, res in runs]).numpy(),
                    steps=setting.steps,
                    pm=margins.probabilistic_margin(logits, y_all.cpu()).double().numpy(),
                    mm=margins.logit_margin(logits, y_all.cpu()).double().numpy(),
                    correct=(logits.argmax(dim=1) == y_all.cpu()).numpy(),
                )
            )
        )
    return pd.concat(frames, ignore_index=True)


def cached_kappa_pm_table(
    run: Any,
    data: Any,
    settings: Sequence[AttackSetting],
    *,
    n: int | None = None,
    batch_size: int = 500,
    cache: bool = True,
) -> pd.DataFrame:
    """:func:`kappa_pm_table` of a trained run, stored in its run directory.

    The key holds the model's config hash, every setting (name, steps, step size, start, seed,
    LM-PGD), the data and ``n``, ``batch_size`` (which fix the random starts), so a lesson and
    :func:`mailviz.catalogue.prepare` share the result.
    """
    from dataclasses import asdict

    from mailviz import evaluate
    from mailviz.config import config_hash

    settings = _check_settings(settings)
    key = dict(kind="kappa_pm", model=config_hash(run.config), n=n, batch_size=batch_size,
               settings=[asdict(s) for s in settings], data=getattr(data, "name", "pair"),
               split=getattr(data, "split", None), size=len(_as_xy(data)[1]))  # fmt: skip

    def compute() -> pd.DataFrame:
        return kappa_pm_table(run.model, data, run.config.eps, settings, n=n,
                              batch_size=batch_size)  # fmt: skip

    if cache and getattr(run, "path", None) is not None:
        return evaluate.cached_eval(key, compute, root=run.path, name="kappa-pm")
    return compute()


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


def setting_paths(
    model: nn.Module,
    data: Any,
    eps: float,
    setting: AttackSetting,
    examples: Sequence[int],
    *,
    n: int | None = None,
    batch_size: int = 500,
) -> dict[str, Any]:
    """The recorded paths of ``examples`` in exactly the run :func:`kappa_pm_table` made.

    The whole (first ``n`` of the) set is attacked again with the same batching and generator,
    so the random starts — and κ — are those of the table; then the requested examples are
    picked out. Arguments for :func:`mailviz.plots.lps_paths`.

    Returns:
        dict with ``x`` ``[k, ...]``, ``y`` ``[k]``, ``path`` ``[K+1, k, ...]``, ``path_pred``
        ``[K+1, k]``, ``kappa`` ``[k]``, ``pm`` ``[k]`` (at ``x^{(K)}``) and ``eps``.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    (setting,) = _check_settings([setting])
    batch_size = _check_batch_size(batch_size)
    x_all, y_all = _subset(data, n)
    index = torch.as_tensor(list(examples), dtype=torch.long)
    if index.numel() == 0 or int(index.min()) < 0 or int(index.max()) >= len(y_all):
        raise ValueError(f"examples must be indices in [0, {len(y_all) - 1}], got {list(examples)}")
    runs = _run_setting(model, x_all, y_all, eps, setting, batch_size, record=True)
    path = torch.cat([res.path.cpu() for _, res in runs], dim=1)  # type: ignore[union-attr]
    path_pred = torch.cat([res.path_pred.cpu() for _, res in runs], dim=1)  # type: ignore[union-attr]
    kappa = torch.cat([_kappa(y, res).cpu() for y, res in runs])
    logits = torch.cat([res.logits.float().cpu() for _, res in runs])  # type: ignore[union-attr]
    y_cpu = y_all.cpu()
    return dict(
        x=x_all.cpu()[index],
        y=y_cpu[index],
        path=path[:, index],
        path_pred=path_pred[:, index],
        kappa=kappa[index],
        pm=margins.probabilistic_margin(logits, y_cpu)[index],
        eps=eps,
    )


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


# --------------------------------------------------------------------------------------------
# PM vs MM
# --------------------------------------------------------------------------------------------


def margin_table(logits: Tensor, y: Tensor) -> pd.DataFrame:
    """Per example: PM, MM, the rest mass ``r`` and the logit scale, with PM rebuilt from MM.

    ``PM = p_y − p_{j*}`` (Def. 1), ``MM = f_y − f_{j*}`` (eq. 15) with the same best other class
    ``j*`` (softmax is monotone), ``rest = r = 1 − p_y − p_{j*}`` and ``pm_from_mm =
    (1 − r)·tanh(MM/2)``, which equals PM exactly: ``p_y − p_{j*} = (p_y + p_{j*})·(e^{MM} −
    1)/(e^{MM} + 1)``. ``logit_scale`` is the standard deviation of the example's logits.

    Args:
        logits: ``[B, K]``; y: ``[B]``.

    Returns:
        Frame with columns ``label, pm, mm, rest, pm_from_mm, logit_scale, correct``.

    Shape:
        ``logits [B, K]``, ``y [B]`` → ``B`` rows.

    Example:
        >>> t = margin_table(torch.tensor([[2.0, 0.0, 0.0]]), torch.tensor([0]))
        >>> round(float(t["pm"][0]), 4) == round(float(t["pm_from_mm"][0]), 4)
        True
    """
    logits = logits.detach().double().cpu()
    y = y.detach().cpu()
    pm = margins.probabilistic_margin(logits, y).double()
    mm = margins.logit_margin(logits, y).double()
    probs = torch.softmax(logits, dim=1)
    p_true = probs.gather(1, y.view(-1, 1)).squeeze(1)
    p_other = probs.scatter(1, y.view(-1, 1), -1.0).amax(dim=1)
    rest = (1.0 - p_true - p_other).clamp_min(0.0)
    frame = pd.DataFrame(
        dict(
            label=y.numpy(),
            pm=pm.numpy(),
            mm=mm.numpy(),
            rest=rest.numpy(),
            pm_from_mm=((1.0 - rest) * torch.tanh(mm / 2.0)).numpy(),
            logit_scale=logits.std(dim=1).numpy(),
            correct=(logits.argmax(dim=1) == y).numpy(),
        )
    )
    return frame


def pm_envelope(mm: Any) -> np.ndarray:
    """``tanh(MM/2)``: the PM an example with logit margin MM has when ``r = 0`` (two classes).

    Every example lies between this curve and 0 (``PM = (1 − r)·tanh(MM/2)``).

    Example:
        >>> float(pm_envelope(0.0))
        0.0
    """
    return np.tanh(np.asarray(mm, dtype=float) / 2.0)


def envelope_curve(mm: Any, points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """``(grid, tanh(grid/2))`` over the range of ``mm``, to draw :func:`pm_envelope` on a plot."""
    values = np.asarray(mm, dtype=float).ravel()
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError("mm must be a non-empty array of finite logit margins")
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise ValueError(f"points must be an integer >= 2, got {points!r}")
    grid = np.linspace(values.min(), values.max(), points)
    return grid, pm_envelope(grid)


def margin_disagreement(frame: pd.DataFrame) -> pd.Series:
    """How PM and MM of the same examples agree: in sign, in rank, and where pairs swap.

    From a :func:`margin_table` frame:

    * ``sign_agreement``: share of examples where ``sign(PM) = sign(MM)`` (1 by the identity);
    * ``spearman``, ``kendall_tau``: rank agreement over all examples;
    * ``discordant_pairs``: share of example pairs that PM and MM put in opposite order, and the
      same among correctly classified (``discordant_correct``) and misclassified
      (``discordant_misclassified``) pairs. By the identity a pair can only swap when the example
      with the larger |MM| has the larger rest mass ``r``;
    * ``mean_rest``: mean of ``r = 1 − p_y − p_{j*}`` — how far below ``tanh(MM/2)`` PM sits;
    * ``identity_error``: ``max |PM − (1 − r)·tanh(MM/2)|``.

    Example:
        >>> table = margin_table(torch.randn(50, 2), torch.randint(0, 2, (50,)))
        >>> float(margin_disagreement(table)["discordant_pairs"])  # two classes: r = 0
        0.0
    """
    from scipy.stats import kendalltau, spearmanr

    for column in ("pm", "mm", "rest", "pm_from_mm", "correct"):
        if column not in frame.columns:
            raise ValueError(f"frame needs column {column!r}; build it with margin_table")
    pm, mm = frame["pm"].to_numpy(float), frame["mm"].to_numpy(float)
    if pm.size < 3:
        raise ValueError(f"need at least 3 examples to compare rankings, got {pm.size}")
    correct = frame["correct"].to_numpy(bool)

    def discordant(sel: np.ndarray) -> float:
        p, q = pm[sel], mm[sel]
        if p.size < 2:
            return math.nan
        swap = np.sign(p[:, None] - p[None, :]) != np.sign(q[:, None] - q[None, :])
        return float(swap[np.triu_indices(p.size, k=1)].mean())

    everyone = np.ones(pm.size, dtype=bool)
    return pd.Series(
        dict(
            n=float(pm.size),
            sign_agreement=float((np.sign(pm) == np.sign(mm)).mean()),
            spearman=float(spearmanr(pm, mm).statistic),
            kendall_tau=float(kendalltau(pm, mm).statistic),
            discordant_pairs=discordant(everyone),
            discordant_correct=discordant(correct),
            discordant_misclassified=discordant(~correct),
            mean_rest=float(frame["rest"].mean()),
            identity_error=float(np.abs(pm - frame["pm_from_mm"].to_numpy(float)).max()),
        )
    )


def adversarial_logits(
    model: nn.Module,
    data: Any,
    eps: float,
    *,
    steps: int = 20,
    step_size: float | None = None,
    n: int | None = None,
    batch_size: int = 500,
    seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """Logits ``f(x′)`` (eval mode, CPU) of the PGD-``steps`` adversarial examples, and labels.

    PGD on the cross-entropy from a uniform start (:func:`mailviz.attacks.pgd`, eq. 11) with
    ``step_size`` (default ``ε/4``), in batches, random starts from a generator seeded with
    ``seed``.

    Returns:
        ``(logits [N, classes], labels [N])``.

    Shape:
        ``data`` of ``N`` examples (first ``n``) → ``[N, classes]``, ``[N]``.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    batch_size = _check_batch_size(batch_size)
    x_all, y_all = _subset(data, n)
    device = _device_of(model)
    gen = torch.Generator(device=device).manual_seed(seed)
    step = eps / 4 if step_size is None else step_size
    logits = []
    for start in range(0, len(y_all), batch_size):
        x = x_all[start : start + batch_size].to(device)
        y = y_all[start : start + batch_size].to(device)
        res = attacks.pgd(model, x, y, eps, step, steps, generator=gen, return_result=True)
        assert isinstance(res, attacks.AttackResult) and res.logits is not None
        logits.append(res.logits.float().cpu())
    return torch.cat(logits), y_all.cpu()


def adversarial_margins(model: nn.Module, data: Any, eps: float, **kwargs: Any) -> pd.DataFrame:
    """:func:`margin_table` of :func:`adversarial_logits` (same arguments), plus ``example``.

    PM and MM are read from the *same* logits ``f(x′)``, so every difference between them is a
    difference of the margins, not of the attack.
    """
    frame = margin_table(*adversarial_logits(model, data, eps, **kwargs))
    frame.insert(0, "example", np.arange(len(frame)))
    return frame


def scale_sweep(
    logits: Tensor,
    y: Tensor,
    temperatures: Sequence[float] = (0.5, 1.0, 2.0, 4.0),
    *,
    gamma: float = 2.0,
    beta: float = 0.0,
) -> pd.DataFrame:
    """What a rescaling of the logits ``f → T·f`` does to PM, MM and MAIL's sigmoid weights.

    For each ``T`` and margin (PM, MM) of the logits ``T·f``: the spread of the margin (5th and
    95th percentile), its Spearman ρ with the same margin at ``T = 1`` (MM's ranking is invariant:
    it scales linearly), and the weights ``w = sigmoid(−γ(m − β))`` normalised over the whole set
    (``ω = N·w/Σw``, Alg. 2–4 lines 9–11 with the set as the batch): effective sample size
    ``(Σω)²/(N·Σω²)`` and share of the weight on misclassified examples. The rescaling is what
    training does to the logits' scale; a margin whose weights swing with it makes ``γ, β`` mean
    different things at different times.

    Returns:
        One row per (T, margin): ``temperature, margin, p05, p95, spearman_vs_T1, ess,
        weight_on_misclassified``.

    Example:
        >>> sweep = scale_sweep(torch.randn(100, 10), torch.randint(0, 10, (100,)))
        >>> bool((sweep[sweep.margin == "MM"]["spearman_vs_T1"] > 0.999).all())
        True
    """
    from scipy.stats import spearmanr

    from mailviz import weights

    temps = [float(t) for t in temperatures]
    if not temps or not all(t > 0 and math.isfinite(t) for t in temps):
        raise ValueError(f"temperatures must be finite and > 0, got {list(temperatures)}")
    logits = logits.detach().double().cpu()
    y = y.detach().cpu()
    wrong = (logits.argmax(dim=1) != y).numpy()
    base = {
        "PM": margins.probabilistic_margin(logits, y).double().numpy(),
        "MM": margins.logit_margin(logits, y).double().numpy(),
    }
    rows = []
    for t in temps:
        scaled = t * logits
        for name, fn in (("PM", margins.probabilistic_margin), ("MM", margins.logit_margin)):
            m = fn(scaled, y).double()
            omega = weights.normalize(weights.sigmoid(m, gamma, beta), "batch").numpy()
            values = m.numpy()
            rows.append(
                dict(
                    temperature=t,
                    margin=name,
                    p05=float(np.quantile(values, 0.05)),
                    p95=float(np.quantile(values, 0.95)),
                    spearman_vs_T1=float(spearmanr(values, base[name]).statistic),
                    ess=float(omega.sum() ** 2 / (len(omega) * (omega**2).sum())),
                    weight_on_misclassified=float(omega[wrong].sum() / omega.sum()),
                )
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# The weights a training objective assigns
# --------------------------------------------------------------------------------------------


def objective_weights(
    model: nn.Module,
    config: Any,
    data: Any,
    *,
    epoch: int | None = None,
    n: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """The per-example weights ``ω_i`` that ``config``'s training objective gives ``data``.

    Builds the method's :class:`~mailviz.objectives.Objective`
    (:func:`mailviz.objectives.build_objective`) and calls its ``loss`` on mini-batches of
    ``batch_size`` (default: the config's) exactly as a training step at ``epoch`` would —
    training attack, train-mode forward, weights — but under ``torch.no_grad()`` and on a copy of
    the model, so there is no backward pass, no optimiser step, and the model (BatchNorm
    statistics, AWP's weight perturbation) is left untouched. ``ω`` is the objective's
    ``stats["weight"]``: MAIL's ``M·w_i/Σ_j w_j`` (Alg. 2–4 lines 9–11), GAIRAT's mean-one
    tanh weights of κ, Zeng's unnormalised ``exp(−α·PM)``, and 1 for unweighted methods.
    Batch normalisation of ω is over each mini-batch, as in training (taken in the data's
    order, not shuffled).

    Args:
        model: the trained network.
        config: the :class:`~mailviz.config.ExperimentConfig` it was trained with.
        data: ImageDataset or ``(x, y)`` pair (usually the training split).
        epoch: 0-based epoch the objective acts at; default the last (``config.epochs − 1``),
            i.e. after burn-in.
        n: first ``n`` examples only.
        batch_size: mini-batch size; default ``config.batch_size``.
        seed: seeds the attack's random starts.

    Returns:
        Frame with columns ``method, example, label, weight, margin`` (PM of ``x′``),
        ``correct`` (``x′`` classified correctly) and ``kappa`` (GAIRAT; −1 otherwise).

    Example:
        >>> run = experiments.train_method("mail_at")  # doctest: +SKIP
        >>> objective_weights(run.model, run.config, load_dataset("digits"))  # doctest: +SKIP
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    if not hasattr(config, "method") or not hasattr(config, "epochs"):
        raise ValueError(
            f"config must be an ExperimentConfig (e.g. run.config), got {type(config).__name__}"
        )
    epoch = config.epochs - 1 if epoch is None else epoch
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch < config.epochs:
        raise ValueError(f"epoch must be an integer in [0, {config.epochs - 1}], got {epoch!r}")
    batch_size = _check_batch_size(config.batch_size if batch_size is None else batch_size)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    x_all, y_all = _subset(data, n)
    device = _device_of(model)
    objective = objectives.build_objective(
        config, generator=torch.Generator(device=device).manual_seed(seed)
    )
    net = copy.deepcopy(model)
    columns: dict[str, list[Tensor]] = {"weight": [], "margin": [], "correct": [], "kappa": []}
    for start in range(0, len(y_all), batch_size):
        x = x_all[start : start + batch_size].to(device)
        y = y_all[start : start + batch_size].to(device)
        with torch.no_grad():
            out = objective.loss(net, x, y, epoch=epoch)
        objective.after_step(net)  # AWP: remove the weight perturbation of this "step"
        stats = out.stats
        columns["weight"].append(stats["weight"].float().cpu())
        columns["margin"].append(stats["margin"].double().cpu())
        columns["correct"].append(stats["correct"].cpu())
        columns["kappa"].append(stats.get("kappa", torch.full_like(y, -1)).long().cpu())
    return pd.DataFrame(
        dict(
            method=config.method,
            example=np.arange(len(y_all)),
            label=y_all.cpu().numpy(),
            **{k: torch.cat(v).numpy() for k, v in columns.items()},
        )
    )


def weights_by(
    items: Mapping[str, tuple[nn.Module, Any]],
    data: Any,
    *,
    column: str = "variant",
    **kwargs: Any,
) -> pd.DataFrame:
    """:func:`objective_weights` for several ``(model, config)`` pairs, stacked.

    ``items`` maps a name (the new ``column``) to a model and the config whose objective weighs
    it: the same model under two objectives (PM vs MM) or each method's own model. ``kwargs`` go
    to :func:`objective_weights` (``seed``, ``n``, ``epoch``...).
    """
    if not items:
        raise ValueError("items must map at least one name to a (model, config) pair")
    frames = []
    for name, pair in items.items():
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise ValueError(f"items[{name!r}] must be a (model, config) pair, got {type(pair)}")
        model, config = pair
        frames.append(objective_weights(model, config, data, **kwargs).assign(**{column: name}))
    return pd.concat(frames, ignore_index=True)


def weight_summary(frame: pd.DataFrame, by: str = "method") -> pd.DataFrame:
    """How concentrated the weights ``ω`` of each group are (rows of :func:`objective_weights`).

    Columns: ``mean``, ``std``, ``min``, ``max`` of ω; ``ess`` — the effective sample size as a
    share of the set, ``(Σω)² / (N·Σω²)`` (1 for uniform weights, 1/N when one example carries
    everything); ``zero_weight`` — share of examples with ω = 0; ``misclassified`` — share of
    examples whose ``x′`` is misclassified; ``weight_on_misclassified`` — their share of the
    weight mass ``Σ_{wrong} ω / Σ ω`` (equal to ``misclassified`` under uniform weights).

    Example:
        >>> frame = pd.DataFrame(dict(method="m", weight=[2.0, 0.0], correct=[False, True]))
        >>> weight_summary(frame).loc["m", ["ess", "weight_on_misclassified"]].tolist()
        [0.5, 1.0]
    """
    for column in (by, "weight", "correct"):
        if column not in frame.columns:
            raise ValueError(f"frame needs column {column!r}; build it with objective_weights")
    rows = []
    for key, group in frame.groupby(by, sort=False):
        w = group["weight"].to_numpy(float)
        wrong = ~group["correct"].to_numpy(bool)
        total = w.sum()
        rows.append(
            {
                by: key,
                "mean": float(w.mean()),
                "std": float(w.std()),
                "min": float(w.min()),
                "max": float(w.max()),
                "ess": float(total**2 / (len(w) * (w**2).sum())) if total > 0 else math.nan,
                "zero_weight": float((w == 0).mean()),
                "misclassified": float(wrong.mean()),
                "weight_on_misclassified": float(w[wrong].sum() / total) if total > 0 else math.nan,
            }
        )
    return pd.DataFrame(rows).set_index(by)


# --------------------------------------------------------------------------------------------
# Profiles: evaluation protocol
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationPlan:
    """The attacks of a results table and how many test examples each sees.

    Attributes:
        attacks: attack specs (:data:`mailviz.evaluate.ATTACK_GRAMMAR`).
        n: test examples for NAT/PGD (``None``: all).
        aa_n: test examples for AutoAttack (the first ``aa_n``; ``None``: all).
        note: one line for the table captions.
    """

    attacks: tuple[str, ...]
    n: int | None
    aa_n: int | None
    note: str


#: AutoAttack budget of the small profiles: the first QUICK_AA_N test examples.
QUICK_AA_N = 270


def evaluation_plan(profile: str) -> EvaluationPlan:
    """NAT, PGD-20 and AutoAttack as in MAIL's tables, scaled to the profile.

    * ``paper``: NAT and PGD-20 on the whole test set, standard AutoAttack on the first 1,000
      test images (the authors' protocol);
    * the small profiles: the fast AutoAttack screen (APGD-CE + APGD-T, 50 iterations —
      *not* comparable with published AA numbers) on the first :data:`QUICK_AA_N` examples.

    Example:
        >>> evaluation_plan("paper").attacks
        ('nat', 'pgd20', 'aa')
    """
    from mailviz.config import PROFILES, ConfigError

    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; valid: {', '.join(PROFILES)}")
    if profile == "paper":
        return EvaluationPlan(
            ("nat", "pgd20", "aa"), None, 1000,
            "NAT and PGD-20 on the whole test set; standard AutoAttack on the first 1,000",
        )  # fmt: skip
    return EvaluationPlan(
        ("nat", "pgd20", "aa-fast"), None, QUICK_AA_N,
        f"NAT and PGD-20 on the whole test set; fast AutoAttack screen (APGD-CE + APGD-T, 50 "
        f"iterations; not comparable with published AA) on the first {QUICK_AA_N} test examples",
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Training grids and results tables
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSpec:
    """One row of a results table: a method with its training-attack loss and parameters.

    ``label`` names the row (unique within a grid); ``method``, ``attack_loss``, ``params`` and
    ``overrides`` (other :class:`~mailviz.config.ExperimentConfig` fields, e.g.
    ``{"cw_confidence": 50.0}``) go to :func:`mailviz.experiments.train_method`; ``tags`` become
    extra columns of :func:`evaluate_runs`' frame (e.g. ``{"objective": "AT", "perturbation":
    "CW"}`` for Table 7's layout).
    """

    label: str
    method: str
    attack_loss: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in objectives.METHODS:
            raise ValueError(
                f"unknown method {self.method!r}; valid: {', '.join(objectives.METHODS)}"
            )

    def config(self, profile: str, seed: int, device: str = "auto", **extra: Any) -> Any:
        """Its :class:`~mailviz.config.ExperimentConfig` (the cache key of its model);
        ``extra`` config fields go on top of :attr:`overrides`."""
        from mailviz import experiments

        return experiments.method_config(
            self.method, profile, seed=int(seed), device=device, attack_loss=self.attack_loss,
            params=dict(self.params), **{**dict(self.overrides), **extra},
        )  # fmt: skip


#: The experiment grids of MAIL's appendix tables that :func:`mail_table_specs` knows.
MAIL_TABLES: tuple[str, ...] = ("table4", "table5", "table6", "table7", "table7_cw50")


def mail_table_specs(table: str) -> list[RunSpec]:
    """The rows of one of MAIL's appendix tables as :class:`RunSpec` s (labels as in the paper).

    * ``table4``: AT, TRADES, MART, FAT, AWP, GAIRAT, MAIL-AT, MAIL-TRADES (method defaults);
    * ``table5``: MAIL-TRADES with ``margin`` PM (default) and MM (eq. 15);
    * ``table6``: MAIL-TRADES with ``weight_fn`` hinge, step (α = 0.2) and sigmoid (default);
    * ``table7``: MAIL-AT and MAIL-TRADES with the training perturbation from PGD (CE), CW and
      KL; tags ``objective`` (AT / TRADES) and ``perturbation`` (PGD / CW / KL);
    * ``table7_cw50``: the two CW rows of Table 7 retrained with the CW attack's confidence
      κ_c = 50 (``cw_confidence``, MAIL's evaluation CW), labelled ``"MAIL-AT, CW, κ_c=50"``.

    A row that uses a method's own default (sigmoid, PM, MAIL-AT's CE, MAIL-TRADES' KL) passes no
    override, so it is the *same* cached model as the default run in every other table.

    Example:
        >>> [s.label for s in mail_table_specs("table6")]
        ['hinge', 'step', 'sigmoid']
    """
    if table not in MAIL_TABLES:
        raise ValueError(f"unknown table {table!r}; valid: {', '.join(MAIL_TABLES)}")
    if table == "table4":
        methods = ("at", "trades", "mart", "fat", "awp", "gairat", "mail_at", "mail_trades")
        return [RunSpec(METHOD_LABELS[m], m) for m in methods]
    if table == "table5":
        return [RunSpec("PM", "mail_trades"), RunSpec("MM", "mail_trades", params={"margin": "mm"})]
    if table == "table6":
        return [
            RunSpec("hinge", "mail_trades", params={"weight_fn": "hinge"}),
            RunSpec("step", "mail_trades", params={"weight_fn": "step"}),
            RunSpec("sigmoid", "mail_trades"),
        ]
    if table == "table7_cw50":
        return [
            RunSpec(f"{s.label}, κ_c=50", s.method, s.attack_loss, tags=dict(s.tags),
                    overrides={"cw_confidence": 50.0})
            for s in mail_table_specs("table7") if s.tags["perturbation"] == "CW"
        ]  # fmt: skip
    specs = []
    for method, objective in (("mail_at", "AT"), ("mail_trades", "TRADES")):
        own = objectives.default_attack_loss(method)
        for loss in ("ce", "cw", "kl"):
            name = ATTACK_LOSS_LABELS[loss]
            specs.append(
                RunSpec(
                    f"MAIL-{objective}, {name}", method, None if loss == own else loss,
                    tags={"objective": objective, "perturbation": name},
                )  # fmt: skip
            )
    return specs


def train_specs(
    specs: Iterable[RunSpec],
    profile: str,
    seeds: Sequence[int],
    *,
    device: str = "auto",
    progress: bool = False,
    **overrides: Any,
) -> dict[tuple[str, int], Any]:
    """Train (or load from the shared cache) every spec for every seed (replicate).

    Each model comes from :func:`mailviz.train.train` on :meth:`RunSpec.config`, so the same
    (method, loss, params, overrides, seed, profile) is the same cached model in every notebook
    and in :func:`mailviz.catalogue.prepare`. ``overrides`` (other config fields, e.g.
    ``epochs=1`` in a test) apply to every spec.

    Returns:
        ``{(label, seed): TrainedModel}`` in spec-then-seed order.

    Example:
        >>> runs = train_specs(mail_table_specs("table6"), "quick", [0, 1, 2])  # doctest: +SKIP
    """
    from mailviz.train import train

    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed, e.g. seeds=[0, 1, 2]")
    specs = list(specs)
    labels = [spec.label for spec in specs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"spec labels must be unique (they name the table rows), got {labels}")
    runs: dict[tuple[str, int], Any] = {}
    for spec in specs:
        for seed in seeds:
            runs[(spec.label, int(seed))] = train(spec.config(profile, seed, device, **overrides),
                                                  progress=progress)  # fmt: skip
    return runs


def _run_seeds(runs: Mapping[tuple[str, int], Any]) -> list[int]:
    return sorted({int(s) for _, s in runs})


def weights_of_runs(
    runs: Mapping[tuple[str, int], Any],
    data: Any,
    *,
    seeds: Sequence[int] | None = None,
    column: str = "method",
    n: int | None = None,
    cache: bool = True,
) -> pd.DataFrame:
    """:func:`objective_weights` of every run: its own objective weighs its own model's x′.

    Each run's objective acts at the last epoch on its own model (the attack seeded with the
    run's seed); ``column`` holds the run's label and ``seed`` its seed. With ``cache`` the frame
    of each run is stored in its run directory (:func:`mailviz.evaluate.cached_eval`).

    Args:
        runs: ``{(label, seed): TrainedModel}`` (:func:`train_specs`).
        data: usually the training split.
        seeds: keep only these replicates (default: all).
        column: name of the label column.
        n: first ``n`` examples only.
        cache: load/store per-run results next to the model.
    """
    if not runs:
        raise ValueError("runs is empty — build it with train_specs")
    chosen = _run_seeds(runs) if seeds is None else [int(s) for s in seeds]
    frames = []
    for (label, s), run in runs.items():
        if int(s) not in chosen:
            continue
        frame = cached_objective_weights(run, data, n=n, cache=cache)
        frames.append(frame.assign(**{column: label, "seed": int(s)}))
    if not frames:
        raise ValueError(f"no run with seeds {chosen}; seeds: {_run_seeds(runs)}")
    return pd.concat(frames, ignore_index=True)


def cached_objective_weights(
    run: Any, data: Any, *, objective: Any = None, n: int | None = None, cache: bool = True,
) -> pd.DataFrame:  # fmt: skip
    """:func:`objective_weights` of ``run``'s model under ``objective`` (default: its own
    config), the attack seeded with the run's seed, cached in the run directory."""
    from mailviz import evaluate
    from mailviz.config import config_hash

    cfg = run.config if objective is None else objective
    key = dict(kind="objective_weights", model=config_hash(run.config),
               objective=config_hash(cfg), n=n, seed=int(run.config.seed),
               data=getattr(data, "name", "pair"), split=getattr(data, "split", None),
               size=len(_as_xy(data)[1]))  # fmt: skip

    def compute() -> pd.DataFrame:
        return objective_weights(run.model, cfg, data, n=n, seed=int(run.config.seed))

    if cache and getattr(run, "path", None) is not None:
        return evaluate.cached_eval(key, compute, root=run.path, name="objective-weights")
    return compute()


def per_example_runs(
    runs: Mapping[tuple[str, int], Any],
    data: Any,
    attacks: Sequence[str] = ("nat", "pgd20", "aa-fast"),
    *,
    n: int | None = None,
    aa_n: int | None = None,
    step_size: float | None = None,
    seed: int | None = None,
    batch_size: int = 500,
    cache: bool = True,
    progress: bool = False,
) -> pd.DataFrame:
    """Per-example correctness of every run under ``attacks`` at its own training ε.

    ``nat`` and ``pgdK``/``cwK`` see the first ``n`` examples of ``data``, AutoAttack
    (``aa``/``aa-fast``) the first ``aa_n`` (it is by far the most expensive). PGD/CW use
    ``step_size``, default the run's ``config.effective_eval_step_size`` (ε/4 at quick, 0.003 at
    paper: the training monitor's); CW uses κ_c = 50. Random starts are seeded with ``seed``,
    default each run's own training seed, so a replicate differs from another in its attack's
    random start too. The attacks are :func:`mailviz.evaluate.per_example`'s (the same as
    :func:`mailviz.evaluate.evaluate`'s). With ``cache`` each (run, attack) frame is stored in the
    run directory, so a rerun — or another notebook — only loads it.

    Returns:
        Tidy frame with columns ``model`` (the run's label), ``seed``, ``attack``, ``eps``,
        ``example``, ``correct``.
    """
    from mailviz import evaluate
    from mailviz.config import config_hash

    attack_specs = [attacks] if isinstance(attacks, str) else list(attacks)
    parsed = [evaluate.parse_attack(a) for a in attack_specs]
    if not runs:
        raise ValueError("runs is empty — build it with train_specs")
    size = len(_as_xy(data)[1])
    kinds = {"nat": "nat", "pgd": "pgd", "cw": "cw"}
    frames = []
    bar = _bar(len(runs) * len(parsed), "attacks", progress)
    for (label, run_seed), run in runs.items():
        cfg = run.config
        attack_seed = int(cfg.seed) if seed is None else int(seed)
        step = cfg.effective_eval_step_size if step_size is None else step_size
        for spec in parsed:
            count = aa_n if spec.kind == "aa" else n
            count = size if count is None else min(count, size)
            kind = ("aa-fast" if spec.version == "fast" else "aa") if spec.kind == "aa" else (
                kinds[spec.kind])  # fmt: skip
            key = dict(kind="per_example", model=config_hash(cfg), attack=spec.name, eps=cfg.eps,
                       step_size=step, n=count, seed=attack_seed,
                       data=getattr(data, "name", "pair"))  # fmt: skip

            def compute(kind=kind, spec=spec, count=count, step=step, run=run,
                        attack_seed=attack_seed) -> pd.DataFrame:  # fmt: skip
                got = evaluate.per_example(
                    run.model, data, None if kind == "nat" else run.config.eps, attack=kind,
                    steps=spec.steps or 1, step_size=None if kind in ("nat", "aa", "aa-fast")
                    else step, n=count, seed=attack_seed, batch_size=batch_size,
                )  # fmt: skip
                return got[["example", "correct"]]

            if cache and run.path is not None:
                got = evaluate.cached_eval(key, compute, root=run.path, name="per-example")
            else:
                got = compute()
            bar.update()
            frames.append(got.assign(model=label, seed=int(run_seed), attack=spec.name,
                                     eps=0.0 if kind == "nat" else float(cfg.eps)))  # fmt: skip
    bar.close()
    out = pd.concat(frames, ignore_index=True)
    out["correct"] = out["correct"].astype(bool)
    return out[["model", "seed", "attack", "eps", "example", "correct"]]


def _bar(total: int, desc: str, progress: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="run", leave=False, disable=not progress,
                dynamic_ncols=True)  # fmt: skip


def evaluate_runs(
    runs: Mapping[tuple[str, int], Any],
    data: Any,
    attacks: Sequence[str] = ("nat", "pgd20", "aa-fast"),
    *,
    n: int | None = None,
    aa_n: int | None = None,
    step_size: float | None = None,
    seed: int | None = None,
    batch_size: int = 500,
    cache: bool = True,
    specs: Iterable[RunSpec] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Accuracy (%) of every run under ``attacks`` at its own training ε, as one tidy frame.

    The accuracies of :func:`per_example_runs` (same arguments; cached per run), one row per
    (run, attack): ``A = (100/N)·Σ_i 1[f(x′_i) = y_i]``. ``specs`` (those given to
    :func:`train_specs`) adds their ``tags`` as columns.

    Returns:
        Columns ``model`` (the spec label), ``seed``, ``attack``, ``eps``, ``metric``, ``value``,
        ``n`` (examples evaluated), then one column per tag. :func:`per_example_runs` gives the
        per-example frame behind it (what :mod:`mailviz.claims` needs).

    Example:
        >>> plan = evaluation_plan("quick")  # doctest: +SKIP
        >>> evaluate_runs(runs, test, plan.attacks, aa_n=plan.aa_n)  # doctest: +SKIP
    """
    per = per_example_runs(runs, data, attacks, n=n, aa_n=aa_n, step_size=step_size, seed=seed,
                           batch_size=batch_size, cache=cache, progress=progress)  # fmt: skip
    return accuracies(per, specs=specs)


def accuracies(per: pd.DataFrame, *, specs: Iterable[RunSpec] | None = None) -> pd.DataFrame:
    """Accuracy (%) per (run, attack) of a :func:`per_example_runs` frame (see
    :func:`evaluate_runs` for the columns); ``specs`` adds their ``tags`` as columns."""
    missing = [c for c in ("model", "seed", "attack", "eps", "correct") if c not in per.columns]
    if missing:
        raise ValueError(f"per lacks columns {missing} — build it with per_example_runs")
    grouped = per.groupby(["model", "seed", "attack", "eps"], sort=False)["correct"]
    out = grouped.agg(value="mean", n="size").reset_index()
    out["value"] = 100.0 * out["value"]
    out["metric"] = "accuracy"
    out = out[["model", "seed", "attack", "eps", "metric", "value", "n"]]
    tags = {spec.label: dict(spec.tags) for spec in specs or []}
    for name in dict.fromkeys(k for t in tags.values() for k in t):
        out[name] = out["model"].map(lambda label, name=name: tags.get(label, {}).get(name))
    return out


def summarize(frame: pd.DataFrame, *, row: str = "model", col: str = "attack") -> pd.DataFrame:
    """Numeric mean, sample std (ddof 1; NaN for one seed) and count per (row, col).

    The numbers behind :func:`mailviz.plots.results_table`'s "mean ± std" cells, for checks.

    Returns:
        Frame indexed by ``row`` with a column MultiIndex ``(col value, "mean"|"std"|"count")``;
        ``summary[("pgd20", "mean")]["AT"]`` is AT's mean PGD-20 accuracy.

    Example:
        >>> frame = pd.DataFrame(dict(model="AT", attack="nat", value=[90.0, 92.0]))
        >>> float(summarize(frame).loc["AT", ("nat", "mean")])
        91.0
    """
    for column in (row, col, "value"):
        if column not in frame.columns:
            raise ValueError(f"frame has no column {column!r}; build it with evaluate_runs")
    df = frame[frame["metric"] == "accuracy"] if "metric" in frame.columns else frame
    stats = df.groupby([row, col], sort=False)["value"].agg(["mean", "std", "count"])
    wide = stats.unstack(col)
    wide = wide.swaplevel(axis=1)
    order = list(dict.fromkeys(df[col]))
    wide = wide.reindex(columns=pd.MultiIndex.from_product([order, ["mean", "std", "count"]]))
    return wide.reindex(list(dict.fromkeys(df[row])))


def paper_columns(
    paper: str,
    table: str,
    index: str,
    *,
    where: Mapping[str, Any] | None = None,
    columns: Sequence[str] = ("NAT", "PGD", "AA"),
    prefix: str = "",
    split: str | None = None,
) -> pd.DataFrame:
    """Published ``mean ± std`` cells of a seed's table, ready for ``results_table(paper=...)``.

    Args:
        paper, table: as in :func:`mailviz.paper.paper_table` (e.g. ``"mail"``, ``"table5"``).
        index: column of the published table that names the rows (``"method"``, ``"margin"``).
        where: keep only rows with these values (``{"objective": "AT"}`` for Table 7).
        columns: metrics to show; ``<metric>_std`` is used when present.
        prefix: put before each column name (``"SVHN "`` → ``"SVHN NAT"``).
        split: a column whose values become column blocks side by side, each prefixed with its
            value (``split="dataset"`` → ``"SVHN NAT" … "CIFAR-100 AA"`` for Table 4).

    Returns:
        Frame indexed by ``index`` with string cells such as ``"81.84 ± 0.18"``.

    Example:
        >>> paper_columns("mail", "table5", "margin").loc["PM", "AA"]
        '50.60 ± 0.22'
    """
    from mailviz.paper import paper_table

    if split is not None:
        frame = paper_table(paper, table)
        if split not in frame.columns:
            raise ValueError(
                f"{table} has no column {split!r}; columns: {', '.join(frame.columns)}"
            )
        blocks = [
            paper_columns(paper, table, index, where={**(where or {}), split: value},
                          columns=columns, prefix=f"{prefix}{value} ")
            for value in dict.fromkeys(frame[split])
        ]  # fmt: skip
        return pd.concat(blocks, axis=1)
    frame = paper_table(paper, table)
    for key, value in (where or {}).items():
        if key not in frame.columns:
            raise ValueError(f"{table} has no column {key!r}; columns: {', '.join(frame.columns)}")
        frame = frame[frame[key] == value]
    if frame.empty:
        raise ValueError(f"no row of {paper} {table} matches {dict(where or {})}")
    for column in (index, *columns):
        if column not in frame.columns:
            raise ValueError(
                f"{table} has no column {column!r}; columns: {', '.join(frame.columns)}"
            )
    out = pd.DataFrame(index=pd.Index(frame[index].tolist(), name=index))
    for column in columns:
        std = frame[f"{column}_std"].tolist() if f"{column}_std" in frame.columns else None
        out[f"{prefix}{column}"] = [
            f"{m:.2f} ± {s:.2f}" if std is not None else f"{m:.2f}"
            for m, s in zip(frame[column], std or [0.0] * len(frame), strict=True)
        ]
    return out
