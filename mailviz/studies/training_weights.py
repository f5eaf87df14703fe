"""The weights a training objective assigns (MAIL Alg. 2–4, notebooks 02 and 06).

:func:`objective_weights` runs a method's own :class:`~mailviz.objectives.Objective` (without a
backward pass) over a data set and returns the per-example weights ``ω`` it assigns to the
adversarial examples: nothing re-implemented. :func:`weight_summary` says how concentrated they
are (effective sample size, share of the weight mass on misclassified examples);
:func:`weights_of_runs` does it for every trained replicate of the results tables.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from mailviz import objectives
from mailviz.studies._frames import _as_xy, _check_batch_size, _device_of, _subset

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
