"""Tests for mailviz.weights: hand-computed values, boundaries, normalisation and properties."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mailviz import weights as W

SETTINGS = settings(max_examples=40, deadline=None)

unit = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)


def t(*values: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype)


def assert_close(actual: torch.Tensor, expected: list[float], **tol: float) -> None:
    torch.testing.assert_close(actual, torch.tensor(expected, dtype=actual.dtype), **tol)


# ---------------------------------------------------------------------------------------- sigmoid


def test_sigmoid_hand_values_mail_trades() -> None:
    # γ = 2, β = 0: sigmoid(−2·(0.5 − 0)) = sigmoid(−1) = 0.268941..., sigmoid(1) = 0.731058...
    w = W.sigmoid(t(0.5, -0.5, 0.0), gamma=2.0, beta=0.0)
    assert_close(w, [0.2689414213699951, 0.7310585786300049, 0.5])


def test_sigmoid_hand_values_mail_at() -> None:
    # γ = 10, β = −0.5: PM = 0 → sigmoid(−5) = 0.0066928..., PM = −1 → sigmoid(5) = 0.9933071...
    w = W.sigmoid(t(0.0, -1.0, -0.5), gamma=10.0, beta=-0.5)
    assert_close(w, [0.0066928509242848554, 0.9933071490757153, 0.5])


def test_sigmoid_gamma_zero_is_uniform_half() -> None:
    assert_close(W.sigmoid(t(-1.0, 0.0, 0.7), gamma=0.0, beta=0.3), [0.5, 0.5, 0.5])


def test_sigmoid_per_example_params_match_scalar() -> None:
    pm = t(-0.9, -0.2, 0.1, 0.8)
    scalar = W.sigmoid(pm, gamma=3.0, beta=-0.25)
    vector = W.sigmoid(pm, gamma=torch.full((4,), 3.0), beta=torch.full((4,), -0.25))
    torch.testing.assert_close(scalar, vector)
    mixed = W.sigmoid(pm, gamma=t(1.0, 2.0, 3.0, 4.0), beta=0.0)
    expected = [1 / (1 + math.exp(g * p)) for g, p in zip([1, 2, 3, 4], pm.tolist(), strict=True)]
    assert_close(mixed, expected)


@SETTINGS
@given(a=unit, b=unit, gamma=st.floats(0.1, 10.0), beta=unit)
def test_sigmoid_strictly_decreasing_in_pm(a: float, b: float, gamma: float, beta: float) -> None:
    lo, hi = min(a, b), max(a, b)
    w_lo, w_hi = W.sigmoid(t(lo, hi), gamma, beta).tolist()
    if hi - lo > 1e-6:
        assert w_lo > w_hi
    else:
        assert w_lo >= w_hi


# ------------------------------------------------------------------------------------------ hinge


def test_hinge_hand_values() -> None:
    # max(0, 2·(PM − 0)): 0.5 → 1, −0.5 → 0, 0 → 0, 1 → 2
    assert_close(W.hinge(t(0.5, -0.5, 0.0, 1.0), gamma=2.0, beta=0.0), [1.0, 0.0, 0.0, 2.0])
    # max(0, 10·(PM + 0.5)): 0 → 5, −1 → 0
    assert_close(W.hinge(t(0.0, -1.0), gamma=10.0, beta=-0.5), [5.0, 0.0])


def test_hinge_mirrored_hand_values() -> None:
    # max(0, 2·(0 − PM)): 0.5 → 0, −0.5 → 1, 0 → 0, −1 → 2
    assert_close(W.hinge_mirrored(t(0.5, -0.5, 0.0, -1.0), gamma=2.0, beta=0.0), [0, 1, 0, 2.0])


@SETTINGS
@given(pm=st.lists(unit, min_size=1, max_size=16), gamma=st.floats(0.0, 10.0), beta=unit)
def test_hinge_zeroes_vulnerable_and_mirrored_zeroes_safe(
    pm: list[float], gamma: float, beta: float
) -> None:
    x = t(*pm)
    h, m = W.hinge(x, gamma, beta), W.hinge_mirrored(x, gamma, beta)
    assert bool((h[x < beta] == 0).all())
    assert bool((m[x > beta] == 0).all())
    assert bool((h >= 0).all()) and bool((m >= 0).all())
    # exactly one of them can be non-zero, and together they are γ·|PM − β|
    torch.testing.assert_close(h + m, gamma * (x - beta).abs())
    torch.testing.assert_close(m, W.hinge(-x, gamma, -beta))


def test_hinge_all_vulnerable_batch_gives_all_zero_weights() -> None:
    w = W.hinge(t(-0.9, -0.4, -0.1), gamma=2.0, beta=0.0)
    assert bool((w == 0).all())


# ------------------------------------------------------------------------------------------- step


def test_step_hand_values_and_boundary() -> None:
    # α if PM > β else 1 − α, α = 0.2; PM = β exactly goes to 1 − α
    assert_close(W.step(t(0.5, 0.0, -0.5), beta=0.0), [0.2, 0.8, 0.8])
    assert_close(W.step(t(-0.3, -0.3 + 1e-9), beta=-0.3, alpha=0.3), [0.7, 0.3])


def test_step_per_example_alpha_and_beta() -> None:
    w = W.step(t(0.1, 0.1, 0.1), beta=t(0.0, 0.1, 0.2), alpha=t(0.2, 0.3, 0.4))
    assert_close(w, [0.2, 0.7, 0.6])


def test_step_values_only_alpha_or_one_minus_alpha() -> None:
    w = W.step(torch.linspace(-1, 1, 101), beta=0.1, alpha=0.25)
    assert set(w.tolist()) == {0.25, 0.75}
    assert w.dtype == torch.float32


# ----------------------------------------------------------------------------------------- GAIRAT


def test_gairat_tanh_hand_values() -> None:
    # K = 10, K′ = 5, λ = −1: κ = 0 → (tanh(4)+1)/2, κ = K′ → (tanh(−1)+1)/2, κ = K → (tanh(−6)+1)/2
    w = W.gairat_tanh(torch.tensor([0, 5, 10]), steps=10, lam=-1.0)
    assert w.dtype == torch.get_default_dtype()
    assert_close(w, [0.9996646498695335, 0.11920292202211757, 6.144174602207286e-06])


def test_gairat_tanh_odd_steps_floor() -> None:
    # K = 5 → K′ = ⌊5/2⌋ = 2, λ = 0: κ = 0 → (tanh(5)+1)/2, κ = 2 → 1/2, κ = 5 → (tanh(−7.5)+1)/2
    w = W.gairat_tanh(torch.tensor([0, 2, 5], dtype=torch.float64), steps=5, lam=0.0)
    assert_close(w, [0.9999546021312976, 0.5, 3.0590222693804847e-07])


def test_gairat_sigmoid_hand_values() -> None:
    # sigmoid(λ + 5·(K′ − κ)/K′) at K = 10, λ = −1: sigmoid(4), sigmoid(−1), sigmoid(−6)
    w = W.gairat_sigmoid(torch.tensor([0, 5, 10]), steps=10, lam=-1.0)
    assert_close(w, [0.9820137900379085, 0.2689414213699951, 0.0024726231566347743])


def test_gairat_discrete_hand_values() -> None:
    # (K + 1 − κ)/(K + 1) at K = 10: 11/11, 6/11, 1/11
    w = W.gairat_discrete(torch.tensor([0, 5, 10]), steps=10)
    assert_close(w, [1.0, 6 / 11, 1 / 11])


@SETTINGS
@given(steps=st.integers(2, 20), lam=st.floats(-3.0, 3.0), data=st.data())
def test_gairat_tanh_matches_formula_and_decreases(steps: int, lam: float, data) -> None:
    kappa = torch.tensor(data.draw(st.lists(st.integers(0, steps), min_size=1, max_size=12)))
    half = steps // 2
    z = lam + 5.0 * (half - kappa.double()) / half
    w = W.gairat_tanh(kappa.double(), steps, lam)
    torch.testing.assert_close(w, (torch.tanh(z) + 1) / 2)
    grid = torch.arange(steps + 1, dtype=torch.float64)
    for fn in (W.gairat_tanh, W.gairat_sigmoid):
        assert bool((fn(grid, steps, lam).diff() < 0).all())
    assert bool((W.gairat_discrete(grid, steps).diff() < 0).all())


def test_gairat_validation() -> None:
    with pytest.raises(ValueError, match="steps must be an int >= 2"):
        W.gairat_tanh(torch.tensor([0]), steps=1, lam=-1.0)
    with pytest.raises(ValueError, match="steps must be an int >= 2"):
        W.gairat_sigmoid(torch.tensor([0]), steps=1, lam=-1.0)
    with pytest.raises(ValueError, match="steps must be an int >= 1"):
        W.gairat_discrete(torch.tensor([0]), steps=0)
    with pytest.raises(ValueError, match=r"kappa must lie in \[0, steps=10\]"):
        W.gairat_tanh(torch.tensor([0, 11]), steps=10, lam=-1.0)
    with pytest.raises(ValueError, match="kappa must lie"):
        W.gairat_discrete(torch.tensor([-1]), steps=10)
    with pytest.raises(ValueError, match="lam must be finite"):
        W.gairat_tanh(torch.tensor([0]), steps=10, lam=math.nan)
    # K = 1 is fine for the discrete variant: κ ∈ {0, 1} → 1, 1/2
    assert_close(W.gairat_discrete(torch.tensor([0, 1]), steps=1), [1.0, 0.5])


# ------------------------------------------------------------------------------------- exp kernel


def test_exp_kernel_hand_values() -> None:
    # exp(−2·1) = 0.135335..., exp(0) = 1, exp(2) = 7.389056...
    w = W.exp_kernel(t(1.0, 0.0, -1.0), alpha=2.0)
    assert_close(w, [0.1353352832366127, 1.0, 7.38905609893065])
    assert_close(W.exp_kernel(t(1.0, -1.0), alpha=0.0), [1.0, 1.0])


def test_exp_kernel_keeps_gradient() -> None:
    margin = t(0.3, -0.2).requires_grad_(True)
    s = W.exp_kernel(margin, alpha=1.5)
    assert s.requires_grad
    s.sum().backward()
    # d/dm exp(−α m) = −α exp(−α m)
    torch.testing.assert_close(margin.grad, -1.5 * torch.exp(-1.5 * margin.detach()))


@SETTINGS
@given(a=unit, b=unit, alpha=st.floats(0.01, 10.0))
def test_exp_kernel_decreasing_for_positive_alpha(a: float, b: float, alpha: float) -> None:
    lo, hi = min(a, b), max(a, b)
    s_lo, s_hi = W.exp_kernel(t(lo, hi), alpha).tolist()
    assert s_lo > s_hi if hi - lo > 1e-6 else s_lo >= s_hi


# -------------------------------------------------------------------------------------- normalize


def test_normalize_modes_hand_values() -> None:
    w = t(1.0, 3.0)
    assert_close(W.normalize(w), [0.5, 1.5])  # M·w/Σw = 2·[1, 3]/4
    assert_close(W.normalize(w, "mean1"), [0.5, 1.5])  # w/mean(w) = [1, 3]/2
    assert_close(W.normalize(w, "constant"), [3.0, 9.0])  # 3·w
    assert_close(W.normalize(w, "constant", c=0.5), [0.5, 1.5])
    assert W.normalize(w, "none") is w


@SETTINGS
@given(ws=st.lists(st.floats(0.0, 1e3), min_size=1, max_size=32).filter(lambda v: max(v) > 0))
def test_normalize_batch_sums_to_batch_size(ws: list[float]) -> None:
    w = t(*ws)
    out = W.normalize(w, "batch")
    assert math.isclose(out.sum().item(), len(ws), rel_tol=1e-9)
    torch.testing.assert_close(out, W.normalize(w, "mean1"))
    torch.testing.assert_close(out * w.sum(), len(ws) * w)


@pytest.mark.parametrize("mode", W.NORMALIZE_MODES)
def test_normalize_all_zero_weights_are_finite_zeros(mode: str) -> None:
    out = W.normalize(torch.zeros(4), mode)
    assert bool(torch.isfinite(out).all())
    assert bool((out == 0).all())


def test_all_zero_hinge_batch_trains_without_nan() -> None:
    pm = t(-0.8, -0.3, -0.1).requires_grad_(True)
    per_example_loss = t(1.0, 2.0, 3.0).requires_grad_(True)
    loss = (W.normalize(W.hinge(pm, gamma=2.0, beta=0.0)) * per_example_loss).mean()
    loss.backward()
    assert loss.item() == 0.0
    assert bool(torch.isfinite(pm.grad).all()) and bool(torch.isfinite(per_example_loss.grad).all())
    assert bool((per_example_loss.grad == 0).all())


def test_normalize_extreme_scales() -> None:
    # subnormal weights: a naive clamp of Σw would change the result; float32 1e-40 is subnormal
    tiny = W.normalize(torch.tensor([1e-40, 3e-40]))
    torch.testing.assert_close(tiny, torch.tensor([0.5, 1.5]), rtol=1e-4, atol=0)
    # Σw = 4e38 overflows float32 (max ≈ 3.4e38); the result must not
    huge = W.normalize(torch.tensor([1e38, 3e38]))
    torch.testing.assert_close(huge, torch.tensor([0.5, 1.5]))
    # one positive weight among zeros takes the whole mass M
    assert_close(W.normalize(t(0.0, 1e-300, 0.0)), [0.0, 3.0, 0.0])


def test_normalize_keeps_gradient() -> None:
    w = t(1.0, 2.0, 5.0).requires_grad_(True)
    out = W.normalize(w)
    out[0].backward()
    # ∂(M·w_0/Σw)/∂w_j = M·(δ_0j·Σw − w_0)/(Σw)²
    expected = 3 * (torch.tensor([8.0, 0.0, 0.0], dtype=torch.float64) - 1.0) / 64
    torch.testing.assert_close(w.grad, expected)


def test_normalize_validation() -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        W.normalize(t(1.0), "sum")
    with pytest.raises(ValueError, match="finite and >= 0"):
        W.normalize(t(1.0, -0.5))
    with pytest.raises(ValueError, match="finite and >= 0"):
        W.normalize(t(1.0, math.inf))
    with pytest.raises(ValueError, match="finite and >= 0"):
        W.normalize(t(1.0, math.nan), "none")
    with pytest.raises(ValueError, match="1-D"):
        W.normalize(torch.ones(2, 2))
    with pytest.raises(ValueError, match="c must be a finite number > 0"):
        W.normalize(t(1.0), "constant", c=0.0)


# ------------------------------------------------------------------------------------- importance


def test_importance_hand_values() -> None:
    # exp(−m)/Σ exp(−m) for m = [1, 0, −1] = softmax([−1, 0, 1])
    s = W.importance(t(1.0, 0.0, -1.0), alpha=1.0)
    assert_close(s, [0.09003057317038046, 0.24472847105479767, 0.6652409557748219])


def test_importance_alpha_zero_is_uniform() -> None:
    s = W.importance(torch.linspace(-1, 1, 7), alpha=0.0)
    torch.testing.assert_close(s, torch.full((7,), 1 / 7))


@SETTINGS
@given(
    margins=st.lists(unit, min_size=1, max_size=64),
    alpha=st.one_of(st.floats(-5.0, 5.0), st.floats(40.0, 200.0)),
)
def test_importance_sums_to_one_without_overflow(margins: list[float], alpha: float) -> None:
    s = W.importance(torch.tensor(margins), alpha)
    assert bool(torch.isfinite(s).all()) and bool((s >= 0).all())
    assert math.isclose(s.sum().item(), 1.0, rel_tol=1e-5)
    if abs(alpha) <= 5:  # where exp does not overflow, s̃ is the normalised exp kernel
        s64 = W.importance(t(*margins), alpha)
        k = W.exp_kernel(t(*margins), alpha)
        torch.testing.assert_close(s64, k / k.sum())


def test_importance_large_alpha_concentrates_on_smallest_margin() -> None:
    s = W.importance(torch.tensor([0.9, -1.0, 0.2, -0.99]), alpha=50.0)
    # e^{50}/(e^{50} + e^{49.5} + …): the two smallest margins share almost all the mass
    assert s.argmax().item() == 1
    assert math.isclose(s[1].item(), 1 / (1 + math.exp(-0.5)), rel_tol=1e-5)


def test_importance_validation() -> None:
    with pytest.raises(ValueError, match="non-empty 1-D"):
        W.importance(torch.zeros(0), 1.0)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        W.importance(torch.zeros(2, 2), 1.0)
    with pytest.raises(ValueError, match="alpha must be finite"):
        W.importance(torch.zeros(3), math.inf)
    with pytest.raises(ValueError, match="alpha must be a scalar"):
        W.importance(torch.zeros(3), torch.ones(3))
    with pytest.raises(ValueError, match="margins must be finite"):
        W.importance(t(0.0, math.nan), 1.0)
    # a 0-d tensor alpha is accepted
    torch.testing.assert_close(
        W.importance(t(1.0, -1.0), torch.tensor(2.0)), W.importance(t(1.0, -1.0), 2.0)
    )


# ------------------------------------------------------------------------- registry and validation


def test_registry_and_pm_weights_dispatch() -> None:
    assert set(W.WEIGHT_FUNCTIONS) == {"sigmoid", "hinge", "hinge_mirrored", "step"}
    pm = t(-0.7, -0.1, 0.0, 0.4)
    for name in ("sigmoid", "hinge", "hinge_mirrored"):
        expected = W.WEIGHT_FUNCTIONS[name](pm, 4.0, -0.2)
        torch.testing.assert_close(W.pm_weights(name, pm, gamma=4.0, beta=-0.2), expected)
    torch.testing.assert_close(
        W.pm_weights("step", pm, beta=0.0, alpha=0.1), W.step(pm, 0.0, 0.1)
    )
    torch.testing.assert_close(
        W.pm_weights("step", pm, gamma=5.0, beta=0.0), W.step(pm, 0.0, 0.2)
    )


def test_pm_weights_errors() -> None:
    with pytest.raises(ValueError, match="valid names: sigmoid, hinge, hinge_mirrored, step"):
        W.pm_weights("tanh", t(0.0), gamma=1.0, beta=0.0)
    with pytest.raises(ValueError, match="needs gamma"):
        W.pm_weights("sigmoid", t(0.0), beta=0.0)


@pytest.mark.parametrize("fn", [W.sigmoid, W.hinge, W.hinge_mirrored])
def test_pm_function_validation(fn) -> None:
    with pytest.raises(ValueError, match="gamma must be finite and in"):
        fn(t(0.0), -1.0, 0.0)
    with pytest.raises(ValueError, match="gamma must be finite and in"):
        fn(t(0.0, 0.1), t(1.0, -1.0), 0.0)
    with pytest.raises(ValueError, match="beta must be finite"):
        fn(t(0.0), 1.0, math.nan)
    with pytest.raises(ValueError, match="broadcastable"):
        fn(t(0.0, 0.1), t(1.0, 2.0, 3.0), 0.0)
    with pytest.raises(ValueError, match="must be a float or a tensor"):
        fn(t(0.0), "10", 0.0)
    with pytest.raises(ValueError, match="pm must be a torch.Tensor"):
        fn([0.0], 1.0, 0.0)


def test_step_and_exp_kernel_validation() -> None:
    with pytest.raises(ValueError, match=r"alpha must be finite and in \[0, 1\]"):
        W.step(t(0.0), beta=0.0, alpha=1.5)
    with pytest.raises(ValueError, match=r"alpha must be finite and in \[0, 1\]"):
        W.step(t(0.0, 0.0), beta=0.0, alpha=t(0.2, -0.1))
    with pytest.raises(ValueError, match="alpha must be finite"):
        W.exp_kernel(t(0.0), alpha=math.nan)
    # negative α is allowed for the exp kernel (favours confident examples)
    assert_close(W.exp_kernel(t(1.0), alpha=-1.0), [math.e])
