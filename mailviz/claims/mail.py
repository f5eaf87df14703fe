r"""The claims of the MAIL lessons: 01 path dependency, 02 PM vs MM, 03 weights, 06 tables.

Each claim's statistic is computed per replicate on the test (or training) examples and
re-computed on paired bootstrap resamples of them (:func:`mailviz.claims.core.replicate_estimates`).
The published numbers beside the claims come from ``mailviz/paper_numbers/mail.json``
(:func:`mailviz.paper.paper_table`); MAIL's appendix Table 4 covers SVHN and CIFAR-100, both are
shown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mailviz.claims.core import estimate, replicate_estimates
from mailviz.claims.record import Claim, comparison, invariant

__all__ = [
    "correct_matrix",
    "accuracy_claims",
    "path_claims",
    "margin_claims",
    "weight_function_claims",
    "tilt_claims",
    "table4_claims",
    "table5_claims",
    "table6_claims",
    "table7_claims",
    "cw_confidence_claims",
    "plateau_claims",
]

_MAIL = "MAIL"
#: MAIL's column names for our attacks.
_COLUMN = {"nat": "NAT", "pgd20": "PGD", "aa": "AA", "aa-fast": "AA"}


def correct_matrix(per: pd.DataFrame, model: str, attack: str) -> tuple[list[int], np.ndarray]:
    """``(seeds, correct [R, N])`` of one row and attack of a per-example frame
    (:func:`mailviz.analysis.per_example_runs`)."""
    sel = per[(per["model"] == model) & (per["attack"] == attack)]
    if sel.empty:
        rows = sorted(set(per["model"]))
        raise ValueError(f"no per-example results for {model!r} under {attack!r}; rows: {rows}")
    wide = sel.pivot(index="seed", columns="example", values="correct").sort_index()
    return [int(s) for s in wide.index], wide.to_numpy(dtype=np.float64)


def _paper_gap(table: str, index: str, a: str, b: str, attack: str, **where: Any) -> str:
    """``"+1.40 (81.84 vs 80.44)"`` from MAIL's published table (per block if it has several)."""
    from mailviz.paper import paper_table

    t = paper_table("mail", table)
    for key, value in where.items():
        t = t[t[key] == value]
    col = _COLUMN.get(attack, attack)
    blocks = ["dataset"] if "dataset" in t.columns else []
    parts = []
    for key, part in t.groupby(blocks, sort=False) if blocks else [((), t)]:
        rows = part.set_index(index)
        if a not in rows.index or b not in rows.index or col not in rows.columns:
            continue
        va, vb = float(rows.loc[a, col]), float(rows.loc[b, col])
        label = f"{key[0] if isinstance(key, tuple) else key}: " if blocks else ""
        parts.append(f"{label}{va - vb:+.2f} ({va:.2f} vs {vb:.2f})")
    return "; ".join(parts)


def accuracy_claims(
    per: pd.DataFrame,
    pairs: Sequence[tuple[str, str, str, str, str, str]],
    *,
    lesson: str,
) -> list[Claim]:
    """One comparison per ``(id, source, higher, lower, attack, paper)``: "``higher`` beats
    ``lower`` under ``attack``", the paired accuracy difference in points over the replicates
    of a :func:`mailviz.analysis.per_example_runs` frame."""
    from mailviz.plots import attack_label

    out = []
    for claim_id, source, higher, lower, attack, paper in pairs:
        seeds_a, a = correct_matrix(per, higher, attack)
        seeds_b, b = correct_matrix(per, lower, attack)
        if seeds_a != seeds_b:
            raise ValueError(f"{higher!r} and {lower!r} have different seeds: {seeds_a}, {seeds_b}")
        (est,) = replicate_estimates(lambda idx, a=a, b=b: 100.0 * (a[:, idx].mean(1)
                                                                    - b[:, idx].mean(1)),
                                     a.shape[1])  # fmt: skip
        out.append(comparison(claim_id, lesson, source,
                              f"{higher} beats {lower} under {attack_label(attack)}", est,
                              unit="points", paper=paper))  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------
# Lesson 01: κ depends on the path, PM much less
# --------------------------------------------------------------------------------------------


def _spearman_mean(values: np.ndarray) -> np.ndarray:
    """Mean pairwise Spearman ρ between the settings: ``values [R, S, N]`` → ``[R]``."""
    from scipy.stats import rankdata

    ranks = rankdata(values, axis=-1)
    centred = ranks - ranks.mean(axis=-1, keepdims=True)
    norm = np.sqrt((centred**2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.einsum("rsn,rtn->rst", centred, centred) / (norm[:, :, None] * norm[:, None, :])
    s = values.shape[1]
    off = ~np.eye(s, dtype=bool)
    return np.nanmean(corr[:, off], axis=1)


def path_claims(tables: Mapping[int, pd.DataFrame], *, lesson: str = "01") -> list[Claim]:
    """MAIL §3: κ of a fixed example changes with the attack's path, PM ranks more stably.

    ``tables`` maps each replicate seed to :func:`mailviz.analysis.kappa_pm_table` of its model
    (the same five settings). Claims: the share of examples whose κ changes under a new random
    start, and under each other step size, is above zero; the mean pairwise Spearman ρ of PM
    across the settings exceeds κ's.
    """
    seeds = sorted(tables)
    settings = list(dict.fromkeys(tables[seeds[0]]["setting"]))

    def wide(value: str) -> np.ndarray:
        return np.stack([tables[s].pivot(index="setting", columns="example", values=value)
                         .loc[settings].to_numpy(dtype=np.float64) for s in seeds])  # [R, S, N]

    kappa, pm = wide("kappa"), wide("pm")
    n = kappa.shape[2]

    def stats(idx: np.ndarray) -> np.ndarray:
        k = kappa[:, :, idx]
        changed = (k[:, 1:, :] != k[:, :1, :]).mean(axis=2)  # [R, S-1] vs the reference
        rho_gap = _spearman_mean(pm[:, :, idx]) - _spearman_mean(k)
        return np.concatenate([changed, rho_gap[:, None]], axis=1)

    ests = replicate_estimates(stats, n)
    claims = [comparison(
        f"mail.path.changed.{i}", lesson, f"{_MAIL} §3 (path dependency of κ)",
        f"κ of a fixed example changes when only the attack changes: {settings[0]} → {name}",
        est, unit="share", decimals=3, paper="κ depends on the start and the step size",
    ) for i, (name, est) in enumerate(zip(settings[1:], ests[:-1], strict=True), start=1)]
    claims.append(comparison(
        "mail.path.pm_ranks_better", lesson, f"{_MAIL} §3",
        "PM ranks the examples more consistently across the attack settings than κ "
        "(mean pairwise Spearman ρ, PM minus κ)", ests[-1], unit="Spearman ρ", decimals=3,
        paper="PM is the more reliable measure",
    ))  # fmt: skip
    return claims


# --------------------------------------------------------------------------------------------
# Lesson 02: PM vs MM
# --------------------------------------------------------------------------------------------


def margin_claims(
    agreements: Mapping[int, pd.Series],
    omega: pd.DataFrame,
    sweeps: Mapping[int, pd.DataFrame],
    *,
    lesson: str = "02",
) -> list[Claim]:
    """Lesson 02's own analysis of Table 5: the identity, and MM's more concentrated weights.

    Args:
        agreements: seed → :func:`mailviz.analysis.margin_disagreement` of that replicate.
        omega: :func:`mailviz.analysis.weights_by` frame with ``seed`` and ``margin_used``
            (``PM``/``MM``) columns: MAIL-TRADES' ω on the training set under each objective.
        sweeps: seed → :func:`mailviz.analysis.scale_sweep`.
    """
    seeds = sorted(agreements)
    sign = min(float(agreements[s]["sign_agreement"]) for s in seeds)
    err = max(float(agreements[s]["identity_error"]) for s in seeds)
    claims = [
        invariant("mail.pm_mm.sign", lesson, "PM and MM agree in sign on every example",
                  sign == 1.0, detail=f"lowest share {sign:.4f} over {len(seeds)} replicates"),
        invariant("mail.pm_mm.identity", lesson, "PM = (1 − r)·tanh(MM/2) to rounding",
                  err < 1e-6, detail=f"largest error {err:.1e}"),
    ]  # fmt: skip
    ess_t = [bool((sweeps[s].pivot(index="temperature", columns="margin", values="ess")
                   .pipe(lambda t: t["MM"] < t["PM"])).all()) for s in seeds]  # fmt: skip
    claims.append(invariant(
        "mail.pm_mm.sweep", lesson, "with the same γ, β, MM's weights have the smaller effective "
        "sample size at every logit scale of the sweep (every replicate)", all(ess_t),
        detail=f"{sum(ess_t)} of {len(ess_t)} replicates", source="this lesson's sweep",
    ))  # fmt: skip
    w = {m: np.stack([omega[(omega["margin_used"] == m) & (omega["seed"] == s)]["weight"]
                      .to_numpy(dtype=np.float64) for s in seeds]) for m in ("PM", "MM")}
    wrong = {m: np.stack([~omega[(omega["margin_used"] == m) & (omega["seed"] == s)]["correct"]
                          .to_numpy(dtype=bool) for s in seeds]) for m in ("PM", "MM")}

    def stats(idx: np.ndarray) -> np.ndarray:
        def ess(x: np.ndarray) -> np.ndarray:
            return x.sum(1) ** 2 / (x.shape[1] * (x**2).sum(1))

        def share(m: str) -> np.ndarray:
            x = w[m][:, idx]
            return (x * wrong[m][:, idx]).sum(1) / x.sum(1)

        return np.stack([ess(w["PM"][:, idx]) - ess(w["MM"][:, idx]),
                         share("MM") - share("PM")], axis=1)  # fmt: skip

    ess_gap, share_gap = replicate_estimates(stats, w["PM"].shape[1])
    claims.append(comparison(
        "mail.pm_mm.ess", lesson, f"{_MAIL} Table 5 (reading)",
        "inside MAIL-TRADES' objective MM concentrates the weights more than PM (effective "
        "sample size of ω on the training x′, PM minus MM)", ess_gap, unit="share of N",
        decimals=3, paper="PM's bounded scale gives steadier weights",
    ))  # fmt: skip
    claims.append(comparison(
        "mail.pm_mm.misclassified", lesson, f"{_MAIL} Table 5 (reading)",
        "MM puts more of the weight mass on misclassified x′ than PM (MM minus PM)",
        share_gap, unit="share", decimals=3,
    ))  # fmt: skip
    return claims


def table5_claims(per: pd.DataFrame, attacks: Sequence[str], *, lesson: str = "02") -> list[Claim]:
    """MAIL Table 5: MAIL-TRADES with PM beats MAIL-TRADES with MM on every column."""
    pairs = [(f"mail.table5.{a}", f"{_MAIL} Table 5", "PM", "MM", a,
              _paper_gap("table5", "margin", "PM", "MM", a)) for a in attacks]  # fmt: skip
    return accuracy_claims(per, pairs, lesson=lesson)


# --------------------------------------------------------------------------------------------
# Lesson 03: weight functions on a real adversarial test set
# --------------------------------------------------------------------------------------------


def weight_function_claims(
    runs: Mapping[int, pd.DataFrame],
    *,
    gamma: float = 10.0,
    beta: float = -0.5,
    lesson: str = "03",
) -> list[Claim]:
    """MAIL Table 6's reading: the hinge ignores the misclassified examples, the sigmoid does not.

    ``runs`` maps each replicate seed to :func:`mailviz.evaluate.per_example` of its AT model
    (PGD-20). Invariants: the sigmoid falls with PM; the hinge is exactly zero below β. Claims:
    the sigmoid puts more of the weight mass on misclassified examples than the hinge, and more
    than uniform weights would.
    """
    import torch

    from mailviz import weights

    seeds = sorted(runs)
    pm = np.stack([runs[s]["margin"].to_numpy(dtype=np.float64) for s in seeds])
    wrong = np.stack([~runs[s]["correct"].to_numpy(dtype=bool) for s in seeds])
    grid = torch.linspace(-1, 1, 201, dtype=torch.float64)
    curve = weights.sigmoid(grid, gamma, beta).numpy()
    sig = weights.sigmoid(torch.from_numpy(pm), gamma, beta).numpy()
    hinge = weights.hinge(torch.from_numpy(pm), gamma, beta).numpy()
    claims = [
        invariant("mail.weights.sigmoid_falls", lesson, "the sigmoid weight is strictly "
                  "decreasing in PM", bool((np.diff(curve) < 0).all())),
        invariant("mail.weights.hinge_zero", lesson, f"the hinge gives exactly zero weight to "
                  f"every example with PM < β = {beta:g}, and positive weight above",
                  bool((hinge[pm < beta] == 0).all() and (hinge[pm > beta] > 0).all())),
    ]  # fmt: skip

    def share(w: np.ndarray, idx: np.ndarray) -> np.ndarray:
        x = w[:, idx]
        total = x.sum(1)
        return np.where(total > 0, (x * wrong[:, idx]).sum(1) / np.where(total > 0, total, 1), 0)

    def stats(idx: np.ndarray) -> np.ndarray:
        s_sig = share(sig, idx)
        return np.stack([s_sig - share(hinge, idx), s_sig - wrong[:, idx].mean(1)], axis=1)

    vs_hinge, vs_uniform = replicate_estimates(stats, pm.shape[1])
    claims.append(comparison(
        "mail.weights.sigmoid_vs_hinge", lesson, f"{_MAIL} Table 6 (reading)",
        f"the sigmoid (γ = {gamma:g}, β = {beta:g}) puts more of the weight mass on "
        "misclassified x′ than the hinge with the same γ, β", vs_hinge, unit="share",
        decimals=3, paper="the hinge ignores the most vulnerable examples",
    ))  # fmt: skip
    claims.append(comparison(
        "mail.weights.sigmoid_vs_uniform", lesson, f"{_MAIL} Alg. 2",
        "the sigmoid puts more of the weight mass on misclassified x′ than uniform weights",
        vs_uniform, unit="share", decimals=3,
    ))  # fmt: skip
    return claims


# --------------------------------------------------------------------------------------------
# Lesson 06: Tables 4, 6, 7 and the weights at the end of training
# --------------------------------------------------------------------------------------------


def tilt_claims(omega: pd.DataFrame, uniform: Sequence[str], reweighting: Sequence[str], *,
                column: str = "method", lesson: str = "06") -> list[Claim]:  # fmt: skip
    """The weights at the end of training: uniform methods give ω = 1 exactly (invariant); each
    reweighting method puts more than its share of the weight mass on misclassified x′."""
    flat = omega[omega[column].isin(uniform)]
    ones = bool((flat["weight"] == 1.0).all())
    claims = [invariant("mail.tilt.uniform", lesson, f"{', '.join(uniform)} give every example "
                        "ω = 1", ones, source="the objectives")]  # fmt: skip
    for method in reweighting:
        sel = omega[omega[column] == method]
        seeds = sorted(set(sel["seed"]))
        w = np.stack([sel[sel["seed"] == s]["weight"].to_numpy(dtype=np.float64) for s in seeds])
        wrong = np.stack([~sel[sel["seed"] == s]["correct"].to_numpy(dtype=bool) for s in seeds])

        def stats(idx: np.ndarray, w: np.ndarray = w, wrong: np.ndarray = wrong) -> np.ndarray:
            x = w[:, idx]
            return (x * wrong[:, idx]).sum(1) / x.sum(1) - wrong[:, idx].mean(1)

        (est,) = replicate_estimates(stats, w.shape[1])
        claims.append(comparison(
            f"mail.tilt.{method}", lesson, f"{_MAIL} Alg. 2–3 / GAIRAT",
            f"{method} puts more of the weight mass on misclassified training x′ than their "
            "share (weight share minus example share)", est, unit="share", decimals=3,
        ))  # fmt: skip
    return claims


def table4_claims(per: pd.DataFrame, aa: str, *, lesson: str = "06") -> list[Claim]:
    """The statements the appendix reads from its Table 4."""
    t = "table4"
    rows = [
        ("mail.table4.mail_trades_aa_vs_at", "MAIL-TRADES", "AT", aa),
        ("mail.table4.mail_trades_aa_vs_gairat", "MAIL-TRADES", "GAIRAT", aa),
        ("mail.table4.mail_at_pgd_vs_at", "MAIL-AT", "AT", "pgd20"),
        ("mail.table4.gairat_pgd_vs_at", "GAIRAT", "AT", "pgd20"),
        ("mail.table4.at_aa_vs_gairat", "AT", "GAIRAT", aa),
        ("mail.table4.fat_nat_vs_at", "FAT", "AT", "nat"),
    ]
    pairs = [(i, f"{_MAIL} Table 4", a, b, atk, _paper_gap(t, "method", a, b, atk))
             for i, a, b, atk in rows]  # fmt: skip
    return accuracy_claims(per, pairs, lesson=lesson)


def table6_claims(per: pd.DataFrame, aa: str, *, lesson: str = "06") -> list[Claim]:
    """MAIL Table 6: the sigmoid and the step beat the hinge; sigmoid vs step."""
    rows = [
        ("mail.table6.sigmoid_vs_hinge_aa", "sigmoid", "hinge", aa),
        ("mail.table6.step_vs_hinge_aa", "step", "hinge", aa),
        ("mail.table6.sigmoid_vs_step_aa", "sigmoid", "step", aa),
        ("mail.table6.sigmoid_vs_hinge_nat", "sigmoid", "hinge", "nat"),
    ]
    pairs = [(i, f"{_MAIL} Table 6", a, b, atk, _paper_gap("table6", "weight_fn", a, b, atk))
             for i, a, b, atk in rows]  # fmt: skip
    return accuracy_claims(per, pairs, lesson=lesson)


def table7_claims(per: pd.DataFrame, aa: str, *, lesson: str = "06") -> list[Claim]:
    """MAIL Table 7: KL gives the best NAT, CW the best PGD accuracy, and the TRADES objective's
    AA varies less across the three perturbations than AT's."""
    from mailviz.paper import paper_table

    pairs = []
    for obj in ("AT", "TRADES"):
        row = {p: f"MAIL-{obj}, {p}" for p in ("PGD", "CW", "KL")}
        for other in ("PGD", "CW"):
            pairs.append((f"mail.table7.{obj.lower()}.kl_nat_vs_{other.lower()}",
                          f"{_MAIL} Table 7", row["KL"], row[other], "nat",
                          _paper_gap("table7", "attack", "KL", other, "nat", objective=obj)))
        for other in ("PGD", "KL"):
            pairs.append((f"mail.table7.{obj.lower()}.cw_pgd_vs_{other.lower()}",
                          f"{_MAIL} Table 7", row["CW"], row[other], "pgd20",
                          _paper_gap("table7", "attack", "CW", other, "pgd20", objective=obj)))
    claims = accuracy_claims(per, pairs, lesson=lesson)
    mats = {(obj, p): correct_matrix(per, f"MAIL-{obj}, {p}", aa)[1]
            for obj in ("AT", "TRADES") for p in ("PGD", "CW", "KL")}  # fmt: skip

    def spread(idx: np.ndarray) -> np.ndarray:
        def rng(obj: str) -> np.ndarray:
            acc = np.stack([100.0 * mats[(obj, p)][:, idx].mean(1) for p in ("PGD", "CW", "KL")])
            return acc.max(0) - acc.min(0)

        return rng("AT") - rng("TRADES")

    (est,) = replicate_estimates(spread, mats[("AT", "PGD")].shape[1])
    t7 = paper_table("mail", "table7")
    ranges = {o: float(t7[t7["objective"] == o]["AA"].max() - t7[t7["objective"] == o]["AA"].min())
              for o in ("AT", "TRADES")}  # fmt: skip
    claims.append(comparison(
        "mail.table7.aa_stability", lesson, f"{_MAIL} Table 7",
        "the TRADES objective's AA varies less across the three training perturbations than "
        "AT's (range of AA, AT minus TRADES)", est, unit="points",
        paper=f"{ranges['AT'] - ranges['TRADES']:+.2f} ({ranges['AT']:.2f} vs "
              f"{ranges['TRADES']:.2f})",
    ))  # fmt: skip
    return claims


def cw_confidence_claims(per: pd.DataFrame, *, lesson: str = "06") -> list[Claim]:
    """Our test of Table 7's CW rows: a training CW attack with κ_c = 50 beats κ_c = 0, and
    whether it then matches the PGD-trained row (PGD-20)."""
    pairs = []
    for obj in ("AT", "TRADES"):
        k50 = f"MAIL-{obj}, CW, κ_c=50"
        for other in ("CW", "PGD"):
            pairs.append((f"mail.cw50.{obj.lower()}.vs_{other.lower()}",
                          "this lesson (Table 7's CW rows)", k50, f"MAIL-{obj}, {other}",
                          "pgd20", ""))  # fmt: skip
    return accuracy_claims(per, pairs, lesson=lesson)


def plateau_claims(losses: Sequence[float], *, lesson: str = "06") -> list[Claim]:
    """AWP's recipe check: the final training loss left the chance plateau ``ln 10`` (effect:
    ``ln 10 − loss``, nats, over the replicates; seed-to-seed interval only — a training loss
    has no test-set component — so nothing with a single replicate)."""
    values = [math.log(10.0) - float(v) for v in losses]
    if len(values) < 2:
        return []
    return [comparison(
        "mail.awp.plateau", lesson, "this lesson (AWP recipe)",
        "AWP's training loss leaves the chance plateau ln 10 once it warms up with plain AT",
        estimate(values), unit="nats", decimals=3,
    )]  # fmt: skip
