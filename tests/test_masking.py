"""Tests of mailviz.masking: logit-scaled PGD, the worst case, zero gradients, AutoAttack stages."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from mailviz.attacks import autoattack, fgsm, pgd
from mailviz.masking import (
    LogitScaled,
    autoattack_stages,
    logit_scaled_pgd,
    worst_case,
    zero_gradient,
)

torch.set_num_threads(1)


def linear(classes: int = 3, seed: int = 0, gain: float = 1.0, inputs: int = 4) -> nn.Module:
    gen = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(inputs, classes))
    with torch.no_grad():
        model[1].weight.copy_(gain * torch.randn(classes, inputs, generator=gen))
        model[1].bias.zero_()
    return model


def batch(n: int = 32, seed: int = 1, side: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, side, side, generator=gen), torch.randint(0, 3, (n,), generator=gen)


def test_scale_one_is_plain_pgd() -> None:
    model, (x, y) = linear(), batch()
    ours = logit_scaled_pgd(model, x, y, 0.2, 0.05, 10, scales=(1.0,),
                            generator=torch.Generator().manual_seed(4))  # fmt: skip
    plain = pgd(model, x, y, 0.2, 0.05, 10, generator=torch.Generator().manual_seed(4))
    assert torch.equal(ours.x_adv, plain)
    assert torch.equal(ours.correct, model(plain).argmax(1) == y)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), gain=st.sampled_from([0.3, 3.0, 300.0]))
def test_scaled_worst_never_weaker_than_any_scale(seed: int, gain: float) -> None:
    model, (x, y) = linear(seed=seed, gain=gain), batch(seed=seed + 1)
    gen = torch.Generator().manual_seed(seed)
    res = logit_scaled_pgd(model, x, y, 0.15, 0.04, 5, generator=gen)
    assert res.by_scale.shape == (5, x.shape[0])
    assert torch.equal(res.correct, res.by_scale.all(dim=0))
    assert torch.equal(res.correct, model(res.x_adv).argmax(1) == y)
    assert float((res.x_adv - x).abs().max()) <= 0.15 + 1e-6
    assert float(res.x_adv.min()) >= 0.0 and float(res.x_adv.max()) <= 1.0


def test_logit_scaling_exposes_a_saturated_softmax() -> None:
    """Huge logits: CE's gradient underflows to exactly 0 on confident examples, plain PGD stays
    put (masking); at scale 0.001 the gradient is back and the attack succeeds."""
    model, (x, y) = linear(gain=1.0), batch(64)
    y = model(x).argmax(1)  # all correct
    masked = nn.Sequential(model, LogitScaled(nn.Identity(), 1e4))
    assert bool(zero_gradient(masked, x, y).float().mean() > 0.5)
    plain = pgd(masked, x, y, 0.3, 0.1, 10, start="none")
    res = logit_scaled_pgd(masked, x, y, 0.3, 0.1, 10, scales=(1.0, 1e-3), start="none")
    plain_acc = float((masked(plain).argmax(1) == y).float().mean())
    assert float(res.correct.float().mean()) < plain_acc
    assert bool((res.by_scale[0] == (masked(plain).argmax(1) == y)).all())


def test_logit_scaled_keeps_predictions() -> None:
    model, (x, _) = linear(), batch()
    assert torch.equal(LogitScaled(model, 7.0)(x).argmax(1), model(x).argmax(1))


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan"), True, "2"])
def test_bad_scale_is_one_clear_error(bad: object) -> None:
    model, (x, y) = linear(), batch(4)
    with pytest.raises(ValueError, match="scale must be a finite number > 0"):
        logit_scaled_pgd(model, x, y, 0.1, 0.02, 2, scales=(1.0, bad))  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [(), "0.1", None])
def test_scales_must_be_a_list(bad: object) -> None:
    model, (x, y) = linear(), batch(4)
    with pytest.raises(ValueError, match="scales must be a non-empty list"):
        logit_scaled_pgd(model, x, y, 0.1, 0.02, 2, scales=bad)  # type: ignore[arg-type]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_worst_case_never_weaker_than_any_member(seed: int) -> None:
    model, (x, y) = linear(seed=seed), batch(seed=seed + 7)
    gen = torch.Generator().manual_seed(seed)
    wc = worst_case(model, x, y, {
        "fgsm": lambda a, b: fgsm(model, a, b, 0.2),
        "pgd": lambda a, b: pgd(model, a, b, 0.2, 0.05, 5, generator=gen),
        "pgd-cw": lambda a, b: pgd(model, a, b, 0.2, 0.05, 5, loss="cw", generator=gen),
    })  # fmt: skip
    for member in wc.by_attack.values():
        assert bool((wc.correct <= member).all())
    assert torch.equal(wc.correct, model(wc.x_adv).argmax(1) == y)
    assert len(wc.attack) == x.shape[0] and set(wc.attack) <= set(wc.by_attack)


def test_worst_case_bad_input() -> None:
    model, (x, y) = linear(), batch(4)
    with pytest.raises(ValueError, match="at least one name"):
        worst_case(model, x, y, {})
    with pytest.raises(ValueError, match="shaped like x"):
        worst_case(model, x, y, {"broken": lambda a, b: a[:2]})


def test_zero_gradient_only_where_the_softmax_saturates() -> None:
    model, (x, _) = linear(), batch(16)
    y = model(x).argmax(1)
    assert not bool(zero_gradient(model, x, y).any())
    huge = nn.Sequential(model, LogitScaled(nn.Identity(), 1e5))
    wrong = (y + 1) % 3
    assert not bool(zero_gradient(huge, x, wrong).any())  # a wrong label always has a gradient
    assert bool(zero_gradient(huge, x, y).all())


def test_autoattack_stages_end_where_standard_autoattack_ends() -> None:
    model, (x, _) = linear(classes=10, seed=3, inputs=16), batch(24, side=4)
    y = model(x).argmax(1)
    y[:4] = (y[:4] + 1) % 10  # a few examples wrong from the start
    stages = autoattack_stages(model, x, y, 0.05, seed=0)
    assert list(stages) == ["clean", "apgd-ce", "apgd-t", "fab-t", "square"]
    names = list(stages)
    for before, after in zip(names, names[1:], strict=False):
        assert bool((stages[after] <= stages[before]).all())  # survivors only shrink
    reference = model(autoattack(model, x, y, 0.05, seed=0)).argmax(1) == y
    assert torch.equal(stages["square"], reference)


def test_autoattack_stages_few_classes_and_bad_dtype() -> None:
    model, (x, _) = linear(classes=3, seed=2), batch(12)
    y = model(x).argmax(1)
    stages = autoattack_stages(model, x, y, 0.05)
    assert list(stages) == ["clean", "apgd-ce", "fab", "square"]
    with pytest.raises(ValueError, match="float32"):
        autoattack_stages(model.double(), x.double(), y, 0.05)
