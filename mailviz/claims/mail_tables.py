"""MAIL's results-table claims (Tables 4–7): accuracy differences of MAIL and its baselines.

Each claim compares two rows of a table on the same test examples (paired), per replicate; the
published gap beside it comes from ``mailviz/paper_numbers/mail.json``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mailviz.claims.core import estimate, replicate_estimates
from mailviz.claims.record import Claim, comparison

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


def table5_claims(per: pd.DataFrame, attacks: Sequence[str], *, lesson: str = "02") -> list[Claim]:
    """MAIL Table 5: MAIL-TRADES with PM beats MAIL-TRADES with MM on every column."""
    pairs = [(f"mail.table5.{a}", f"{_MAIL} Table 5", "PM", "MM", a,
              _paper_gap("table5", "margin", "PM", "MM", a)) for a in attacks]  # fmt: skip
    return accuracy_claims(per, pairs, lesson=lesson)


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
            pairs.append(
                (
                    f"mail.table7.{obj.lower()}.kl_nat_vs_{other.lower()}",
                    f"{_MAIL} Table 7",
                    row["KL"],
                    row[other],
                    "nat",
                    _paper_gap("table7", "attack", "KL", other, "nat", objective=obj),
                )
            )
        for other in ("PGD", "KL"):
            pairs.append(
                (
                    f"mail.table7.{obj.lower()}.cw_pgd_vs_{other.lower()}",
                    f"{_MAIL} Table 7",
                    row["CW"],
                    row[other],
                    "pgd20",
                    _paper_gap("table7", "attack", "CW", other, "pgd20", objective=obj),
                )
            )
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
