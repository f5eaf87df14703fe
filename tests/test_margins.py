"""Margins against hand-computed values: PM, MM (eq. 15), κ; ties, 2 classes, 100 classes."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mailviz.margins import (
    kappa_from_predictions,
    least_pgd_steps,
    logit_margin,
    probabilistic_margin,
)


def test_pm_two_classes_hand_computed() -> None:
    # softmax([2, 0]) = [e^2, 1] / (e^2 + 1) -> PM = (e^2 - 1) / (e^2 + 1) = tanh(1)
    logits = torch.tensor([[2.0, 0.0], [2.0, 0.0]])
    pm = probabilistic_margin(logits, torch.tensor([0, 1]))
    assert pm[0].item() == pytest.approx(math.tanh(1.0), abs=1e-6)
    assert pm[1].item() == pytest.approx(-math.tanh(1.0), abs=1e-6)


def test_pm_and_mm_three_classes_hand_computed() -> None:
    logits = torch.tensor([[1.0, 2.0, 3.0]])
    z = math.exp(1) + math.exp(2) + math.exp(3)
    p = [math.exp(1) / z, math.exp(2) / z, math.exp(3) / z]
    for label, (pm_expected, mm_expected) in enumerate(
        [(p[0] - p[2], 1 - 3), (p[1] - p[2], 2 - 3), (p[2] - p[1], 3 - 2)]
    ):
        y = torch.tensor([label])
        assert probabilistic_margin(logits, y).item() == pytest.approx(pm_expected, abs=1e-6)
        assert logit_margin(logits, y).item() == pytest.approx(mm_expected, abs=1e-6)


def test_ties_give_zero_margin() -> None:
    logits = torch.tensor([[1.0, 1.0, 0.0], [0.5, 0.5, 0.5]])
    y = torch.tensor([0, 2])
    assert torch.equal(probabilistic_margin(logits, y), torch.zeros(2))
    assert torch.equal(logit_margin(logits, y), torch.zeros(2))


def test_hundred_classes() -> None:
    logits = torch.zeros(1, 100)
    logits[0, 42] = 5.0
    logits[0, 7] = 3.0
    pm = probabilistic_margin(logits, torch.tensor([42]))
    z = math.exp(5) + math.exp(3) + 98
    assert pm.item() == pytest.approx((math.exp(5) - math.exp(3)) / z, abs=1e-6)
    assert logit_margin(logits, torch.tensor([7])).item() == pytest.approx(-2.0)
    assert logit_margin(logits, torch.tensor([0])).item() == pytest.approx(-5.0)


@given(st.integers(2, 12), st.integers(1, 16), st.integers(0, 10_000))
def test_pm_bounds_and_sign_agree_with_mm_and_correctness(k: int, b: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, k, generator=g) * 4
    y = torch.randint(0, k, (b,), generator=g)
    pm, mm = probabilistic_margin(logits, y), logit_margin(logits, y)
    assert pm.abs().max() <= 1.0
    assert torch.equal(pm > 0, mm > 0)
    correct = logits.argmax(1) == y
    assert torch.equal(correct, pm > 0)


def test_pm_is_differentiable() -> None:
    logits = torch.tensor([[0.3, -0.2, 1.0]], requires_grad=True)
    probabilistic_margin(logits, torch.tensor([0])).sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_kappa_counts_correct_iterates_before_each_step() -> None:
    # 3 steps, 3 examples: stays correct, flips after the first step, wrong from the start
    pred = torch.tensor([[1, 0, 2], [1, 2, 2], [1, 2, 2]])
    y = torch.tensor([1, 0, 0])
    assert kappa_from_predictions(pred, y).tolist() == [3, 1, 0]
    correct = pred == y.view(1, -1)
    assert least_pgd_steps(correct).tolist() == [3, 1, 0]


def test_bad_shapes_raise_one_line() -> None:
    with pytest.raises(ValueError, match=r"logits must have shape \[B, classes\]"):
        probabilistic_margin(torch.zeros(3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="labels must have shape"):
        logit_margin(torch.zeros(2, 3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="at least 2 classes"):
        logit_margin(torch.zeros(2, 1), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="steps, batch"):
        least_pgd_steps(torch.zeros(3, dtype=torch.bool))
