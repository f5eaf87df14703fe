"""Path dependency of GAIRAT's least PGD steps κ (MAIL §3, notebook 01): the attack runs.

GAIRAT's least PGD steps ``κ_i = Σ_{t=0}^{K−1} 1[f(x_i^{(t)}) = y_i]`` counts how long a PGD path
stays correct, so it depends on the start and the step size; MAIL's probabilistic margin
``PM_i = p_{y_i}(x′_i) − max_{j≠y_i} p_j(x′_i)`` (Def. 1) reads only the end point.
:func:`kappa_pm_table` attacks one fixed set under several :class:`AttackSetting` s;
:func:`setting_paths` replays a few paths for :func:`mailviz.plots.lps_paths`. The statistics over
those runs are in :mod:`mailviz.studies.path_rankings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from mailviz import attacks, margins
from mailviz.studies._frames import _as_xy, _check_batch_size, _device_of, _subset

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
