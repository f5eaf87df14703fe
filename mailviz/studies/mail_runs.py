"""The runs behind MAIL's results tables (Tables 4–7): which models, trained how, attacked how.

:func:`mail_table_specs` lists the rows of MAIL's Tables 4–7 as :class:`RunSpec` s,
:func:`train_specs` trains (or loads) them for every replicate seed (one cache for all notebooks
and :func:`mailviz.catalogue.prepare`), and :func:`evaluation_plan` is the profile's
:class:`EvaluationPlan` (attacks and their sizes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mailviz import objectives

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
                    f"MAIL-{objective}, {name}",
                    method,
                    None if loss == own else loss,
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
