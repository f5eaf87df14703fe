"""Zeng et al.'s evaluation plan and the cached per-example attack runs it needs.

:class:`NonuniformPlan`, :func:`plan_for`: the evaluation grid of a profile (ε_test as fractions
of ε_train, α_test, steps, the 100-step subset, the ρ grid). :func:`attack_run`: the per-example
result of one attack on one model (:func:`mailviz.evaluate.per_example`), cached next to the
model. One unweighted PGD run per (model, ε_test) serves ``A_rob``, ``A_sa`` for every α_test,
the histograms of ``s̃`` and the DRO curves; weighted PGD (Alg. 1) runs once per α_test for
``A_tr``. Because s̃ is renormalised over the evaluated set, a table computed on the first ``n``
test examples is *not* the first ``n`` rows of the full-set table; :func:`first` recomputes on a
prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from mailviz import evaluate
from mailviz.config import ExperimentConfig, config_hash

#: Version of the cached attack-run format (bump to invalidate old results).
_RUN_VERSION = 1
_ATTACKS = ("nat", "pgd", "cw", "weighted")


# --------------------------------------------------------------------------------------------
# The evaluation plan of a profile
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NonuniformPlan:
    """How a profile evaluates Zeng et al.'s metrics (Tables 1–12, Figs. 3–7).

    Attributes:
        steps: PGD steps of the main tables (Zeng: 20 on CIFAR-10, 40 on MNIST).
        step_ratio: step size as a fraction of ε_test; ``None`` uses
            :func:`mailviz.evaluate.default_step_size` (``2.5·ε/steps``).
        eps_fractions: ε_test / ε_train (Tables 7–8: 2/255, 4/255, 8/255 at ε_train = 8/255).
        alphas_test: α_test of the tables and Fig. 3.
        hist_alphas: α_test columns of the histograms (Figs. 5–7).
        tr_all_models: ``False``: ``A_tr`` (one weighted-PGD run per α_test) at every ε_test only
            for the headline models (:attr:`ZengModel.headline`); the others get it at
            ε_test = ε_train. ``A_sa`` needs no extra attack and is always complete.
        long_steps: the longer attack of Table 9 (100 steps).
        long_n: Table 9 on the first ``long_n`` test examples (``None``: all).
        rhos: χ² budgets ρ of Fig. 4.
    """

    steps: int = 20
    step_ratio: float | None = None
    eps_fractions: tuple[float, ...] = (0.25, 0.5, 1.0)
    alphas_test: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0)
    hist_alphas: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 3.0)
    tr_all_models: bool = True
    long_steps: int = 100
    long_n: int | None = None
    rhos: tuple[float, ...] = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)

    def step_size(self, eps: float) -> float | None:
        """The PGD step size at ``eps`` (``None``: evaluate's ``2.5·ε/steps``)."""
        return None if self.step_ratio is None else self.step_ratio * eps

    def eps_grid(self, eps_train: float) -> tuple[float, ...]:
        """ε_test values: ``eps_fractions × ε_train``."""
        return tuple(float(f * eps_train) for f in self.eps_fractions)


_PLANS: dict[str, NonuniformPlan] = {
    # digits 8×8, CPU, a budget of minutes: 100-step attacks on a prefix, A_tr for the
    # intermediate α_train at ε_test = ε_train only.
    "smoke": NonuniformPlan(steps=5, long_steps=10, long_n=64, tr_all_models=False),
    "quick": NonuniformPlan(steps=20, long_n=200, tr_all_models=False),
    # Zeng Table 1: 40-step PGD with step 0.01 at ε = 0.3 (scaled with ε_test)
    "mnist": NonuniformPlan(steps=40, step_ratio=0.01 / 0.3),
    # Zeng's evaluation code: 20 steps of 0.0031 at ε = 0.031
    "paper": NonuniformPlan(steps=20, step_ratio=0.1),
}


def plan_for(profile: str) -> NonuniformPlan:
    """The :class:`NonuniformPlan` of ``profile`` (``smoke``, ``quick``, ``mnist``, ``paper``).

    Example:
        >>> plan_for("quick").steps, plan_for("mnist").steps
        (20, 40)
    """
    if profile not in _PLANS:
        raise ValueError(f"unknown profile {profile!r}; valid: {', '.join(_PLANS)}")
    return _PLANS[profile]


# --------------------------------------------------------------------------------------------
# Cached attack runs
# --------------------------------------------------------------------------------------------


def _dataset_id(dataset: Any) -> dict[str, Any]:
    if not (hasattr(dataset, "name") and hasattr(dataset, "split") and hasattr(dataset, "batches")):
        raise ValueError(
            f"dataset must be an ImageDataset (mailviz.data.load_dataset), got "
            f"{type(dataset).__name__}"
        )
    return {"dataset": dataset.name, "split": dataset.split, "size": len(dataset)}


def attack_run(
    trained: Any,
    dataset: Any,
    eps: float | None,
    *,
    attack: str = "pgd",
    alpha: float = 0.0,
    steps: int = 20,
    step_size: float | None = None,
    n: int | None = None,
    seed: int = 0,
    refresh: bool = False,
) -> pd.DataFrame:
    """Per-example result of one attack on a trained model, cached next to the model.

    A thin cache around :func:`mailviz.evaluate.per_example` (columns ``example, label, pred,
    correct, margin, logit_margin, loss, kappa``): ``attack="pgd"`` (PGD-CE, uniform start),
    ``"cw"`` (PGD on the CW margin loss, Zeng's "PGD-margin"), ``"weighted"`` (Zeng Alg. 1 with
    ``alpha``) or ``"nat"``. The frame is stored under ``<run dir>/results/`` keyed by the model's
    config hash, the dataset, and every attack setting, so a notebook that asks again — or another
    notebook — loads it instead of attacking. Runs are seeded: the first run and a cache hit are
    identical, and the same run as :func:`mailviz.evaluate.nonuniform_report`'s.

    Args:
        trained: a ``TrainedModel`` (:func:`mailviz.train.train`).
        dataset: the evaluated :class:`~mailviz.data.ImageDataset`.
        eps: ε_test (ignored for ``"nat"``).
        attack, alpha, steps, step_size, n, seed: as in :func:`~mailviz.evaluate.per_example`.
        refresh: recompute and overwrite the cached frame.

    Returns:
        The per-example frame (one row per evaluated example).
    """
    if attack not in _ATTACKS:
        raise ValueError(f"attack must be one of {', '.join(_ATTACKS)}, got {attack!r}")
    cfg = getattr(trained, "config", None)
    if not isinstance(cfg, ExperimentConfig) or not hasattr(trained, "model"):
        raise ValueError(
            f"trained must be a TrainedModel (mailviz.train.train), got {type(trained).__name__}"
        )
    key: dict[str, Any] = {
        "kind": "attack_run", "version": _RUN_VERSION, "model": config_hash(cfg),
        **_dataset_id(dataset), "n": n, "attack": attack, "seed": seed,
    }  # fmt: skip
    if attack != "nat":
        if eps is None:
            raise ValueError(f"eps is required for attack={attack!r}, e.g. eps=0.2")
        step = None if step_size is None else round(float(step_size), 12)
        key.update(eps=round(float(eps), 12), steps=steps, step_size=step)
        if attack == "weighted":
            key["alpha"] = float(alpha)

    def compute() -> pd.DataFrame:
        return evaluate.per_example(
            trained.model, dataset, eps if attack != "nat" else None, attack=attack,
            steps=steps, step_size=step_size, alpha=alpha if attack == "weighted" else 0.0,
            n=n, seed=seed,
        )  # fmt: skip

    root = trained.path if getattr(trained, "path", None) is not None else None
    return evaluate.cached_eval(key, compute, root=root, name="attack", refresh=refresh)


def first(run: pd.DataFrame, n: int | None) -> pd.DataFrame:
    """The rows of the first ``n`` examples of a per-example frame (all when ``n`` is None)."""
    if n is None:
        return run
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1 or None, got {n!r}")
    return run[run["example"] < n].reset_index(drop=True)
