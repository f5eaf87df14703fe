"""Zeng et al.'s non-uniform metrics (eq. 17–19): A_rob, A_sa and A_tr, and weight distributions.

``A_rob`` is the accuracy after unweighted PGD; ``A_sa = 100·Σ_i s̃_i·1[correct_i]`` on the same
adversarial inputs with ``s̃ = softmax(−α_test·PM)``; ``A_tr`` the same on the inputs of weighted
PGD (Alg. 1) with α = α_test. :func:`nonuniform_accuracy` computes them from per-example results,
:func:`nonuniform_report` runs the attacks, :func:`weight_distribution` returns s̃ per example.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from mailviz import weights
from mailviz.evaluate._checks import (
    _as_tensor,
    _check_alphas,
    _check_eps,
    _check_loss,
    _check_positive_int,
    _check_step_size,
    _generator,
    _model_device,
)
from mailviz.evaluate.accuracy import _collect, _Collected
from mailviz.evaluate.attack_specs import _pgd_attack


def nonuniform_accuracy(correct: Any, margins: Any, alpha: float) -> float:
    """Zeng et al.'s weighted accuracy ``A = 100·Σ_i s̃_i·1[correct_i]`` in %, ``s̃ = softmax(−α·m)``.

    ``s̃_i = exp(−α·m_i) / Σ_j exp(−α·m_j)`` (:func:`mailviz.weights.importance`) is the probability
    that a non-uniform attacker picks example ``i``; it sums to 1, so there is no ``1/N_test``
    (eq. 18–19 print one; the authors' code computes ``Σ w·1 / Σ w`` too). Computed in float64.
    ``α = 0`` is the uniform distribution and is computed as the plain mean, so that
    ``A_sa(α=0) == A_rob`` bit for bit. With ``α ≥ 0`` and PM margins (positive exactly on the
    correct examples) the result never exceeds the uniform accuracy.

    Args:
        correct: ``[N]`` booleans (prediction at the evaluated input is correct); 0/1 numbers
            are refused.
        margins: ``[N]`` finite margins at the same inputs
            (PM, :func:`mailviz.margins.probabilistic_margin`).
        alpha: α_test, a finite float.

    Raises:
        ValueError: one line for a non-boolean or non-1-D ``correct``, non-finite or non-1-D
            ``margins``, different lengths, or a non-finite α.

    Returns:
        The weighted accuracy in percent.

    Example:
        >>> nonuniform_accuracy(torch.tensor([True, False]), torch.tensor([0.5, -0.5]), 0.0)
        50.0
    """
    c = _as_tensor(correct, "correct").to(torch.float64)
    m = _as_tensor(margins, "margins").to(torch.float64)
    if c.shape != m.shape:
        raise ValueError(
            f"correct and margins must have the same shape, got {tuple(c.shape)} and "
            f"{tuple(m.shape)}"
        )
    alpha = _check_alphas(alpha)[0]
    if alpha == 0.0:
        return 100.0 * float(c.mean())
    s = weights.importance(m, alpha)
    return 100.0 * float((s * c).sum())


def _nonuniform_runs(
    model: nn.Module,
    dataset: Any,
    eps: float,
    alphas: list[float],
    *,
    weighted: bool,
    steps: int,
    step_size: float | None,
    restarts: int,
    loss: str,
    batch_size: int,
    device: torch.device,
    n: int | None,
    seed: int,
) -> tuple[_Collected, dict[float, _Collected]]:
    """The unweighted run (once) and, when ``weighted``, one weighted-PGD run per α ≠ 0.

    α = 0 maps to the unweighted run (weighted PGD with α = 0 *is* PGD-CE). Every run starts from
    a fresh generator seeded with ``seed``, so results do not depend on the order of the α list.
    """
    plain = _collect(
        model, dataset,
        _pgd_attack(eps, steps, step_size, loss=loss, restarts=restarts,
                    generator=_generator(device, seed)),
        batch_size=batch_size, device=device, n=n,
    )  # fmt: skip
    runs: dict[float, _Collected] = {}
    for a in dict.fromkeys(alphas):
        if not weighted or a == 0.0:
            runs[a] = plain
        else:
            runs[a] = _collect(
                model, dataset,
                _pgd_attack(eps, steps, step_size, alpha=a, restarts=restarts,
                            generator=_generator(device, seed)),
                batch_size=batch_size, device=device, n=n,
            )  # fmt: skip
    return plain, runs


def nonuniform_report(
    model: nn.Module,
    dataset: Any,
    eps: float | Sequence[float],
    alphas_test: float | Sequence[float],
    *,
    steps: int = 20,
    step_size: float | None = None,
    restarts: int = 1,
    loss: str = "ce",
    batch_size: int = 500,
    n: int | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """``A_rob``, ``A_sa`` and ``A_tr`` of Zeng et al. (eq. 17, 18, 19) for each ε and α_test.

    * ``A_rob = (100/N) Σ_i 1[f(x_i + δ*_i) = y_i]``, δ* from unweighted PGD (eq. 17);
    * ``A_sa = 100 Σ_i s̃_i·1[f(x_i + δ′*_i) = y_i]`` with the **same** δ′* = δ* and
      ``s̃ = softmax(−α_test·PM(x + δ′*))`` (eq. 18): the unweighted attack runs once per ε and
      serves every α_test;
    * ``A_tr``: the same with δ″* from weighted PGD (Zeng et al. Alg. 1 with α = α_test) and s̃
      from the PMs at ``x + δ″*`` (eq. 19); one weighted run per α_test ≠ 0. At ``α_test = 0``
      the unweighted run is reused, so ``A_tr = A_sa = A_rob`` exactly.

    ``loss="cw"`` gives Zeng et al.'s "PGD-margin" (Table 9): the unweighted attack ascends the CW
    margin loss (κ_c = 50). Weighted PGD is defined on the cross-entropy only and Table 9 reports
    no ``A_tr``, so ``A_tr`` is NaN for ``loss="cw"``. The s̃ normalisation runs over the evaluated
    set (``n`` examples), as in the paper (the whole test set).

    Args:
        model: classifier on inputs in [0, 1] (eval mode during the run, flags restored).
        dataset: an ImageDataset or an ``(x, y)`` pair.
        eps: ε_test, a float or a list (one block of rows per value).
        alphas_test: α_test values (finite; the paper uses 0–3).
        steps: PGD steps (Zeng et al.: 20 on CIFAR-10, 40 on MNIST, 10 on Tiny ImageNet).
        step_size: ``None`` gives ``2.5·ε/steps`` (Zeng et al. used 0.0031 at ε = 0.031).
        restarts: random restarts, strongest kept per example (Zeng et al.'s code: 10).
        loss: ``"ce"`` (PGD) or ``"cw"`` (PGD-margin).
        batch_size, n, device, seed: as in :func:`evaluate`.

    Returns:
        Frame with columns ``eps, alpha_test, A_rob, A_sa, A_tr, attack, steps``; accuracies in %;
        ``attack`` is ``"pgd"`` or ``"pgd-margin"``.

    Example:
        >>> nonuniform_report(model, test, eps=0.2, alphas_test=[0, 1, 2])  # doctest: +SKIP
           eps  alpha_test  A_rob   A_sa   A_tr attack  steps
        0  0.2         0.0  55.19  55.19  55.19    pgd     20
    """
    eps_values = _check_eps(eps)
    alphas = _check_alphas(alphas_test)
    _check_positive_int(steps, "steps", "Zeng et al. evaluate with steps=20")
    _check_positive_int(restarts, "restarts", "pass restarts=1 for a single run")
    step_size = _check_step_size(step_size)
    loss = _check_loss(loss)
    dev = _model_device(model, device)
    _generator(dev, seed)
    rows = []
    for e in eps_values:
        plain, runs = _nonuniform_runs(
            model, dataset, e, alphas, weighted=loss == "ce", steps=steps, step_size=step_size,
            restarts=restarts, loss=loss, batch_size=batch_size, device=dev, n=n, seed=seed,
        )  # fmt: skip
        correct, margin = plain.correct, plain.margin
        a_rob = plain.accuracy
        for a in alphas:
            a_sa = nonuniform_accuracy(correct, margin, a)
            if loss != "ce":
                a_tr = math.nan
            else:
                run = runs[a]
                a_tr = nonuniform_accuracy(run.correct, run.margin, a)
            rows.append(
                dict(eps=e, alpha_test=a, A_rob=a_rob, A_sa=a_sa, A_tr=a_tr,
                     attack="pgd" if loss == "ce" else "pgd-margin", steps=steps)
            )  # fmt: skip
    columns = ["eps", "alpha_test", "A_rob", "A_sa", "A_tr", "attack", "steps"]
    return pd.DataFrame(rows, columns=columns)


def weight_distribution(
    model: nn.Module,
    dataset: Any,
    eps: float | Sequence[float],
    alphas_test: float | Sequence[float],
    *,
    steps: int = 20,
    step_size: float | None = None,
    attack: str = "pgd",
    restarts: int = 1,
    batch_size: int = 500,
    n: int | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-example importance ``s̃_i = softmax(−α_test·PM)_i`` after an attack (Zeng Figs. 5–7).

    ``attack="pgd"`` (default): one unweighted PGD-CE run per ε serves every α_test (the weights
    of ``A_sa``); ``attack="weighted"``: weighted PGD with α = α_test per value (the weights of
    ``A_tr``; α_test = 0 reuses the unweighted run). The histogram of ``weight`` for one
    (model, ε, α_test) is one panel of Figs. 5–7 (:func:`mailviz.plots.weight_histograms`).

    Args:
        model, dataset, eps, alphas_test, steps, step_size, restarts, batch_size, n, device,
        seed: as in :func:`nonuniform_report`.
        attack: ``"pgd"`` or ``"weighted"``.

    Returns:
        Tidy frame with columns ``example, alpha_test, eps, weight, margin, correct``: one row per
        example and (ε, α_test); ``weight`` sums to 1 within each (ε, α_test).
    """
    if attack not in ("pgd", "weighted"):
        raise ValueError(
            f"attack must be 'pgd' (A_sa weights) or 'weighted' (A_tr weights), got {attack!r}"
        )
    eps_values = _check_eps(eps)
    alphas = _check_alphas(alphas_test)
    _check_positive_int(steps, "steps", "Zeng et al. evaluate with steps=20")
    _check_positive_int(restarts, "restarts", "pass restarts=1 for a single run")
    step_size = _check_step_size(step_size)
    dev = _model_device(model, device)
    _generator(dev, seed)
    frames = []
    for e in eps_values:
        _, runs = _nonuniform_runs(
            model, dataset, e, alphas, weighted=attack == "weighted", steps=steps,
            step_size=step_size, restarts=restarts, loss="ce", batch_size=batch_size,
            device=dev, n=n, seed=seed,
        )  # fmt: skip
        for a in dict.fromkeys(alphas):
            run = runs[a]
            margin = run.margin.double()
            frames.append(
                pd.DataFrame(
                    dict(
                        example=np.arange(len(margin)),
                        alpha_test=a,
                        eps=e,
                        weight=weights.importance(margin, a).numpy(),
                        margin=margin.numpy(),
                        correct=run.correct.numpy(),
                    )
                )  # fmt: skip
            )
    return pd.concat(frames, ignore_index=True)
