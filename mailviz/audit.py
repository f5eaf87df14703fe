"""The gradient-masking audit of lesson 09: which reweighted models does PGD flatter?

For each audited model (:data:`AUDIT_ROWS`, replicated over seeds) and test example this module
records whether the model survives a list of attacks, cached next to the model so that
``mailviz prepare`` and the lesson share the work:

* the MAIL table attacks (NAT, PGD-20, the fast AutoAttack screen) and CW-20, through
  :func:`mailviz.analysis.per_example_runs` (the same cache entries as lessons 02 and 06);
* logit-scaled PGD-20 (:func:`mailviz.masking.logit_scaled_pgd`) on the whole test set;
* standard AutoAttack stage by stage (:func:`mailviz.masking.autoattack_stages`) on the first
  :attr:`AuditPlan.aa_n` test examples, the subset where the worst case is taken;
* the start-clamp comparison: CE and KL PGD-20 from the same random start, clamped to [0, 1]
  (mailviz's default) or not (the authors' codes);
* the share of examples with an exactly-zero input gradient.

:func:`worst_case_frame` adds the per-example worst case over every attack that covers the
subset, :func:`gap_frame` the PGD-20 − worst-case gap per model and seed, and
:func:`signal_frame` the two masking signals of Croce and Hein (2020) per model and seed.
The claims and verdicts are in :mod:`mailviz.claims.audit`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from mailviz.masking import SCALES

__all__ = [
    "AuditRow",
    "AUDIT_ROWS",
    "AuditPlan",
    "plan_for",
    "audit_configs",
    "train_audit",
    "audit_per_example",
    "worst_case_frame",
    "gap_frame",
    "signal_frame",
    "square_only",
    "WHITE_BOX",
    "LS",
    "WORST",
]

#: Attack names of the per-example frame beyond the MAIL table's (``nat``, ``pgd20``, ``cw20``,
#: ``aa-fast``, ``aa``): logit-scaled PGD, the AutoAttack stages, the start-clamp pair.
LS = "LS-PGD-20"
STAGE_NAMES = {"apgd-ce": "APGD-CE", "apgd-t": "+APGD-T", "fab-t": "+FAB-T", "fab": "+FAB",
               "square": "aa"}  # fmt: skip
CLAMP_NAMES = ("CE, clamped start", "CE, unclamped start", "KL, clamped start",
               "KL, unclamped start")  # fmt: skip
WORST = "worst case"
#: The white-box attacks on the subset whose survivors Square may still break.
WHITE_BOX = ("pgd20", "cw20", LS, "aa-fast", "APGD-CE", "+APGD-T", "+FAB-T", "+FAB")


@dataclass(frozen=True)
class AuditRow:
    """One audited method: its table label, where its model comes from and its unweighted base.

    ``base`` is the unweighted method trained with the same attack loss (``None`` for AT and
    TRADES themselves): a reweighting that masks gradients shows a larger PGD-20 − worst-case
    gap than its base.
    """

    label: str
    source: str  # "table4" (MAIL Table 4 spec) or "PGD" / "TRADES" (Zeng et al.'s "+ours")
    base: str | None


#: The seven audited methods.
AUDIT_ROWS: tuple[AuditRow, ...] = (
    AuditRow("AT", "table4", None),
    AuditRow("TRADES", "table4", None),
    AuditRow("GAIRAT", "table4", "AT"),
    AuditRow("MAIL-AT", "table4", "AT"),
    AuditRow("MAIL-TRADES", "table4", "TRADES"),
    AuditRow("PGD+ours", "PGD", "AT"),
    AuditRow("TRADES+ours", "TRADES", "TRADES"),
)


@dataclass(frozen=True)
class AuditPlan:
    """How a profile audits: PGD steps, logit scales and the AutoAttack subset.

    Attributes:
        steps: steps of every PGD-type attack (20, as MAIL's PGD-20).
        scales: logit scales of the logit-scaled attack.
        aa_n: standard AutoAttack (and the worst case) on the first ``aa_n`` test examples.
        n: the other attacks on the first ``n`` test examples (``None``: all).
    """

    steps: int = 20
    scales: tuple[float, ...] = SCALES
    aa_n: int = 100
    n: int | None = None


_PLANS = {"smoke": AuditPlan(aa_n=24, n=96), "quick": AuditPlan(aa_n=100),
          "mnist": AuditPlan(aa_n=500), "paper": AuditPlan(aa_n=1000)}  # fmt: skip


def plan_for(profile: str) -> AuditPlan:
    """The :class:`AuditPlan` of ``profile``.

    Example:
        >>> plan_for("quick").aa_n
        100
    """
    if profile not in _PLANS:
        raise ValueError(f"unknown profile {profile!r}; valid: {', '.join(_PLANS)}")
    return _PLANS[profile]


def audit_configs(profile: str, seed: int) -> dict[str, Any]:
    """``{label: ExperimentConfig}`` of :data:`AUDIT_ROWS` for one replicate seed — the same
    configs (and so the same cached models) as lessons 05 and 06."""
    from mailviz import analysis, nonuniform

    specs = {s.label: s for s in analysis.mail_table_specs("table4")}
    out = {}
    for row in AUDIT_ROWS:
        if row.source == "table4":
            out[row.label] = specs[row.label].config(profile, seed)
        else:
            model = nonuniform.ZengModel(row.source, nonuniform.HEADLINE_ALPHA[row.source])
            out[row.label] = model.config(profile, seed=seed)
    return out


def train_audit(profile: str, seeds: Sequence[int], *, progress: bool = False) -> dict[Any, Any]:
    """Train (or load) every audited model: ``{(label, seed): TrainedModel}``."""
    from mailviz.train import train

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed, e.g. seeds=[0, 1, 2]")
    configs = {s: audit_configs(profile, s) for s in seeds}
    return {(row.label, s): train(configs[s][row.label], progress=progress)
            for row in AUDIT_ROWS for s in seeds}  # fmt: skip


def _attacked(run: Any, data: Any, plan: AuditPlan, seed: int) -> pd.DataFrame:
    """Logit-scaled PGD, the clamp pair and zero gradients on the first ``plan.n`` examples."""
    from mailviz import attacks, masking
    from mailviz.analysis import _as_xy

    x_all, y_all = _as_xy(data)
    n = len(y_all) if plan.n is None else min(plan.n, len(y_all))
    cfg, model = run.config, run.model
    device = next(model.parameters()).device
    eps, step = float(cfg.eps), float(cfg.effective_eval_step_size)
    cols: dict[str, list[np.ndarray]] = {}

    def gen(offset: int) -> torch.Generator:
        return torch.Generator(device=device).manual_seed(seed + offset)

    for lo in range(0, n, 500):
        x, y = x_all[lo : lo + 500][: n - lo].to(device), y_all[lo : lo + 500][: n - lo].to(device)
        res = masking.logit_scaled_pgd(model, x, y, eps, step, plan.steps, scales=plan.scales,
                                       generator=gen(1))  # fmt: skip
        parts = {LS: res.correct}
        parts |= {f"{LS} (s={s:g})": row for s, row in zip(plan.scales, res.by_scale, strict=True)}
        for name, loss, start, clamp, offset in (
            (CLAMP_NAMES[0], "ce", "uniform", True, 2),
            (CLAMP_NAMES[1], "ce", "uniform", False, 2),
            (CLAMP_NAMES[2], "kl", "normal", True, 3),
            (CLAMP_NAMES[3], "kl", "normal", False, 3),
        ):  # same offset → same random start: the pair differs only in the clamp
            x_adv = attacks.pgd(model, x, y, eps, step, plan.steps, loss=loss, start=start,
                                generator=gen(offset), clamp_start=clamp)  # fmt: skip
            with torch.no_grad():
                parts[name] = model(x_adv).argmax(dim=1) == y
        parts["zero gradient"] = masking.zero_gradient(model, x, y)
        for key, value in parts.items():
            cols.setdefault(key, []).append(value.cpu().numpy())
    frame = pd.DataFrame({k: np.concatenate(v) for k, v in cols.items()})
    return frame.assign(example=np.arange(n))


def _stages(run: Any, data: Any, plan: AuditPlan, seed: int) -> pd.DataFrame:
    from mailviz import masking
    from mailviz.analysis import _as_xy

    x, y = _as_xy(data)
    n = min(plan.aa_n, len(y))
    device = next(run.model.parameters()).device
    got = masking.autoattack_stages(run.model, x[:n].to(device), y[:n].to(device),
                                    float(run.config.eps), seed=seed)  # fmt: skip
    frame = pd.DataFrame({STAGE_NAMES[k]: v.cpu().numpy() for k, v in got.items() if k != "clean"})
    return frame.assign(example=np.arange(n))


def audit_per_example(
    runs: Mapping[tuple[str, int], Any], data: Any, plan: AuditPlan, *, progress: bool = False
) -> pd.DataFrame:
    """Per-example correctness of every audited run under every audit attack (cached per run).

    Returns:
        The tidy frame of :func:`mailviz.analysis.per_example_runs` — ``model, seed, attack, eps,
        example, correct`` — with the attacks ``nat, pgd20, cw20`` and the MAIL plan's AutoAttack
        column, :data:`LS` and one column per scale, the AutoAttack stages (``APGD-CE``,
        ``+APGD-T``, ``+FAB-T``, ``aa`` = standard AutoAttack) on the first ``plan.aa_n``
        examples, the four start-clamp attacks (:data:`CLAMP_NAMES`) and ``zero gradient``
        (there ``correct`` means "the input gradient is exactly zero").
    """
    from mailviz import analysis, evaluate
    from mailviz.config import config_hash

    if not runs:
        raise ValueError("runs is empty — build it with train_audit")
    mail = analysis.evaluation_plan(next(iter(runs.values())).config.profile)
    table_attacks = [a for a in dict.fromkeys([*mail.attacks, "cw20"]) if a != "aa"]
    per = analysis.per_example_runs(runs, data, table_attacks, n=plan.n, aa_n=mail.aa_n,
                                    progress=progress)  # fmt: skip
    frames = [per]
    for (label, run_seed), run in runs.items():
        cfg = run.config
        seed = int(cfg.seed)
        key = dict(kind="audit", model=config_hash(cfg), eps=cfg.eps, steps=plan.steps,
                   step=cfg.effective_eval_step_size, scales=list(plan.scales), n=plan.n,
                   seed=seed, data=getattr(data, "name", "pair"))  # fmt: skip
        wide = evaluate.cached_eval(
            key, lambda run=run, seed=seed: _attacked(run, data, plan, seed), root=run.path,
            name="audit",
        )  # fmt: skip
        stages = evaluate.cached_eval(
            {**key, "kind": "audit-aa", "aa_n": plan.aa_n},
            lambda run=run, seed=seed: _stages(run, data, plan, seed), root=run.path,
            name="audit-aa",
        )  # fmt: skip
        for wide_frame in (wide, stages):
            long = wide_frame.melt(id_vars="example", var_name="attack", value_name="correct")
            frames.append(long.assign(model=label, seed=int(run_seed), eps=float(cfg.eps)))
    out = pd.concat(frames, ignore_index=True)
    out["correct"] = out["correct"].astype(bool)
    return out[["model", "seed", "attack", "eps", "example", "correct"]]


def worst_case_frame(per: pd.DataFrame, subset: int) -> pd.DataFrame:
    """Rows :data:`WORST` added to ``per``: per example of the first ``subset``, correct only if
    correct under every attack that covers the whole subset (``nat`` and the signals excluded).

    The worst case is therefore never above any member attack, example by example.
    """
    sel = per[(per["example"] < subset) & ~per["attack"].isin(["nat", "zero gradient"])]
    covered = sel.groupby(["model", "seed", "attack"])["example"].nunique()
    full = covered[covered == subset].reset_index()["attack"].unique()
    sel = sel[sel["attack"].isin(full)]
    worst = sel.groupby(["model", "seed", "eps", "example"], sort=False)["correct"].all()
    worst = worst.reset_index().assign(attack=WORST)
    return pd.concat([per, worst[per.columns]], ignore_index=True)


def gap_frame(per: pd.DataFrame, subset: int) -> pd.DataFrame:
    """PGD-20 accuracy, worst-case accuracy and their gap (points) per model and seed, on the
    first ``subset`` examples (needs :func:`worst_case_frame`'s rows)."""
    sel = per[per["example"] < subset]
    pair = sel[sel["attack"].isin(["pgd20", WORST])]
    acc = pair.groupby(["model", "seed", "attack"], sort=False)["correct"].mean()
    wide = (100.0 * acc).unstack("attack").reset_index()
    wide = wide.rename(columns={"pgd20": "PGD-20", WORST: "worst case"})
    wide["gap"] = wide["PGD-20"] - wide["worst case"]
    return wide


def square_only(per: pd.DataFrame, subset: int) -> pd.DataFrame:
    """Per example of the first ``subset``: does it survive every white-box attack
    (:data:`WHITE_BOX` present) and fall only to the black-box Square stage of AutoAttack?

    Returns:
        Rows in the per-example format (``model, seed, attack, eps, example, correct``) with
        ``attack = "only Square"``; ``correct`` holds the answer.
    """
    sel = per[per["example"] < subset]
    keys = ["model", "seed", "eps", "example"]
    white = sel[sel["attack"].isin(WHITE_BOX)].groupby(keys, sort=False)["correct"].all()
    final = sel[sel["attack"] == "aa"].set_index(keys)["correct"]
    both = pd.concat([white.rename("white"), final.rename("aa")], axis=1, join="inner")
    out = (both["white"] & ~both["aa"]).rename("correct").reset_index()
    return out.assign(attack="only Square")[per.columns]


def signal_frame(per: pd.DataFrame, subset: int) -> pd.DataFrame:
    """The masking signals per model and seed (percent of examples):

    * ``zero gradient``: share of the evaluated examples whose input gradient is exactly zero;
    * ``only Square``: share of the first ``subset`` examples that only Square breaks
      (:func:`square_only`).
    """
    rows = pd.concat([per[per["attack"] == "zero gradient"], square_only(per, subset)])
    share = 100.0 * rows.groupby(["model", "seed", "attack"], sort=False)["correct"].mean()
    return share.unstack("attack").reset_index()[["model", "seed", "zero gradient",
                                                   "only Square"]].rename_axis(columns=None)
