"""Lesson 00's figures: attacked digits side by side, and accuracy as a curve in ε."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch

from mailviz import plots


def _batch(n: int = 5) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 8, 8, generator=g)
    x_adv = (x + 0.1 * torch.sign(torch.randn(n, 1, 8, 8, generator=g))).clamp(0, 1)
    y = torch.arange(n) % 10
    return x, x_adv, y, y.clone(), (y + 1) % 10


def test_adversarial_examples_has_three_rows_per_example() -> None:
    x, x_adv, y, pc, pa = _batch()
    fig = plots.adversarial_examples(x, x_adv, y, pc, pa, eps=0.1, n=4)
    assert len(fig.axes) == 12
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "clean: 0" and titles[8].endswith("✗")  # row 3 marks the wrong prediction
    # the perturbation row is drawn on the fixed colour range [-eps, eps]
    assert fig.axes[4].images[0].get_clim() == (-0.1, 0.1)
    plt.close(fig)


def test_adversarial_examples_rejects_bad_input() -> None:
    x, x_adv, y, pc, pa = _batch()
    with pytest.raises(ValueError, match="one shape"):
        plots.adversarial_examples(x, x_adv[:, :, :4], y, pc, pa, eps=0.1)
    with pytest.raises(ValueError, match="one entry per image"):
        plots.adversarial_examples(x, x_adv, y[:2], pc, pa, eps=0.1)
    with pytest.raises(ValueError, match="eps"):
        plots.adversarial_examples(x, x_adv, y, pc, pa, eps=0.0)


def test_robustness_curve_one_line_per_model_starting_at_clean() -> None:
    frame = pd.DataFrame(
        [("a", "nat", 0.0, 95.0), ("a", "pgd20", 0.1, 50.0), ("a", "pgd20", 0.2, 5.0),
         ("b", "nat", 0.0, 90.0), ("b", "pgd20", 0.1, 70.0), ("b", "pgd20", 0.2, 40.0)],
        columns=["model", "attack", "eps", "value"],
    )
    fig = plots.robustness_curve(frame, eps_train=0.2)
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_label() in ("a", "b")]
    assert [ln.get_label() for ln in lines] == ["a", "b"]
    assert list(lines[1].get_xdata()) == [0.0, 0.1, 0.2] and lines[1].get_ydata()[0] == 90.0
    assert "PGD-20" in fig.axes[0].get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="missing"):
        plots.robustness_curve(frame.drop(columns="eps"))
