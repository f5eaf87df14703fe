"""mailviz.audit and mailviz.claims.audit: frames, worst case, gaps, signals, verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mailviz import audit, claims
from mailviz.audit import AUDIT_ROWS, CLAMP_NAMES, LS, WORST

N, SUBSET, SEEDS = 100, 60, (0, 1, 2)
FULL = ["nat", "pgd20", "cw20", LS, *(f"{LS} (s={s:g})" for s in (0.1, 1, 10)), *CLAMP_NAMES,
        "zero gradient"]  # fmt: skip
PARTIAL = {"aa-fast": 80, "APGD-CE": SUBSET, "+APGD-T": SUBSET, "+FAB-T": SUBSET, "aa": SUBSET}


def synthetic(masked: str | None = "GAIRAT", seed: int = 0) -> pd.DataFrame:
    """A per-example frame of the seven methods; ``masked`` loses its PGD-20 survivors to the
    AutoAttack stages (a planted masking effect)."""
    rng = np.random.default_rng(seed)
    rows = []
    for row in AUDIT_ROWS:
        for s in SEEDS:
            nat = rng.random(N) < 0.95
            pgd = nat & (rng.random(N) < 0.6)
            alive = pgd.copy()
            for attack in FULL:
                if attack == "nat":
                    got = nat
                elif attack == "zero gradient":
                    got = rng.random(N) < (0.2 if row.label == masked else 0.0)
                else:
                    got = pgd & (rng.random(N) < 0.995) if attack != "pgd20" else pgd
                rows += [(row.label, s, attack, i, bool(got[i])) for i in range(N)]
            for attack, n in PARTIAL.items():
                drop = 0.6 if (row.label == masked and attack == "+APGD-T") else 0.01
                alive = alive & (rng.random(N) > drop)
                rows += [(row.label, s, attack, i, bool(alive[i])) for i in range(n)]
    per = pd.DataFrame(rows, columns=["model", "seed", "attack", "example", "correct"])
    return per.assign(eps=0.2)[["model", "seed", "attack", "eps", "example", "correct"]]


def test_worst_case_is_never_above_a_member_and_covers_the_subset() -> None:
    per = audit.worst_case_frame(synthetic(), SUBSET)
    worst = per[per["attack"] == WORST]
    assert worst["example"].max() == SUBSET - 1
    assert len(worst) == len(AUDIT_ROWS) * len(SEEDS) * SUBSET
    wide = per[per["example"] < SUBSET].pivot_table(
        index=["model", "seed", "example"], columns="attack", values="correct", aggfunc="first"
    )
    members = [c for c in wide.columns if c not in (WORST, "nat", "zero gradient")]
    assert (wide[WORST] == wide[members].all(axis=1)).all()


def test_gap_frame_matches_a_hand_count() -> None:
    per = audit.worst_case_frame(synthetic(), SUBSET)
    gaps = audit.gap_frame(per, SUBSET)
    sel = per[(per["model"] == "AT") & (per["seed"] == 1) & (per["example"] < SUBSET)]
    pgd = 100 * sel[sel["attack"] == "pgd20"]["correct"].mean()
    worst = 100 * sel[sel["attack"] == WORST]["correct"].mean()
    row = gaps[(gaps["model"] == "AT") & (gaps["seed"] == 1)].iloc[0]
    assert row["gap"] == pytest.approx(pgd - worst) and row["gap"] >= 0


def test_planted_masking_is_found_and_the_others_are_not() -> None:
    per = audit.worst_case_frame(synthetic("GAIRAT"), SUBSET)
    found = {c.id: c for c in claims.audit.gap_claims(per, SUBSET)}
    assert set(found) == {"audit.gap.AT", "audit.gap.TRADES", *(f"audit.excess.{r.label}"
                          for r in AUDIT_ROWS if r.base)}  # fmt: skip
    assert found["audit.excess.GAIRAT"].verdict == "reproduced"
    assert found["audit.excess.MAIL-TRADES"].verdict != "reproduced"
    signals = audit.signal_frame(per, SUBSET)
    table = claims.audit.signal_estimates(per, SUBSET)
    zero = table.set_index(["method", "signal"])["mean"]
    assert zero[("GAIRAT", "zero gradient")] > 5 and zero[("AT", "zero gradient")] == 0
    per_seed = signals.groupby("model")[["zero gradient", "only Square"]].mean()
    for r in table.itertuples():  # the per-seed frame and the estimates agree
        assert per_seed.loc[r.method, r.signal] == pytest.approx(r.mean)
    verdicts = claims.audit.verdict_table(list(found.values()), table)
    assert verdicts.loc["GAIRAT", "verdict"].startswith("overestimated")
    assert list(verdicts.index) == [r.label for r in AUDIT_ROWS]


def test_only_square_counts_examples_every_white_box_attack_missed() -> None:
    per = synthetic(None)
    # one example per model and seed that every white-box attack misses but Square breaks
    last = (per["example"] == 0) & per["attack"].isin(audit.WHITE_BOX)
    per.loc[last, "correct"] = True
    per.loc[(per["example"] == 0) & (per["attack"] == "aa"), "correct"] = False
    signals = audit.signal_frame(audit.worst_case_frame(per, SUBSET), SUBSET)
    assert (signals["only Square"] >= 100 / SUBSET - 1e-9).all()


def test_invariants_hold_on_a_consistent_frame_and_fail_on_a_broken_one() -> None:
    per = audit.worst_case_frame(synthetic(), SUBSET)
    assert all(c.verdict == "holds" for c in claims.audit.invariant_claims(per, SUBSET))
    broken = per.copy()
    bad = (broken["attack"] == "aa") & (broken["model"] == "AT") & (broken["example"] < SUBSET)
    broken.loc[bad, "correct"] = True  # AA 'survivors' that APGD-CE had already broken
    verdicts = {c.id: c.verdict for c in claims.audit.invariant_claims(broken, SUBSET)}
    assert verdicts["audit.inv.stages"] == "fails"


def test_literature_and_clamp_claims_have_sources_and_verdicts() -> None:
    per = audit.worst_case_frame(synthetic(), SUBSET)
    found = [*claims.audit.literature_claims(per, SUBSET),
             *claims.audit.clamp_claims(per, [r.label for r in AUDIT_ROWS])]  # fmt: skip
    assert [c.id for c in found] == ["audit.ls.GAIRAT", "audit.ls.gairat_vs_at",
                                     "audit.worst.at_vs_gairat",
                                     "audit.clamp.ce", "audit.clamp.kl"]  # fmt: skip
    assert all(c.source and c.verdict in claims.VERDICTS for c in found)


def test_pgd_aa_gaps_match_a_hand_count() -> None:
    per = synthetic()
    gaps = claims.audit.pgd_aa_gaps(per, SUBSET)
    sub = per[(per["model"] == "GAIRAT") & (per["example"] < SUBSET)]
    acc = 100 * sub.groupby("attack")["correct"].mean()
    assert gaps.loc["GAIRAT", "mean"] == pytest.approx(acc["pgd20"] - acc["aa"])
    assert (gaps["low"] <= gaps["mean"]).all() and (gaps["mean"] <= gaps["high"]).all()


def test_matrix_names_the_missing_row() -> None:
    with pytest.raises(ValueError, match="no per-example results for 'FAT'"):
        claims.audit.matrix(synthetic(), "FAT", "pgd20")


def test_plans_and_configs() -> None:
    assert audit.plan_for("quick").aa_n == 100 and audit.plan_for("paper").aa_n == 1000
    with pytest.raises(ValueError, match="unknown profile"):
        audit.plan_for("huge")
    configs = audit.audit_configs("quick", 0)
    assert list(configs) == [r.label for r in AUDIT_ROWS]
    assert configs["PGD+ours"].method == "weighted_at"
    assert configs["TRADES+ours"].method == "weighted_trades"
    with pytest.raises(ValueError, match="seeds"):
        audit.train_audit("quick", [])


def test_audit_per_example_on_a_tiny_model_is_cached(monkeypatch, tmp_path) -> None:
    """The real attacks on one tiny model: every attack present, the worst case below each, and
    a second call served from the cache (the attacks are not called again)."""
    from mailviz import analysis, masking
    from mailviz.data import load_dataset
    from mailviz.train import train

    monkeypatch.setenv("MAILVIZ_CACHE", str(tmp_path / "cache"))
    cfg = audit.audit_configs("smoke", 0)["AT"].replace(epochs=1, train_subset=64)
    run = train(cfg, progress=False)
    test = load_dataset(cfg.dataset, "test").subset(40)
    small = analysis.EvaluationPlan(("nat", "pgd20", "aa-fast"), None, 16, "tiny")
    monkeypatch.setattr(analysis, "evaluation_plan", lambda profile: small)
    plan = audit.AuditPlan(steps=3, scales=(0.1, 1.0, 10.0), aa_n=12, n=None)
    per = audit.audit_per_example({("AT", 0): run}, test, plan)
    counts = per.groupby("attack")["example"].nunique()
    assert counts["pgd20"] == 40 and counts[LS] == 40 and counts["aa"] == 12
    assert counts["aa-fast"] == 16 and set(CLAMP_NAMES) <= set(counts.index)
    with_worst = audit.worst_case_frame(per, 12)
    assert all(c.verdict == "holds" for c in claims.audit.invariant_claims(with_worst, 12))

    def boom(*args, **kwargs):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(masking, "logit_scaled_pgd", boom)
    monkeypatch.setattr(masking, "autoattack_stages", boom)
    again = audit.audit_per_example({("AT", 0): run}, test, plan)
    pd.testing.assert_frame_equal(again, per)


def test_the_three_figures_draw_from_the_frames_and_refuse_others() -> None:
    from matplotlib.figure import Figure

    from mailviz import analysis, audit_plots

    per = audit.worst_case_frame(synthetic(), SUBSET)
    results = analysis.accuracies(per[per["attack"].isin(["pgd20", "cw20", LS, "aa", WORST])])
    figs = [audit_plots.attack_dots(results), audit_plots.scale_curves(per),
            audit_plots.gap_dots(audit.gap_frame(per, SUBSET))]  # fmt: skip
    assert all(isinstance(f, Figure) for f in figs)
    assert len(figs[1].axes[0].get_lines()) >= 2 * len(AUDIT_ROWS)  # a curve and a dashed line
    with pytest.raises(ValueError, match="logit-scaled"):
        audit_plots.scale_curves(per[per["attack"] == "pgd20"])
    with pytest.raises(ValueError, match="gap_frame"):
        audit_plots.gap_dots(results)
    with pytest.raises(ValueError, match="accuracies"):
        audit_plots.attack_dots(per.drop(columns="correct"))
