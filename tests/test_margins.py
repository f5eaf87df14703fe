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


# --------------------------------------------------------------------------------------------
# precision (issue 14): never lower the precision the logits come in


def _reference(logits: list[list[float]], y: list[int]) -> tuple[list[float], list[float]]:
    """PM and MM in Python floats (float64), with the max-shifted softmax."""
    pms, mms = [], []
    for row, label in zip(logits, y, strict=True):
        top = max(row)
        ex = [math.exp(v - top) for v in row]
        p = [e / math.fsum(ex) for e in ex]
        others = [j for j in range(len(row)) if j != label]
        pms.append(p[label] - max(p[j] for j in others))
        mms.append(row[label] - max(row[j] for j in others))
    return pms, mms


def test_float64_logits_give_float64_margins_to_1e12() -> None:
    g = torch.Generator().manual_seed(0)
    logits = (torch.randn(64, 10, generator=g, dtype=torch.float64) * 3).tolist()
    # margins near zero: the float32 path lost them (error ~1e-6 against this reference)
    logits[0][3] = logits[0][5] + 1e-9
    y = torch.randint(0, 10, (64,), generator=g)
    y[0] = 3
    t64 = torch.tensor(logits, dtype=torch.float64)
    pm, mm = probabilistic_margin(t64, y), logit_margin(t64, y)
    assert pm.dtype == torch.float64 and mm.dtype == torch.float64
    ref_pm, ref_mm = _reference(logits, y.tolist())
    assert torch.allclose(pm, torch.tensor(ref_pm, dtype=torch.float64), rtol=0, atol=1e-12)
    assert torch.allclose(mm, torch.tensor(ref_mm, dtype=torch.float64), rtol=0, atol=1e-12)
    lowered = probabilistic_margin(t64.float(), y).double()  # what float64 logits used to get
    assert (lowered - torch.tensor(ref_pm, dtype=torch.float64)).abs().max() > 1e-9


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_logits_are_computed_in_float32(dtype: torch.dtype) -> None:
    logits = torch.tensor([[2.0, 0.0, 1.0], [0.5, 3.0, -1.0]], dtype=dtype)
    y = torch.tensor([0, 2])
    pm, mm = probabilistic_margin(logits, y), logit_margin(logits, y)
    assert pm.dtype == torch.float32 and mm.dtype == torch.float32
    exact = probabilistic_margin(logits.double(), y)
    assert torch.allclose(pm.double(), exact, atol=1e-6)
    assert probabilistic_margin(logits.float(), y).dtype == torch.float32


def test_weights_and_metrics_keep_float64() -> None:
    from mailviz import evaluate, weights

    pm = torch.tensor([0.25, -0.5, 1e-10], dtype=torch.float64)
    assert weights.sigmoid(pm, 10.0, -0.5).dtype == torch.float64
    assert weights.exp_kernel(pm, 2.0).dtype == torch.float64
    assert weights.sigmoid(pm.half(), 10.0, -0.5).dtype == torch.float32
    assert weights.normalize(weights.sigmoid(pm, 10.0, -0.5)).dtype == torch.float64
    # a float64 model is evaluated in float64: margins of its collected logits stay float64
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3)).double()
    x = torch.rand(6, 1, 2, 2, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    got = evaluate._collect(model, (x, y), None, batch_size=8, device=torch.device("cpu"), n=None)
    assert got.logits.dtype == torch.float64 and got.margin.dtype == torch.float64
    with torch.no_grad():
        assert torch.equal(got.logits, model(x))
