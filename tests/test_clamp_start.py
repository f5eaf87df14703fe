"""The ``clamp_start`` option of the gradient attacks (the one documented departure from the
authors' codes: they take the first gradient at the unclamped random start)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mailviz.attacks import lm_pgd, pgd, weighted_pgd

torch.set_num_threads(1)


class Recorder(nn.Module):
    """A small float64 MLP that remembers the smallest and largest input value it was given."""

    def __init__(self) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.w1 = nn.Parameter(torch.randn(16, 12, generator=gen, dtype=torch.float64))
        self.w2 = nn.Parameter(torch.randn(12, 3, generator=gen, dtype=torch.float64))
        self.seen: list[tuple[float, float]] = []

    def forward(self, x: Tensor) -> Tensor:
        self.seen.append((float(x.detach().min()), float(x.detach().max())))
        return torch.tanh(x.flatten(1) @ self.w1) @ self.w2


def digits_like(batch: int = 6) -> tuple[Tensor, Tensor]:
    """Inputs with many exact 0- and 1-pixels, as the digits have."""
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(batch, 1, 4, 4, generator=gen, dtype=torch.float64)
    x[x < 0.4] = 0.0
    x[x > 0.9] = 1.0
    return x, torch.arange(batch) % 3


def authors_loop(model: nn.Module, x: Tensor, y: Tensor, delta0: Tensor, eps: float,
                 step: float, steps: int) -> Tensor:  # fmt: skip
    """The authors' PGD: gradient at x + δ⁰ unclamped, then step, project, clamp."""
    x_adv = x + delta0
    for _ in range(steps):
        x_adv = x_adv.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(model(x_adv), y, reduction="sum"), x_adv)
        x_adv = x_adv.detach() + step * grad.sign()
        x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0.0, 1.0)
    return x_adv


def test_default_clamped_start_never_shows_the_model_a_non_image() -> None:
    model, (x, y) = Recorder(), digits_like()
    pgd(model, x, y, eps=0.3, step_size=0.1, steps=3)
    assert min(lo for lo, _ in model.seen) >= 0.0 and max(hi for _, hi in model.seen) <= 1.0


@pytest.mark.parametrize("attack", ["pgd", "weighted_pgd", "lm_pgd"])
def test_unclamped_start_first_gradient_outside_the_box_result_inside(attack: str) -> None:
    model, (x, y) = Recorder(), digits_like()
    gen = torch.Generator().manual_seed(3)
    if attack == "pgd":
        x_adv = pgd(model, x, y, 0.3, 0.1, 3, generator=gen, clamp_start=False)
    elif attack == "weighted_pgd":
        x_adv = weighted_pgd(model, x, y, 0.3, 0.1, 3, alpha=1.0, generator=gen, clamp_start=False)
    else:
        x_adv = lm_pgd(model, x, y, 0.3, steps=3, generator=gen, clamp_start=False)
    first_lo, first_hi = model.seen[0]
    assert first_lo < 0.0 or first_hi > 1.0  # the first gradient is taken at a non-image
    assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0
    assert float((x_adv - x).abs().max()) <= 0.3 + 1e-12


def test_unclamped_start_equals_the_authors_loop() -> None:
    model, (x, y) = Recorder(), digits_like()
    gen = torch.Generator().manual_seed(5)
    delta0 = (2 * torch.rand(x.shape, generator=gen, dtype=x.dtype) - 1) * 0.3
    ours = pgd(model, x, y, 0.3, 0.07, 5, init=delta0, clamp_start=False)
    assert torch.equal(ours, authors_loop(model, x, y, delta0, 0.3, 0.07, 5))
    clamped = pgd(model, x, y, 0.3, 0.07, 5, init=delta0)
    assert not torch.equal(clamped, ours)  # the option changes the answer on 0/1 pixels


def test_interior_inputs_do_not_depend_on_the_option() -> None:
    model = Recorder()
    gen = torch.Generator().manual_seed(2)
    x = 0.3 + 0.4 * torch.rand(5, 1, 4, 4, generator=gen, dtype=torch.float64)  # in [ε, 1 − ε]
    y = torch.arange(5) % 3
    for loss, start in (("ce", "uniform"), ("kl", "normal")):
        runs = [
            pgd(model, x, y, 0.25, 0.05, 4, loss=loss, start=start,
                generator=torch.Generator().manual_seed(9), clamp_start=flag)
            for flag in (True, False)
        ]  # fmt: skip
        assert torch.equal(runs[0], runs[1])


@pytest.mark.parametrize("bad", [1, "no", None])
def test_clamp_start_must_be_a_bool(bad: object) -> None:
    model, (x, y) = Recorder(), digits_like()
    with pytest.raises(ValueError, match="clamp_start must be True or False"):
        pgd(model, x, y, 0.3, 0.1, 2, clamp_start=bad)  # type: ignore[arg-type]
