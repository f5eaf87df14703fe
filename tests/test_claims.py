"""mailviz.claims: intervals over replicates, verdicts, coverage, the claims table and its prose."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailviz import claims
from mailviz.claims import core, report


def _replicates(rng: np.random.Generator, effect: float, *, reps: int = 3, n: int = 540,
                seed_sd: float = 1.5, base: float = 0.65) -> tuple[np.ndarray, np.ndarray]:
    """Correctness ``[R, N]`` of two methods on one freshly drawn test set.

    Each example has its own chance of being classified correctly (shared by both methods: the
    pairing on examples); each replicate shifts a method's accuracy by a seed effect (training
    noise, ``seed_sd`` points); method A is ``effect`` points better than B in expectation.
    """
    p = rng.beta(0.8 * base, 0.8 * (1 - base), size=n)  # mean ``base``, most near 0 or 1

    def method(shift: float) -> np.ndarray:
        out = []
        for _ in range(reps):
            bump = rng.normal(0.0, seed_sd / 100)
            out.append(rng.random(n) < np.clip(p + shift + bump, 0.0, 1.0))
        return np.stack(out).astype(float)

    return method(effect / 100), method(0.0)


def _gap(a: np.ndarray, b: np.ndarray):
    return lambda idx: 100.0 * (a[:, idx].mean(1) - b[:, idx].mean(1))


# --------------------------------------------------------------------------------------------
# the statistics


def test_estimate_matches_the_t_interval_for_seeds_alone() -> None:
    from scipy import stats

    values = [2.0, 3.0, 4.5, 1.0]
    e = claims.estimate(values)
    sd = float(np.std(values, ddof=1))
    half = stats.t.ppf(0.975, 3) * sd / 2
    assert e.mean == pytest.approx(2.625) and e.std == pytest.approx(sd)
    assert (e.low, e.high) == pytest.approx((2.625 - half, 2.625 + half))
    assert e.df == pytest.approx(3.0) and e.seed_variation


def test_estimate_with_one_replicate_rests_on_the_test_set() -> None:
    e = claims.estimate([5.0], se_test=1.0, examples=540)
    assert math.isnan(e.std) and not e.seed_variation
    assert e.df == pytest.approx(539.0)
    assert e.high - e.mean == pytest.approx(1.9643, abs=1e-3)
    with pytest.raises(ValueError, match="one replicate"):
        claims.estimate([5.0])


def test_estimate_combines_components_with_satterthwaite() -> None:
    e = claims.estimate([1.0, 2.0, 3.0], se_test=0.5, examples=100)
    a, b = 1.0 / 3, 0.25
    assert e.se == pytest.approx(math.sqrt(a + b))
    assert e.df == pytest.approx((a + b) ** 2 / (a**2 / 2 + b**2 / 99))


@pytest.mark.parametrize("bad", [dict(values=[]), dict(values=[1.0, math.nan]),
                                 dict(values=[1.0, 2.0], se_test=-1.0),
                                 dict(values=[1.0, 2.0], confidence=1.5)])  # fmt: skip
def test_estimate_rejects_bad_input(bad) -> None:
    with pytest.raises(ValueError):
        claims.estimate(**bad)


def test_bootstrap_se_of_an_accuracy_is_binomial() -> None:
    rng = np.random.default_rng(3)
    correct = rng.random(1000) < 0.6
    se = claims.example_bootstrap_se(lambda i: 100 * correct[i].mean(), 1000, resamples=800)
    assert se == pytest.approx(100 * math.sqrt(0.6 * 0.4 / 1000), rel=0.12)
    vector = claims.example_bootstrap_se(lambda i: np.array([correct[i].mean(), 0.0 * i.sum()]),
                                         1000)  # fmt: skip
    assert vector.shape == (2,) and vector[1] == 0.0
    with pytest.raises(ValueError, match="examples"):
        claims.example_bootstrap_se(lambda i: 0.0, 1)


def test_pairing_on_examples_shrinks_the_test_component() -> None:
    rng = np.random.default_rng(11)
    a, b = _replicates(rng, 2.0, seed_sd=0.0)
    paired = core.example_bootstrap_se(lambda i: float(np.mean(_gap(a, b)(i))), a.shape[1])
    # the same difference with B evaluated on independently resampled examples (unpaired)
    unpaired = math.hypot(
        core.example_bootstrap_se(lambda i: float(100 * a[:, i].mean()), a.shape[1], seed=1),
        core.example_bootstrap_se(lambda i: float(100 * b[:, i].mean()), a.shape[1], seed=2),
    )
    assert paired < 0.8 * unpaired


def test_verdicts_on_synthetic_replicates_with_known_truth() -> None:
    rng = np.random.default_rng(2024)
    real_a, real_b = _replicates(rng, 12.0)
    real = claims.replicate_estimate(_gap(real_a, real_b), real_a.shape[1])
    assert claims.verdict(real) == "reproduced"
    assert claims.verdict(real, "less") == "contradicted"
    rev = claims.replicate_estimate(_gap(real_b, real_a), real_a.shape[1])
    assert claims.verdict(rev) == "contradicted"
    # pure noise: inconclusive for all but about 5 % of draws (the coverage test below); a
    # fixed draw keeps this test deterministic
    null_a, null_b = _replicates(np.random.default_rng(99), 0.0)
    noise = claims.replicate_estimate(_gap(null_a, null_b), null_a.shape[1])
    assert claims.verdict(noise) == "inconclusive"
    assert claims.verdict(real, threshold=real.high + 1) == "contradicted"
    with pytest.raises(ValueError, match="direction"):
        claims.verdict(real, "sideways")


def test_interval_coverage_of_null_effects() -> None:
    """At least 90 % of 95 % intervals contain the true effect 0 (200 simulated null effects).

    Each simulation draws a new test set, new seed effects and new correctness, so both
    components of the variance are real; the interval has to cover them together.
    """
    rng = np.random.default_rng(7)
    covered = 0
    for k in range(200):
        a, b = _replicates(rng, 0.0, reps=3, n=300)
        est = core.replicate_estimate(_gap(a, b), a.shape[1], resamples=100, seed=k)
        covered += est.low <= 0.0 <= est.high
    assert covered >= 180, f"{covered} of 200 intervals cover 0"


@given(st.lists(st.floats(-50, 50), min_size=2, max_size=6))
def test_interval_contains_the_mean_and_widens_with_spread(values) -> None:
    e = claims.estimate(values)
    assert e.low <= e.mean <= e.high
    wider = claims.estimate([2 * v for v in values])
    assert wider.high - wider.low == pytest.approx(2 * (e.high - e.low), abs=1e-9)


def test_replicate_estimates_share_one_bootstrap() -> None:
    rng = np.random.default_rng(5)
    a, b = _replicates(rng, 8.0)
    both = core.replicate_estimates(lambda i: np.stack([_gap(a, b)(i), -_gap(a, b)(i)], 1),
                                    a.shape[1])  # fmt: skip
    assert both[0].mean == pytest.approx(-both[1].mean)
    assert both[0].se_test == pytest.approx(both[1].se_test)
    with pytest.raises(ValueError, match="shape"):
        core.replicate_estimates(lambda i: np.zeros((2, 2, 2)), 10)


# --------------------------------------------------------------------------------------------
# claims, table, prose


def _three() -> list[claims.Claim]:
    est = claims.estimate([4.0, 5.0, 6.0], se_test=0.5, examples=540)
    noise = claims.estimate([-1.0, 0.5, 1.0], se_test=0.5, examples=540)
    return [
        claims.invariant("demo.identity", "02", "PM = (1 - r) tanh(MM/2)", True,
                         detail="largest error 1e-16"),
        claims.comparison("demo.win", "06", "MAIL Table 6", "sigmoid beats hinge", est,
                          paper=7.2),
        claims.comparison("demo.noise", "06", "MAIL Table 4", "FAT beats AT", noise,
                          paper="+0.13"),
    ]


def test_comparison_all_of_and_invariants() -> None:
    win, noise = _three()[1:]
    assert win.verdict == "reproduced" and win.paper == "+7.20" and win.passed
    assert noise.verdict == "inconclusive" and not noise.passed
    both = claims.all_of("demo.both", "06", "MAIL", "both", [win, noise])
    assert both.verdict == "inconclusive" and both.estimate == noise.estimate
    assert "2 parts" in both.detail
    bad = claims.comparison("demo.bad", "06", "s", "x", claims.estimate([-5.0, -4.0, -6.0]))
    assert claims.all_of("demo.all", "06", "s", "all", [win, bad]).verdict == "contradicted"
    assert claims.all_of("demo.ok", "06", "s", "ok", [win, win]).verdict == "reproduced"
    assert claims.invariant("demo.no", "05", "x", False).verdict == "fails"
    with pytest.raises(ValueError, match="comparison"):
        claims.all_of("x", "06", "s", "x", [])
    with pytest.raises(ValueError, match="lesson"):
        claims.comparison("x", "6", "s", "x", win.estimate)


def test_frame_and_generated_prose() -> None:
    table = claims.frame(_three(), registry={"demo.win": "reproduced"})
    assert list(table["verdict"]) == ["holds", "reproduced", "inconclusive"]
    assert list(table["asserted"]) == [True, True, False]
    text = claims.what_we_saw(table).data
    assert "1 reproduced, 0 contradicted, 1 inconclusive" in text and "1 of 1 hold" in text
    assert "ours +5.00 ± 1.00 points" in text and "paper: +7.20" in text
    assert "*(asserted)*" in text and "3 replicates" in text
    one = claims.frame([claims.comparison("x.one", "05", "s", "x",
                                          claims.estimate([1.0], se_test=0.5, examples=100))],
                       registry={})  # fmt: skip
    assert "test-set sampling alone" in claims.what_we_saw(one).data
    with pytest.raises(ValueError, match="unique"):
        claims.frame(_three() + _three()[:1])


def test_save_and_collect_round_trip(tmp_path: Path) -> None:
    table = claims.frame(_three(), registry={})
    path = claims.save(table, notebook="06_mail_vs_baselines", root=tmp_path)
    assert path == tmp_path / "06_mail_vs_baselines" / "claims.csv"
    back = claims.collect(tmp_path)
    assert list(back["id"]) == list(table["id"])
    assert back["mean"].iloc[1] == pytest.approx(5.0) and math.isnan(back["mean"].iloc[0])
    md = claims.collect_markdown(tmp_path)
    assert md.startswith("# Verdicts") and "| 06 | MAIL Table 6 | sigmoid beats hinge |" in md


def _registry(tmp_path: Path, verdicts: list[dict[str, str]]) -> Path:
    runs = [dict(profile="quick", replicates=3, seed=s, threads=t, verdicts=v)
            for (s, t), v in zip(report.STABILITY_RUNS, verdicts, strict=True)]
    path = tmp_path / "stability.json"
    path.write_text(json.dumps({"runs": runs}))
    return path


def test_asserted_needs_every_stability_run_to_agree(tmp_path: Path) -> None:
    same = {"a": "reproduced", "b": "inconclusive", "c": "contradicted"}
    path = _registry(tmp_path, [same, same, same, {**same, "c": "inconclusive"}])
    assert claims.asserted(path) == {"a": "reproduced"}
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"runs": json.loads(path.read_text())["runs"][:3]}))
    assert claims.asserted(partial) == {}
    assert claims.asserted(tmp_path / "missing.json") == {}
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ValueError, match="verdict_stability"):
        claims.asserted(broken)


def test_check_asserts_invariants_and_registered_verdicts(monkeypatch) -> None:
    items = _three()
    assert claims.check(items, profile="paper", replicates=5) == ["demo.identity"]
    monkeypatch.setattr(report, "asserted", lambda path=None: {"demo.win": "reproduced",
                                                               "demo.noise": "reproduced"})
    with pytest.raises(AssertionError, match="demo.noise"):
        claims.check(items, profile="quick", replicates=3)
    assert claims.check(items[:2], profile="quick", replicates=3) == ["demo.identity",
                                                                      "demo.win"]
    assert claims.check(items, profile="quick", replicates=5) == ["demo.identity"]
    broken = [claims.invariant("demo.broken", "05", "x", False, detail="1 row")]
    with pytest.raises(AssertionError, match="invariant demo.broken fails"):
        claims.check(broken, profile="smoke", replicates=1)


def test_committed_registry_is_consistent_with_the_lessons() -> None:
    """Every asserted id names a claim a lesson writes (figures/<lesson>/claims.csv)."""
    fixed = claims.asserted()
    table = claims.collect()
    if table.empty:
        pytest.skip("no committed claims.csv yet")
    known = set(table["id"])
    assert set(fixed) <= known, sorted(set(fixed) - known)
    data = json.loads(claims.STABILITY_FILE.read_text()) if claims.STABILITY_FILE.exists() else {}
    for run in data.get("runs", []):
        assert {"seed", "threads", "profile", "replicates", "verdicts"} <= set(run)


def test_weighted_accuracy_matches_evaluate() -> None:
    import torch

    from mailviz import evaluate
    from mailviz.claims import zeng

    rng = np.random.default_rng(0)
    m = rng.uniform(-1, 1, size=200)
    c = m > 0
    for alpha in (0.0, 1.0, 3.0):
        ours = float(zeng.weighted_accuracy(c, m, alpha))
        ref = evaluate.nonuniform_accuracy(torch.tensor(c), torch.tensor(m), alpha)
        assert ours == pytest.approx(ref, abs=1e-9)
