"""mailviz.evaluate: A_rob / A_sa / A_tr identities, exact DRO χ² solver, frames, result cache."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize
from torch import nn

from mailviz import evaluate as ev
from mailviz.data import load_dataset
from mailviz.margins import probabilistic_margin

EPS = 0.2
STEPS = 5


@pytest.fixture(scope="module")
def digits() -> tuple[nn.Module, object]:
    """A linear 10-class model trained for a moment on sklearn digits, and 60 test digits."""
    torch.manual_seed(0)
    train = load_dataset("digits", "train")
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    x, y = train.x, train.y
    for _ in range(60):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return model, load_dataset("digits", "test").subset(60)


# --------------------------------------------------------------------------------------------
# attack specs and argument checks


def test_parse_attack_grammar() -> None:
    assert ev.parse_attack("nat") == ev.AttackSpec("nat", "nat")
    assert ev.parse_attack("PGD20") == ev.AttackSpec("pgd20", "pgd", 20)
    assert ev.parse_attack("cw100").steps == 100
    assert ev.parse_attack("aa").version == "standard"
    assert ev.parse_attack("aa-fast").version == "fast"


@pytest.mark.parametrize("spec", ["pgd", "pgd0", "fgsm", "aa-slow", "cw-20", ""])
def test_unknown_attack_spec_is_one_line_error_with_grammar(spec: str) -> None:
    with pytest.raises(ValueError, match="grammar: nat | pgdK") as info:
        ev.parse_attack(spec)
    assert "\n" not in str(info.value)


def test_evaluate_rejects_bad_arguments(digits) -> None:
    model, test = digits
    with pytest.raises(ValueError, match="unknown attack spec 'pgdx'"):
        ev.evaluate(model, test, ("nat", "pgdx"), eps=EPS)
    with pytest.raises(ValueError, match="eps is required"):
        ev.evaluate(model, test, ("pgd5",))
    with pytest.raises(ValueError, match="eps must be in"):
        ev.evaluate(model, test, ("pgd5",), eps=0.0)
    with pytest.raises(ValueError, match="alpha_test must be a finite"):
        ev.nonuniform_report(model, test, EPS, [0.0, math.inf])
    with pytest.raises(ValueError, match="loss must be"):
        ev.nonuniform_report(model, test, EPS, [0.0], loss="kl")


# --------------------------------------------------------------------------------------------
# non-uniform accuracy identities


def test_alpha_zero_is_exactly_the_plain_accuracy() -> None:
    g = torch.Generator().manual_seed(1)
    correct = torch.rand(997, generator=g) < 0.37
    margins = torch.rand(997, generator=g) * 2 - 1
    assert ev.nonuniform_accuracy(correct, margins, 0.0) == 100.0 * float(correct.double().mean())


def test_equal_margins_give_the_plain_accuracy() -> None:
    correct = torch.tensor([True, False, True, True, False, True, False])
    margins = torch.full((7,), 0.3)
    for alpha in (0.5, 2.0, 7.0):
        got = ev.nonuniform_accuracy(correct, margins, alpha)
        assert got == pytest.approx(100.0 * 4 / 7, abs=1e-12)


def test_nonuniform_accuracy_hand_computed() -> None:
    # s̃ ∝ exp(−α m) = (e^{−1}, e^{1}) at α = 2, m = (0.5, −0.5): accuracy = e^{−1}/(e^{−1}+e)
    got = ev.nonuniform_accuracy(np.array([True, False]), np.array([0.5, -0.5]), 2.0)
    assert got == pytest.approx(100 * math.exp(-1) / (math.exp(-1) + math.e), rel=1e-12)


@given(
    n=st.integers(1, 40),
    k=st.integers(2, 6),
    seed=st.integers(0, 2**16),
    scale=st.floats(0.1, 20.0),
    alpha=st.floats(0.0, 8.0),
)
def test_weighted_accuracy_never_exceeds_uniform(
    n: int, k: int, seed: int, scale: float, alpha: float
) -> None:
    # correct examples have PM ≥ 0, wrong ones PM ≤ 0, so for α ≥ 0 they get no more weight
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, k, generator=g) * scale
    y = torch.randint(0, k, (n,), generator=g)
    correct = logits.argmax(1) == y
    pm = probabilistic_margin(logits, y)
    a_sa = ev.nonuniform_accuracy(correct, pm, alpha)
    a_rob = ev.nonuniform_accuracy(correct, pm, 0.0)
    assert 0.0 <= a_sa <= a_rob + 1e-9


# --------------------------------------------------------------------------------------------
# DRO χ² (eq. 28)


def _slsqp_worst_case(losses: np.ndarray, rho: float) -> float:
    """Brute force: SLSQP on max w·l s.t. simplex and ½‖w − 1/N‖² ≤ ρ/N, best of two starts."""
    n = losses.size
    u = np.full(n, 1.0 / n)
    cons = [
        dict(type="eq", fun=lambda w: w.sum() - 1.0, jac=lambda w: np.ones(n)),
        dict(type="ineq", fun=lambda w: rho / n - 0.5 * np.sum((w - u) ** 2), jac=lambda w: u - w),
    ]
    best = -np.inf
    for start in (u, 0.5 * u + 0.5 * np.eye(n)[np.argmax(losses)]):
        res = minimize(
            lambda w: -w @ losses, start, jac=lambda w: -losses, bounds=[(0.0, 1.0)] * n,
            constraints=cons, method="SLSQP", options=dict(ftol=1e-15, maxiter=500),
        )  # fmt: skip
        w = res.x
        feasible = abs(w.sum() - 1) < 1e-7 and 0.5 * np.sum((w - u) ** 2) <= rho / n + 1e-7
        if feasible and w.min() > -1e-9:
            best = max(best, float(w @ losses))
    assert np.isfinite(best), "SLSQP found no feasible point"
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("rho", [0.01, 0.1, 0.5, 2.0, 6.0])
def test_dro_matches_slsqp_and_meets_constraints(seed: int, rho: float) -> None:
    rng = np.random.default_rng(seed)
    losses = rng.exponential(size=20)
    if seed == 2:
        losses = np.round(losses, 1)  # ties, including at the support boundary
    res = ev.dro_chi2(losses, rho)
    w, n = res.weights, losses.size
    assert w.min() >= 0.0
    assert abs(w.sum() - 1.0) <= 1e-9
    assert 0.5 * np.sum((w - 1.0 / n) ** 2) <= rho / n + 1e-9
    assert res.loss == pytest.approx(float(w @ losses), abs=1e-12)
    assert res.loss == pytest.approx(_slsqp_worst_case(losses, rho), abs=1e-6)


def test_dro_rho_zero_is_mean_and_large_rho_is_max() -> None:
    rng = np.random.default_rng(3)
    losses = rng.gamma(2.0, size=50)
    assert ev.dro_chi2(losses, 0.0).loss == pytest.approx(losses.mean(), abs=1e-12)
    n = losses.size
    vertex = n / 2 * (1 - 1 / n)  # ρ at which e_argmax enters the ball
    for rho in (vertex, 10 * vertex, math.inf):
        res = ev.dro_chi2(losses, rho)
        assert res.loss == losses.max()
        assert res.weights[np.argmax(losses)] == 1.0
    assert ev.dro_chi2(losses, 0.999 * vertex).loss < losses.max()


def test_dro_ties_and_constant_losses() -> None:
    const = ev.dro_chi2(np.full(8, 1.5), 3.0, correct=[True] * 4 + [False] * 4)
    assert const.loss == pytest.approx(1.5)
    np.testing.assert_allclose(const.weights, np.full(8, 1 / 8))
    assert const.accuracy == pytest.approx(50.0)
    # two tied maxima share the mass once the constraint is inactive
    tied = ev.dro_chi2([3.0, 1.0, 3.0, 0.0], 100.0)
    np.testing.assert_allclose(tied.weights, [0.5, 0.0, 0.5, 0.0])
    # tied losses always get equal weights
    w = ev.dro_chi2([2.0, 1.0, 1.0, 1.0, 0.5, 0.5], 0.3).weights
    assert w[1] == pytest.approx(w[2]) == pytest.approx(w[3])
    assert w[4] == pytest.approx(w[5])


def test_dro_weighted_accuracy_and_validation() -> None:
    losses = np.array([0.1, 0.2, 2.0, 3.0])
    correct = np.array([True, True, False, False])
    assert ev.dro_chi2(losses, 0.0, correct).accuracy == pytest.approx(50.0)
    assert ev.dro_chi2(losses, 10.0, correct).accuracy == 0.0
    assert ev.dro_chi2(losses, 0.2).accuracy is None
    with pytest.raises(ValueError, match="rho must be a float >= 0"):
        ev.dro_chi2(losses, -0.1)
    with pytest.raises(ValueError, match="losses must be finite"):
        ev.dro_chi2([1.0, math.nan], 0.1)
    with pytest.raises(ValueError, match="one entry per loss"):
        ev.dro_chi2(losses, 0.1, correct[:3])


@given(seed=st.integers(0, 2**16), n=st.integers(1, 60))
def test_dro_curve_is_monotone_in_rho(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    losses = np.round(rng.exponential(size=n), int(rng.integers(1, 4)))
    rhos = np.concatenate([[0.0], np.logspace(-3, 2, 25)])
    curve = ev.dro_curve(losses, rhos, correct=losses < 1.0)
    assert list(curve.columns) == ["rho", "loss", "accuracy"]
    assert (np.diff(curve["loss"].to_numpy()) >= -1e-12).all()
    assert curve["loss"].iloc[0] == pytest.approx(losses.mean(), abs=1e-12)
    assert curve["loss"].iloc[-1] <= losses.max() + 1e-12
    assert ev.dro_curve(losses, [0.1])["accuracy"].isna().all()


# --------------------------------------------------------------------------------------------
# frames from a tiny model


def test_evaluate_frame(digits) -> None:
    model, test = digits
    model.train()
    frame = ev.evaluate(model, test, ("nat", "pgd5", "cw5"), eps=[0.1, EPS], batch_size=25)
    assert model.training  # flag restored
    assert list(frame.columns) == ["model", "attack", "eps", "metric", "value"]
    assert frame["attack"].tolist() == ["nat", "pgd5", "pgd5", "cw5", "cw5"]
    assert frame.loc[0, "eps"] == 0.0 and (frame["metric"] == "accuracy").all()
    nat = frame.loc[0, "value"]
    assert nat > 60.0
    assert (frame["value"] <= nat).all() and (frame["value"] >= 0).all()
    pgd = frame[frame.attack == "pgd5"].set_index("eps")["value"]
    assert pgd[EPS] <= pgd[0.1]


def test_evaluate_runs_autoattack(digits) -> None:
    model, test = digits
    frame = ev.evaluate(model, test, ("nat", "aa-fast"), eps=EPS, n=20)
    nat, aa = frame["value"]
    assert frame["attack"].tolist() == ["nat", "aa-fast"] and 0.0 <= aa <= nat


def test_evaluate_accepts_xy_pairs_and_subsets(digits) -> None:
    model, test = digits
    a = ev.evaluate(model, test, ("nat", "pgd3"), eps=EPS, n=30, batch_size=7)
    b = ev.evaluate(model, (test.x[:30], test.y[:30]), ("nat", "pgd3"), eps=EPS, batch_size=7)
    pd.testing.assert_frame_equal(a, b)


def test_nonuniform_report_identities(digits) -> None:
    model, test = digits
    alphas = [0.0, 1.0, 2.0, 3.0]
    report = ev.nonuniform_report(model, test, EPS, alphas, steps=STEPS, batch_size=25)
    assert list(report.columns) == ["eps", "alpha_test", "A_rob", "A_sa", "A_tr", "attack", "steps"]
    assert report["alpha_test"].tolist() == alphas
    zero = report.iloc[0]
    assert zero["A_sa"] == zero["A_rob"] and zero["A_tr"] == zero["A_rob"]
    assert (report["A_rob"] == zero["A_rob"]).all()  # one unweighted run serves every α
    assert (report["A_sa"] <= report["A_rob"] + 1e-9).all()
    assert report["A_sa"].is_monotonic_decreasing
    rob = ev.evaluate(model, test, ("pgd5",), eps=EPS, batch_size=25)["value"].iloc[0]
    assert zero["A_rob"] == rob  # same attack, same seed
    # A_tr ≤ A_sa is an empirical claim of the paper, not a theorem: report it, do not assert
    print("\nA_sa:", report["A_sa"].round(2).tolist(), "A_tr:", report["A_tr"].round(2).tolist())
    margin = ev.nonuniform_report(model, test, EPS, [0.0, 2.0], steps=STEPS, loss="cw")
    assert margin["attack"].eq("pgd-margin").all() and margin["A_tr"].isna().all()


def test_weight_distribution_frame(digits) -> None:
    model, test = digits
    for attack in ("pgd", "weighted"):
        frame = ev.weight_distribution(model, test, EPS, [0.0, 2.0], steps=STEPS, attack=attack)
        columns = ["example", "alpha_test", "eps", "weight", "margin", "correct"]
        assert list(frame.columns) == columns
        assert len(frame) == 2 * len(test)
        sums = frame.groupby("alpha_test")["weight"].sum()
        np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-12)
        uniform = frame[frame.alpha_test == 0.0]["weight"]
        assert np.allclose(uniform, 1 / len(test))
        assert (frame["correct"] == (frame["margin"] > 0)).all()
    with pytest.raises(ValueError, match="attack must be 'pgd'"):
        ev.weight_distribution(model, test, EPS, [1.0], attack="cw")


def test_per_example_matches_evaluate_and_feeds_dro(digits) -> None:
    model, test = digits
    frame = ev.per_example(model, test, EPS, steps=STEPS, batch_size=25)
    expected = ["example", "label", "pred", "correct", "margin", "logit_margin", "loss", "kappa"]
    assert list(frame.columns) == expected
    rob = ev.evaluate(model, test, (f"pgd{STEPS}",), eps=EPS, batch_size=25)["value"].iloc[0]
    assert 100 * frame["correct"].mean() == pytest.approx(rob)
    assert frame["kappa"].between(0, STEPS).all()
    assert (np.sign(frame["margin"]) == np.sign(frame["logit_margin"])).all()
    nat = ev.per_example(model, test, attack="nat")
    assert (nat["kappa"] == -1).all()
    assert frame["loss"].mean() >= nat["loss"].mean()
    res = ev.dro_chi2(frame["loss"], 0.5, frame["correct"])
    assert frame["loss"].mean() <= res.loss <= frame["loss"].max()
    assert res.accuracy <= 100 * frame["correct"].mean() + 1e-9


# --------------------------------------------------------------------------------------------
# results on disk


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        dict(
            model=["AT", "1.0", "MAIL-AT"],
            eps=[0.0, 8 / 255, 0.1 + 0.2],
            value=rng.random(3) * 100,
            steps=[20, 20, 100],
            correct=[True, False, True],
            A_tr=[math.nan, 1 / 3, 2.5e-17],
        )
    )


def test_save_load_round_trip(tmp_path) -> None:
    frame = _frame()
    config = {"attack": "pgd20", "eps": 8 / 255, "alphas": [0, 1, 2]}
    path = ev.save_results(frame, tmp_path / "run", "report", config)
    assert path.parent == tmp_path / "run" / "results" and path.suffix == ".csv"
    assert path.with_suffix(".json").is_file()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    back = ev.load_results(tmp_path / "run" / "model.pt", "report", dict(reversed(config.items())))
    pd.testing.assert_frame_equal(back, frame)
    assert ev.load_results(tmp_path / "run", "report", {**config, "eps": 0.1}) is None
    assert ev.load_results(tmp_path / "run", "other", config) is None
    with pytest.raises(ValueError, match="plain file stem"):
        ev.save_results(frame, tmp_path, "../escape")


def test_cached_eval_hits_after_first_call(tmp_path) -> None:
    calls = []

    def compute() -> pd.DataFrame:
        calls.append(1)
        return _frame()

    key = {"model": "3f2a9c1d0b7e", "eval": "nonuniform", "eps": 0.2}
    first = ev.cached_eval(key, compute, root=tmp_path)
    second = ev.cached_eval(key, compute, root=tmp_path)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(first, second)
    ev.cached_eval({**key, "eps": 0.3}, compute, root=tmp_path)
    ev.cached_eval(key, compute, root=tmp_path, refresh=True)
    assert len(calls) == 3
