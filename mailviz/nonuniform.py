r"""Zeng et al.'s non-uniform attacks in notebooks: models, cached attacks, tables, spread, DRO.

The notebooks ``04_weight_distributions``, ``05_nonuniform_attacks`` and ``07_dro`` reproduce
Zeng et al. (AAAI 2021) §5 and appendix A.3–A.6 on the profile's dataset. Everything they compute
goes through this module, so the three notebooks share one set of trained models and one set of
attack runs:

* **catalogue** — :class:`ZengModel`, :func:`zeng_catalogue`, :func:`train_catalogue`: baseline
  TRADES, TRADES+ours with α_train ∈ {0.1, 1, 1.5, 2} (Tables 8/11, Figs. 5–7), PGD (AT) and
  PGD+ours (α_train = 0.1, Tables 4/7/11), configured by :func:`mailviz.experiments.method_config`;
* **plan** — :class:`NonuniformPlan`, :func:`plan_for`: the evaluation grid of a profile (ε_test
  as fractions of ε_train, α_test, steps, the 100-step subset, the ρ grid);
* **attack runs** — :func:`attack_run`: the per-example result of one attack on one model
  (:func:`mailviz.evaluate.per_example`), cached next to the model. One unweighted PGD run per
  (model, ε_test) serves ``A_rob``, ``A_sa`` for every α_test, the histograms of ``s̃`` and the
  DRO curves; weighted PGD (Alg. 1) runs once per α_test for ``A_tr``;
* **tables** — :func:`nonuniform_table` (Tables 1–3, 7, 8, 10–12, Fig. 3), :func:`attack_table`
  (Table 9), :func:`uniform_table` (Tables 4–6), with the published numbers beside them
  (:func:`paper_reference`, :func:`beside_paper`);
* **spread of s̃** — :func:`weight_spread`, :func:`importance_frame`, :func:`spread_table`
  (Figs. 5–7), :func:`rank_trend`;
* **DRO** — :func:`dro_table` (Fig. 4, eq. 28);
* **checks** — :func:`ordering_violations` (``A_tr ≤ A_sa ≤ A_rob``).

Metrics (eq. 17–19): ``A_rob = (100/N)·Σ_i 1[correct_i]`` after unweighted PGD;
``A_sa = 100·Σ_i s̃_i·1[correct_i]`` on the same adversarial inputs with
``s̃ = softmax(−α_test·PM)``; ``A_tr`` the same on the inputs of weighted PGD with α = α_test.
Because s̃ is renormalised over the evaluated set, a table computed on the first ``n`` test
examples is *not* the first ``n`` rows of the full-set table; :func:`first` recomputes on a prefix.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from mailviz import evaluate, weights
from mailviz.config import PROFILES, ExperimentConfig, config_hash

__all__ = [
    "FAMILIES",
    "TRADES_ALPHAS",
    "PGD_ALPHA",
    "ZengModel",
    "zeng_catalogue",
    "train_catalogue",
    "headline",
    "catalogue_summary",
    "NonuniformPlan",
    "plan_for",
    "attack_run",
    "first",
    "nonuniform_metrics",
    "nonuniform_table",
    "attack_table",
    "uniform_table",
    "ordering_violations",
    "gain_over_baseline",
    "weight_spread",
    "importance_frame",
    "spread_table",
    "rank_trend",
    "dro_table",
    "dro_losses",
    "strong_attacks",
    "strong_run",
    "paper_reference",
    "beside_paper",
    "evaluate_models",
    "standin_tables",
]

#: The two base methods of Zeng et al.: PGD adversarial training (Madry) and TRADES.
FAMILIES: tuple[str, ...] = ("PGD", "TRADES")
#: α_train of the TRADES+ours models (Zeng Tables 8 and 11, Figs. 5–7).
TRADES_ALPHAS: tuple[float, ...] = (0.1, 1.0, 1.5, 2.0)
#: α_train of PGD+ours (Zeng Table 4's best; Tables 7 and 11 list it beside 0.01 and 0.05).
PGD_ALPHA: float = 0.1
#: The "+ours" model compared with its baseline in the headline claims (Table 2, Fig. 4).
HEADLINE_ALPHA: dict[str, float] = {"PGD": PGD_ALPHA, "TRADES": 2.0}

_METHODS = {("PGD", False): "at", ("PGD", True): "weighted_at",
            ("TRADES", False): "trades", ("TRADES", True): "weighted_trades"}  # fmt: skip
#: Version of the cached attack-run format (bump to invalidate old results).
_RUN_VERSION = 1
_ATTACKS = ("nat", "pgd", "cw", "weighted")


def _bar(total: int, desc: str, progress: bool) -> Any:
    """A tqdm bar over ``total`` attack runs (cache hits count too); a no-op when disabled."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="run", leave=False, disable=not progress,
                dynamic_ncols=True)  # fmt: skip


def _fmt(value: float) -> str:
    return f"{value:g}"


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
# The model catalogue
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZengModel:
    """One trained model of Zeng et al.'s experiments: a base method and its α_train.

    ``alpha_train=None`` is the unweighted baseline (PGD = Madry AT, or TRADES); a number gives
    "+ours", the learnable weighted minimax risk with ``s = exp(−α_train·margin)`` (eq. 7):
    ``weighted_at`` (PGD+ours) or ``weighted_trades`` (TRADES+ours).

    Example:
        >>> ZengModel("TRADES", 2.0).name
        'TRADES+ours (α_train=2)'
        >>> ZengModel("PGD").method
        'at'
    """

    family: str
    alpha_train: float | None = None

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family must be 'PGD' or 'TRADES', got {self.family!r}")
        a = self.alpha_train
        if a is not None:
            if isinstance(a, bool) or not isinstance(a, (int, float)) or not 0 < a <= 80:
                raise ValueError(
                    f"alpha_train must be None (baseline) or in (0, 80], got {a!r} — e.g. 2.0"
                )
            object.__setattr__(self, "alpha_train", float(a))

    @property
    def weighted(self) -> bool:
        """True for "+ours"."""
        return self.alpha_train is not None

    @property
    def method(self) -> str:
        """The :data:`mailviz.objectives.METHODS` entry that trains it."""
        return _METHODS[(self.family, self.weighted)]

    @property
    def defense(self) -> str:
        """The paper's "Defense" column: ``PGD``, ``PGD+ours``, ``TRADES`` or ``TRADES+ours``."""
        return f"{self.family}+ours" if self.weighted else self.family

    @property
    def name(self) -> str:
        """Display name, unique within the catalogue."""
        if self.alpha_train is None:
            return self.family
        return f"{self.defense} (α_train={_fmt(self.alpha_train)})"

    @property
    def headline(self) -> bool:
        """Baselines and the "+ours" model the headline claims use (α_train of Table 2/Fig. 4)."""
        return self.alpha_train is None or self.alpha_train == HEADLINE_ALPHA[self.family]

    def config(
        self, profile: str = "quick", *, seed: int = 0, device: str = "auto"
    ) -> ExperimentConfig:
        """Its config, from :func:`mailviz.experiments.method_config`.

        ``params`` is passed only when α_train differs from the method's default, so the model
        shares its cache entry with every notebook that asks for the method's default recipe.
        """
        from mailviz.experiments import method_config
        from mailviz.objectives import default_params

        params = None
        if self.weighted and self.alpha_train != default_params(self.method)["alpha_train"]:
            params = {"alpha_train": self.alpha_train}
        return method_config(self.method, profile, seed=seed, device=device, params=params)


def zeng_catalogue(family: str = "all", *, headline: bool = False) -> tuple[ZengModel, ...]:
    """The models of Zeng et al.'s experiments: TRADES (+ours ×4) and/or PGD (+ours).

    Args:
        family: ``"TRADES"`` (baseline, then α_train ∈ :data:`TRADES_ALPHAS`), ``"PGD"`` (baseline,
            then α_train = :data:`PGD_ALPHA`) or ``"all"`` (TRADES first).
        headline: only the baselines and the headline "+ours" (TRADES α_train = 2, PGD 0.1).

    Example:
        >>> [m.name for m in zeng_catalogue("PGD")]
        ['PGD', 'PGD+ours (α_train=0.1)']
    """
    trades = (ZengModel("TRADES"), *(ZengModel("TRADES", a) for a in TRADES_ALPHAS))
    pgd = (ZengModel("PGD"), ZengModel("PGD", PGD_ALPHA))
    table = {"TRADES": trades, "PGD": pgd, "all": trades + pgd}
    if family not in table:
        raise ValueError(f"family must be 'TRADES', 'PGD' or 'all', got {family!r}")
    return tuple(m for m in table[family] if m.headline) if headline else table[family]


def train_catalogue(
    models: Iterable[ZengModel],
    profile: str = "quick",
    *,
    seeds: Sequence[int] = (0,),
    device: str = "auto",
    progress: bool = False,
) -> dict[tuple[ZengModel, int], Any]:
    """Train (or load from the model cache) each model for each seed (replicate).

    Returns:
        ``{(ZengModel, seed): TrainedModel}``, model-then-seed order.

    Example:
        >>> runs = train_catalogue(zeng_catalogue("PGD"), seeds=[0, 1, 2])  # doctest: +SKIP
    """
    from mailviz.train import train

    chosen = list(models)
    if not chosen or not all(isinstance(m, ZengModel) for m in chosen):
        raise ValueError("models must be a non-empty list of ZengModel — use zeng_catalogue()")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; valid: {', '.join(PROFILES)}")
    seed_list = [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("seeds must name at least one seed, e.g. seeds=[0, 1, 2]")
    return {(m, s): train(m.config(profile, seed=s, device=device), progress=progress)
            for m in chosen for s in seed_list}  # fmt: skip


def _entries(models: Mapping[Any, Any]) -> list[tuple[ZengModel, int, Any]]:
    """``(ZengModel, seed, TrainedModel)`` for a ``{(ZengModel, seed): run}`` mapping (a plain
    ``{ZengModel: run}`` mapping uses each run's training seed)."""
    if not isinstance(models, Mapping) or not models:
        raise ValueError("models must be a non-empty {(ZengModel, seed): TrainedModel} dict "
                         "— use train_catalogue(zeng_catalogue(), PROFILE, seeds=...)")  # fmt: skip
    out = []
    for key, t in models.items():
        m, s = key if isinstance(key, tuple) else (key, None)
        if not isinstance(m, ZengModel):
            raise ValueError(f"models keys must be (ZengModel, seed), got {key!r}")
        cfg = getattr(t, "config", None)
        if not isinstance(cfg, ExperimentConfig):
            raise ValueError(f"models values must be TrainedModel, got {type(t).__name__}")
        out.append((m, int(cfg.seed if s is None else s), t))
    return out


def _attack_seed(t: Any, seed: int | None) -> int:
    """The attack's seed: ``seed`` if given, else the model's own training seed."""
    return int(t.config.seed) if seed is None else int(seed)


def headline(models: Mapping[Any, Any]) -> dict[Any, Any]:
    """The baselines and headline "+ours" models of ``models`` (:attr:`ZengModel.headline`)."""
    return {k: t for k, t in models.items()
            if (k[0] if isinstance(k, tuple) else k).headline}  # fmt: skip


def catalogue_summary(models: Mapping[Any, Any]) -> pd.DataFrame:
    """One row per trained model and seed: method, α_train, final held-out NAT / PGD, time.

    ``nat_acc`` and ``pgd_acc`` are the last epoch's held-out accuracies from the training
    history (PGD with the config's ``eval_steps``); ``train_s`` sums ``epoch_seconds``.
    """
    rows = []
    for m, seed, t in _entries(models):
        h = t.history
        rows.append(
            dict(model=m.name, seed=seed, method=m.method, alpha_train=m.alpha_train,
                 epochs=int(h["epoch"].iloc[-1]), nat_acc=float(h["nat_acc"].iloc[-1]),
                 pgd_acc=float(h["pgd_acc"].iloc[-1]),
                 train_s=float(h["epoch_seconds"].sum()), run=t.path.name if t.path else None)
        )  # fmt: skip
    return pd.DataFrame(rows)


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


def _model_columns(m: ZengModel, seed: int, trained: Any) -> dict[str, Any]:
    return dict(model=m.name, seed=int(seed), family=m.family, defense=m.defense,
                alpha_train=m.alpha_train, eps_train=float(trained.config.eps))  # fmt: skip


def _label(models: Mapping[Any, Any]) -> str:
    entries = _entries(models)
    cfg = entries[0][2].config
    seeds = sorted({s for _, s, _ in entries})
    reps = f"{len(seeds)} replicate{'s' if len(seeds) > 1 else ''}"
    return f"measured — {cfg.dataset} / {cfg.model}, {cfg.profile} profile, {reps}"


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


# --------------------------------------------------------------------------------------------
# Spread of the importance weights (Figs. 5–7)
# --------------------------------------------------------------------------------------------


def weight_spread(weights_: Any) -> dict[str, float]:
    """How far a distribution ``s̃`` over N test examples is from uniform.

    * ``max_weight = max_i s̃_i`` and ``max_over_uniform = N·max_i s̃_i`` (1 when uniform);
    * ``entropy_deficit = log N − H(s̃) = KL(s̃ ‖ uniform)`` in nats, ``H(s̃) = −Σ s̃_i log s̃_i``
      (0 when uniform, ``log N`` when all mass sits on one example);
    * ``ess = 1 / Σ_i s̃_i²``, the effective sample size, and ``ess_fraction = ess / N``
      (1 when uniform, ``1/N`` for a point mass).

    For ``s̃ = softmax(−α·m)`` with fixed margins, ``entropy_deficit`` and ``max_weight`` are
    non-decreasing in α ≥ 0 (``dH/dα = −α·Var_s̃(m)``): a stronger attacker spreads s̃.

    Args:
        weights_: ``[N]`` non-negative weights summing to 1 (tensor, array or Series).

    Example:
        >>> weight_spread([0.25, 0.25, 0.25, 0.25])["entropy_deficit"]
        0.0
    """
    w = weights_.detach().cpu().numpy() if isinstance(weights_, torch.Tensor) else weights_
    w = np.asarray(w, dtype=np.float64).ravel()
    if w.size == 0 or not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights must be a non-empty array of finite non-negative numbers")
    if not math.isclose(float(w.sum()), 1.0, rel_tol=0, abs_tol=1e-6):
        raise ValueError(f"weights must sum to 1 (got {w.sum():.6g}) — use weights.importance")
    n = w.size
    positive = w[w > 0]
    entropy = float(-(positive * np.log(positive)).sum())
    ess = float(1.0 / np.square(w).sum())
    return dict(n=float(n), max_weight=float(w.max()), max_over_uniform=float(n * w.max()),
                entropy_deficit=max(math.log(n) - entropy, 0.0), ess=ess,
                ess_fraction=ess / n)  # fmt: skip


def importance_frame(
    models: Mapping[Any, Any],
    dataset: Any,
    plan: NonuniformPlan,
    *,
    eps: Sequence[float] | None = None,
    alphas_test: Sequence[float] | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Per-example ``s̃_i = softmax(−α_test·PM)_i`` over the test set after unweighted PGD.

    The weights behind ``A_sa`` and Zeng et al.'s Figs. 5–7 (the attacker's sampling
    distribution), from the same cached PGD runs as :func:`nonuniform_table` (attack seed: each
    model's training seed unless ``seed`` is given); equal to
    :func:`mailviz.evaluate.weight_distribution` with ``attack="pgd"``.

    Returns:
        Tidy frame with columns ``model, seed, alpha_train, eps, alpha_test, example, weight,
        margin, correct`` (``alpha_train`` NaN for the baseline, as
        :func:`mailviz.plots.weight_histograms` expects); ``weight`` sums to 1 within each
        (model, seed, ε, α_test).
    """
    entries = _entries(models)
    alphas = _check_alpha_list(plan.hist_alphas if alphas_test is None else alphas_test,
                               "alphas_test")  # fmt: skip
    frames = []
    for m, s, t in entries:
        for e in plan.eps_grid(float(t.config.eps)) if eps is None else eps:
            run = attack_run(t, dataset, e, steps=plan.steps, step_size=plan.step_size(e),
                             seed=_attack_seed(t, seed))  # fmt: skip
            margin = torch.tensor(run["margin"].to_numpy(dtype=np.float64))
            for a in alphas:
                frames.append(
                    pd.DataFrame(
                        dict(model=m.name, seed=s, alpha_train=m.alpha_train, eps=float(e),
                             alpha_test=a, example=run["example"].to_numpy(),
                             weight=weights.importance(margin, a).numpy(),
                             margin=run["margin"].to_numpy(), correct=run["correct"].to_numpy())
                    )  # fmt: skip
                )
    out = pd.concat(frames, ignore_index=True)
    out["alpha_train"] = out["alpha_train"].astype(float)
    return out


def spread_table(
    frame: pd.DataFrame, by: Sequence[str] = ("model", "alpha_train", "eps", "alpha_test")
) -> pd.DataFrame:
    """:func:`weight_spread` of ``weight`` within each group of an :func:`importance_frame`.

    Returns:
        One row per group: the ``by`` columns, then ``n, max_weight, max_over_uniform,
        entropy_deficit, ess, ess_fraction``.
    """
    by = list(by)
    missing = [c for c in [*by, "weight"] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing} — build it with importance_frame()")
    rows = []
    for key, group in frame.groupby(by, sort=False, dropna=False):
        values = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, values, strict=True)), **weight_spread(group["weight"])})
    return pd.DataFrame(rows)


def rank_trend(
    frame: pd.DataFrame, x: str, y: str, by: Sequence[str] = (), *, fill_x: float | None = None
) -> pd.DataFrame:
    """Does ``y`` rise with ``x`` within each group? Spearman ρ and monotonicity flags.

    Args:
        frame: any tidy frame.
        x, y: column names.
        by: grouping columns (one row per group).
        fill_x: value for NaN ``x`` (e.g. ``0.0``: the baseline is α_train = 0, the limiting
            case of eq. 7).

    Returns:
        Frame with the ``by`` columns, ``points``, ``spearman`` (NaN when constant),
        ``increasing`` / ``decreasing`` (y non-decreasing / non-increasing along sorted x).
    """
    from scipy.stats import spearmanr

    missing = [c for c in [x, y, *by] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing}")
    data = frame.copy()
    if fill_x is not None:
        data[x] = data[x].astype(float).fillna(fill_x)
    groups = data.groupby(list(by), sort=False, dropna=False) if by else [((), data)]
    rows = []
    for key, group in groups:
        g = group.sort_values(x)
        xs, ys = g[x].to_numpy(dtype=float), g[y].to_numpy(dtype=float)
        diffs = np.diff(ys)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a constant column: ρ is NaN, as documented
            rho = float(spearmanr(xs, ys).statistic) if len(g) > 1 else math.nan
        values = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, values, strict=True)), "points": len(g), "spearman": rho,
                     "increasing": bool((diffs >= 0).all()),
                     "decreasing": bool((diffs <= 0).all())})  # fmt: skip
    return pd.DataFrame(rows)


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


# --------------------------------------------------------------------------------------------
# The paper's numbers beside ours
# --------------------------------------------------------------------------------------------

#: Which of Zeng et al.'s tables each profile compares with (the profile's analogue dataset).
_REFERENCE_TABLES: dict[str, dict[str, tuple[str, ...]]] = {
    "cifar10": {"grid": ("table7", "table8", "table11", "table2"), "attacks": ("table9",),
                "uniform": ("table4",)},
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
        nats.append(dict(model=label, seed=int(s), attack="nat", eps=0.0, metric="accuracy",
                         value=100.0 * float(nat["correct"].to_numpy(dtype=bool).mean())))
    columns = ["model", "seed", "eps", "alpha_test", "A_rob", "A_sa", "A_tr", "attack", "steps"]
    table = pd.concat(tables, ignore_index=True)[columns]
    return table, pd.concat(weight_frames, ignore_index=True), pd.DataFrame(nats)
