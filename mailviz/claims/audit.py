"""Claims of lesson 09, the gradient-masking audit (:mod:`mailviz.audit`).

Every effect is a difference of accuracies (points) on shared test examples, averaged over the
replicate seeds, with the interval of :func:`mailviz.claims.core.replicate_estimates` (seed
spread plus a paired bootstrap over the test examples). The per-method verdict asks whether
PGD-20 flatters a reweighted model *more than its unweighted base*: PGD-20 is a weaker attack
than the worst case for every model, so only the excess gap points at masking.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mailviz.claims.core import Estimate, replicate_estimates
from mailviz.claims.record import Claim, comparison, invariant

__all__ = ["matrix", "gap_claims", "literature_claims", "clamp_claims", "invariant_claims",
           "signal_estimates", "pgd_aa_gaps", "verdict_table"]  # fmt: skip

_CH = "Croce & Hein 2020 (AutoAttack)"
_LRAT = "Gao et al. 2021 (LRAT, arXiv:2106.15776)"
_HITAJ = "Hitaj et al. 2021 (arXiv:2103.01914)"
_CLAMP = "mailviz vs the authors' codes"


def matrix(per: pd.DataFrame, model: str, attack: str, subset: int | None = None) -> np.ndarray:
    """``correct [R, N]`` (float) of one model under one attack, seeds in order, examples below
    ``subset`` (``None``: all the attack has)."""
    sel = per[(per["model"] == model) & (per["attack"] == attack)]
    if subset is not None:
        sel = sel[sel["example"] < subset]
    if sel.empty:
        raise ValueError(f"no per-example results for {model!r} under {attack!r}; "
                         f"rows: {sorted(set(per['model']))}")  # fmt: skip
    wide = sel.pivot(index="seed", columns="example", values="correct").sort_index()
    return wide.to_numpy(dtype=np.float64)


def _gap(per: pd.DataFrame, model: str, subset: int) -> np.ndarray:
    """Per-example PGD-20 minus worst case on the subset, ``[R, S]``."""
    from mailviz.audit import WORST

    return matrix(per, model, "pgd20", subset) - matrix(per, model, WORST, subset)


def _mean_points(diff: np.ndarray) -> Estimate:
    (est,) = replicate_estimates(lambda idx: 100.0 * diff[:, idx].mean(1), diff.shape[1])
    return est


def gap_claims(per: pd.DataFrame, subset: int, *, lesson: str = "09") -> list[Claim]:
    """Per audited method: the PGD-20 − worst-case gap (bases AT and TRADES) or the excess of
    that gap over the unweighted base's (the reweighted methods) — the masking verdicts."""
    from mailviz.audit import AUDIT_ROWS

    out = []
    for row in AUDIT_ROWS:
        gap = _gap(per, row.label, subset)
        if row.base is None:
            out.append(comparison(
                f"audit.gap.{row.label}", lesson, _CH,
                f"PGD-20 overestimates {row.label}'s robustness (PGD-20 above the worst case)",
                _mean_points(gap), detail=f"first {subset} test examples",
            ))  # fmt: skip
            continue
        excess = gap - _gap(per, row.base, subset)
        out.append(comparison(
            f"audit.excess.{row.label}", lesson, _LRAT,
            f"PGD-20 overestimates {row.label} more than its base {row.base} "
            f"(PGD-20 − worst-case gap above {row.base}'s)",
            _mean_points(excess), detail=f"first {subset} test examples",
        ))  # fmt: skip
    return out


def literature_claims(per: pd.DataFrame, subset: int, *, lesson: str = "09") -> list[Claim]:
    """Readings of the literature after the seeds: logit scaling weakens GAIRAT's PGD-20
    accuracy, and more than AT's (Hitaj et al.); AT beats GAIRAT under the worst case (Gao et
    al.)."""
    from mailviz.audit import LS, WORST

    drop = matrix(per, "GAIRAT", "pgd20") - matrix(per, "GAIRAT", LS)
    drop_at = matrix(per, "AT", "pgd20") - matrix(per, "AT", LS)
    lead = matrix(per, "AT", WORST, subset) - matrix(per, "GAIRAT", WORST, subset)
    return [
        comparison("audit.ls.GAIRAT", lesson, _HITAJ,
                   "logit-scaled PGD-20 finds more adversarial examples on GAIRAT than PGD-20",
                   _mean_points(drop)),
        comparison("audit.ls.gairat_vs_at", lesson, _HITAJ,
                   "logit scaling costs GAIRAT more PGD-20 accuracy than it costs AT",
                   _mean_points(drop - drop_at)),
        comparison("audit.worst.at_vs_gairat", lesson, _LRAT,
                   "AT beats GAIRAT under the worst case of all attacks", _mean_points(lead),
                   detail=f"first {subset} test examples"),
    ]  # fmt: skip


def clamp_claims(per: pd.DataFrame, models: Sequence[str], *, lesson: str = "09") -> list[Claim]:
    """The start clamp: unclamped minus clamped accuracy, averaged over ``models`` (pairs share
    the random start), for the CE and the KL attack."""
    from mailviz.audit import CLAMP_NAMES

    out = []
    for loss, (clamped, raw) in (("CE", CLAMP_NAMES[:2]), ("KL", CLAMP_NAMES[2:])):
        diff = np.mean([matrix(per, m, raw) - matrix(per, m, clamped) for m in models], axis=0)
        out.append(comparison(
            f"audit.clamp.{loss.lower()}", lesson, _CLAMP,
            f"clamping the random start to [0, 1] makes the {loss} attack stronger",
            _mean_points(diff), detail=f"mean over {len(models)} methods",
        ))  # fmt: skip
    return out


def invariant_claims(per: pd.DataFrame, subset: int, *, lesson: str = "09") -> list[Claim]:
    """Facts of construction: the worst case is never above a member attack; AutoAttack's
    survivors only shrink from stage to stage and exclude every clean mistake."""
    from mailviz.audit import STAGE_NAMES, WORST

    sel = per[per["example"] < subset]
    wide = sel.pivot_table(index=["model", "seed", "example"], columns="attack",
                           values="correct", aggfunc="first")  # fmt: skip
    members = [c for c in wide.columns if c not in (WORST, "nat", "zero gradient")]
    worst_ok = bool((wide[WORST] <= wide[members].min(axis=1)).all())
    stages = [s for s in dict.fromkeys(STAGE_NAMES.values()) if s in wide.columns]
    shrink = all(bool((wide[b] <= wide[a]).all()) for a, b in zip(stages, stages[1:],
                                                                  strict=False))  # fmt: skip
    clean = bool((wide["aa"] <= wide["nat"]).all())
    return [
        invariant("audit.inv.worst", lesson, "the worst case is never above any member attack, "
                  "example by example", worst_ok),
        invariant("audit.inv.stages", lesson, "AutoAttack's survivors only shrink from stage to "
                  "stage and never include a clean mistake", shrink and clean),
    ]  # fmt: skip


def signal_estimates(per: pd.DataFrame, subset: int) -> pd.DataFrame:
    """Mean and interval (percent) of the two masking signals per method: zero input gradients
    (every evaluated example) and examples only Square breaks (:func:`mailviz.audit.square_only`,
    the first ``subset``)."""
    from mailviz.audit import AUDIT_ROWS, square_only

    both = pd.concat([per, square_only(per, subset)], ignore_index=True)
    rows = []
    for row in AUDIT_ROWS:
        for name in ("zero gradient", "only Square"):
            values = matrix(both, row.label, name)
            mean, low, high = 100.0 * float(values.mean()), np.nan, np.nan
            if values.shape[0] > 1 or values.std() > 0:  # else no interval can be formed
                est = _mean_points(values)
                mean, low, high = est.mean, est.low, est.high
            rows.append(dict(method=row.label, signal=name, mean=mean, low=low, high=high))
    return pd.DataFrame(rows)


def pgd_aa_gaps(per: pd.DataFrame, subset: int) -> pd.DataFrame:
    """PGD-20 minus standard AutoAttack accuracy (points) per method on the first ``subset``
    examples: mean over replicates, std and the 95 % interval of :func:`replicate_estimates`."""
    from mailviz.audit import AUDIT_ROWS

    rows = []
    for row in AUDIT_ROWS:
        diff = matrix(per, row.label, "pgd20", subset) - matrix(per, row.label, "aa", subset)
        est = _mean_points(diff)
        rows.append(dict(method=row.label, mean=est.mean, std=est.std, low=est.low,
                         high=est.high))  # fmt: skip
    return pd.DataFrame(rows).set_index("method")


def verdict_table(gaps: Sequence[Claim], signals: pd.DataFrame) -> pd.DataFrame:
    """One row per method: its gap claim, the verdict in words, and both masking signals."""
    words = {
        "excess": {"reproduced": "overestimated by PGD (beyond its base)",
                   "contradicted": "not overestimated (gap below its base)",
                   "inconclusive": "inconclusive (gap within its base's)"},
        "gap": {"reproduced": "PGD-20 above the worst case (reference)",
                "contradicted": "PGD-20 below the worst case",
                "inconclusive": "inconclusive"},
    }  # fmt: skip
    rows = []
    for claim in gaps:
        assert claim.estimate is not None
        kind = claim.id.split(".")[1]
        method = claim.id.split(".", 2)[2]
        rec = dict(method=method, effect=f"{kind} (points)",
                   mean=claim.estimate.mean, low=claim.estimate.low, high=claim.estimate.high,
                   verdict=words[kind][claim.verdict])  # fmt: skip
        for sig in ("zero gradient", "only Square"):
            s = signals[(signals["method"] == method) & (signals["signal"] == sig)].iloc[0]
            rec[f"{sig} (%)"] = f"{s['mean']:.1f} [{s['low']:.1f}, {s['high']:.1f}]"
        rows.append(rec)
    return pd.DataFrame(rows).set_index("method")
