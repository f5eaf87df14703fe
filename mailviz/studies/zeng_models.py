"""Zeng et al.'s model catalogue (notebooks 04, 05, 07): which models, trained with which α_train.

:class:`ZengModel`, :func:`zeng_catalogue`, :func:`train_catalogue`: baseline TRADES, TRADES+ours
with α_train ∈ {0.1, 1, 1.5, 2} (Tables 8/11, Figs. 5–7), PGD (AT) and PGD+ours (α_train = 0.1,
Tables 4/7/11), configured by :func:`mailviz.experiments.method_config`; :func:`headline` names
the model a lesson leads with, :func:`catalogue_summary` the trained catalogue as a table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mailviz.config import PROFILES, ExperimentConfig

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


def _fmt(value: float) -> str:
    return f"{value:g}"


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


def _model_columns(m: ZengModel, seed: int, trained: Any) -> dict[str, Any]:
    return dict(model=m.name, seed=int(seed), family=m.family, defense=m.defense,
                alpha_train=m.alpha_train, eps_train=float(trained.config.eps))  # fmt: skip


def _label(models: Mapping[Any, Any]) -> str:
    entries = _entries(models)
    cfg = entries[0][2].config
    seeds = sorted({s for _, s, _ in entries})
    reps = f"{len(seeds)} replicate{'s' if len(seeds) > 1 else ''}"
    return f"measured — {cfg.dataset} / {cfg.model}, {cfg.profile} profile, {reps}"
