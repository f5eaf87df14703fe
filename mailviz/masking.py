"""Gradient-masking probes: logit-scaled PGD, the per-example worst case, AutoAttack by stage.

Instance reweighting changes the scale of each example's loss, and a model trained that way can
make gradient attacks *look* weak without being robust ("gradient masking"; Athalye, Carlini and
Wagner, 2018). These functions are the probes lesson 09 uses to audit the reweighted models:

* :func:`logit_scaled_pgd` — PGD on the cross-entropy of scaled logits ``s·f(x′)`` for a small
  grid of scales, keeping the worst result per example (Hitaj, Pagnotta, Masi and Mancini,
  arXiv:2103.01914). A saturated softmax has (numerically) zero cross-entropy gradient; a small
  ``s`` de-saturates it, a large ``s`` sharpens a flat one. Scale 1 is plain PGD::

      x^{(t+1)} = clip_[0,1](Π_{B∞(x,ε)}(x^{(t)} + α·sign(∇ CE(s·f(x^{(t)}), y))))

* :func:`worst_case` — the per-example worst case over a list of attacks: an example counts as
  robust only if *every* attack leaves it correctly classified, so the worst case is never
  weaker than any member;
* :func:`zero_gradient` — which examples have an input gradient of exactly zero (one of the
  signals AutoAttack's authors check, Croce and Hein, 2020);
* :func:`autoattack_stages` — standard AutoAttack run one attack at a time (APGD-CE, APGD-T,
  FAB-T, Square), each on the survivors of the previous ones, which is exactly the reference
  cascade, with the survivors after every stage: the examples that only the black-box Square
  attack breaks are the other masking signal.

All functions are batched, leave ``x`` unmodified, run the model in eval mode (flags restored)
and never touch parameter gradients.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mailviz import attacks
from mailviz.attacks import AA_STAGES
from mailviz.margins import logit_margin

__all__ = [
    "SCALES",
    "AA_STAGES",
    "LogitScaled",
    "ScaledPGD",
    "WorstCase",
    "logit_scaled_pgd",
    "worst_case",
    "zero_gradient",
    "autoattack_stages",
]

#: Default logit scales of :func:`logit_scaled_pgd` (two decades either side of 1).
SCALES: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 100.0)


class LogitScaled(nn.Module):
    """``x ↦ s·f(x)``: the wrapped model's logits times a fixed scale ``s > 0``.

    The prediction (argmax) is unchanged; only the softmax — and so the cross-entropy and its
    gradient — sees sharper (``s > 1``) or flatter (``s < 1``) logits.
    """

    def __init__(self, model: nn.Module, scale: float) -> None:
        super().__init__()
        if (
            isinstance(scale, bool)
            or not isinstance(scale, (int, float))
            or not (math.isfinite(scale) and scale > 0)
        ):
            raise ValueError(f"scale must be a finite number > 0, got {scale!r} — e.g. 0.1 or 10")
        self.model = model
        self.scale = float(scale)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x) * self.scale


@dataclass(frozen=True)
class ScaledPGD:
    """Result of :func:`logit_scaled_pgd`.

    Attributes:
        x_adv: ``[B, ...]`` the worst adversarial input per example.
        correct: ``[B]`` bool, the model is still correct on ``x_adv``.
        by_scale: ``[S, B]`` bool, correct after the attack at each scale.
        scale: ``[B]`` the scale whose ``x_adv`` was kept.
        scales: the scales, in the order of ``by_scale``.
    """

    x_adv: Tensor
    correct: Tensor
    by_scale: Tensor
    scale: Tensor
    scales: tuple[float, ...]


@dataclass(frozen=True)
class WorstCase:
    """Result of :func:`worst_case`.

    Attributes:
        x_adv: ``[B, ...]`` per example, the input of the attack that hurt it most.
        correct: ``[B]`` bool, correct under *every* attack.
        by_attack: attack name → ``[B]`` bool, correct under that attack.
        attack: per example, the name of the attack whose input was kept.
    """

    x_adv: Tensor
    correct: Tensor
    by_attack: dict[str, Tensor]
    attack: list[str]


def _worse(
    y: Tensor, logits_best: Tensor, logits_new: Tensor
) -> Tensor:  # ``new`` is worse for the model: misclassified first, then the smaller logit margin
    wrong_best = logits_best.argmax(dim=1) != y
    wrong_new = logits_new.argmax(dim=1) != y
    smaller = logit_margin(logits_new, y) < logit_margin(logits_best, y)
    return (wrong_new & ~wrong_best) | ((wrong_new == wrong_best) & smaller)


def _scales(scales: Sequence[float]) -> tuple[float, ...]:
    if isinstance(scales, (str, bytes)) or not isinstance(scales, Sequence) or not scales:
        raise ValueError(f"scales must be a non-empty list of numbers > 0, got {scales!r}")
    for s in scales:
        LogitScaled(nn.Identity(), s)  # the one check of a scale
    return tuple(float(s) for s in scales)


def logit_scaled_pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float | Tensor,
    step_size: float | Tensor,
    steps: int,
    *,
    scales: Sequence[float] = SCALES,
    start: str = "uniform",
    generator: torch.Generator | None = None,
    clamp_start: bool = True,
) -> ScaledPGD:
    """PGD-K on ``CE(s·f(x′), y)`` for every scale ``s``, keeping the worst result per example.

    The logit-scaling attack of Hitaj et al. (arXiv:2103.01914). Each scale is one
    :func:`mailviz.attacks.pgd` run (cross-entropy loss) on :class:`LogitScaled`; the scales use
    ``generator`` one after another, so ``scales=(1.0,)`` *is* ``attacks.pgd`` with the same
    generator state. Per example the kept input is a misclassified one if any scale found one,
    else the one with the smallest logit margin ``f_y − max_{j≠y} f_j`` of the unscaled model.

    Cost: ``len(scales)`` PGD-K runs plus one forward each.

    Args:
        model: classifier mapping inputs in [0, 1] to logits.
        x, y, eps, step_size, steps, start, generator, clamp_start: as in
            :func:`mailviz.attacks.pgd`.
        scales: the logit scales ``s > 0`` (default :data:`SCALES`).

    Returns:
        A :class:`ScaledPGD`.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> x, y = torch.rand(8, 1, 2, 2), torch.randint(0, 3, (8,))
        >>> res = logit_scaled_pgd(model, x, y, 0.1, 0.025, 10, scales=(0.1, 1.0, 10.0))
        >>> tuple(res.by_scale.shape), bool((res.correct <= res.by_scale).all())
        ((3, 8), True)
    """
    grid = _scales(scales)
    best_x: Tensor | None = None
    best_logits: Tensor | None = None
    kept = torch.empty(0)
    rows = []
    with attacks._eval_mode(model):
        for s in grid:
            x_adv = attacks.pgd(LogitScaled(model, s), x, y, eps, step_size, steps, start=start,
                                generator=generator, clamp_start=clamp_start)  # fmt: skip
            assert isinstance(x_adv, Tensor)
            with torch.no_grad():
                logits = model(x_adv)
            rows.append(logits.argmax(dim=1) == y)
            if best_x is None or best_logits is None:
                best_x, best_logits = x_adv, logits
                kept = torch.full_like(y, 0, dtype=torch.int64)
                continue
            take = _worse(y, best_logits, logits)
            best_x = torch.where(take.view(-1, *([1] * (x.dim() - 1))), x_adv, best_x)
            best_logits = torch.where(take.view(-1, 1), logits, best_logits)
            kept = torch.where(take, torch.full_like(kept, len(rows) - 1), kept)
    assert best_x is not None and best_logits is not None
    by_scale = torch.stack(rows)
    scale = torch.tensor(grid, dtype=x.dtype, device=x.device)[kept]
    return ScaledPGD(best_x, best_logits.argmax(dim=1) == y, by_scale, scale, grid)


def worst_case(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    attacks_: Mapping[str, Callable[[Tensor, Tensor], Tensor]],
) -> WorstCase:
    """The per-example worst case over ``attacks_`` (name → ``(x, y) ↦ x_adv``).

    ``correct_i = ∧_a 1[f(x′_{a,i}) = y_i]``: an example is robust only if it survives every
    attack, so ``correct ≤ by_attack[a]`` for every ``a`` — the worst case is never weaker than
    any member. The kept input of an example is that of the first attack that fooled the model,
    or else the one with the smallest logit margin.

    Args:
        model: classifier mapping inputs in [0, 1] to logits.
        x: ``[B, ...]`` clean inputs; y: ``[B]`` labels.
        attacks_: at least one attack; each returns ``x_adv`` shaped like ``x``.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> x, y = torch.rand(8, 1, 2, 2), torch.randint(0, 3, (8,))
        >>> from mailviz.attacks import fgsm, pgd
        >>> wc = worst_case(model, x, y, {"fgsm": lambda a, b: fgsm(model, a, b, 0.1),
        ...                               "pgd": lambda a, b: pgd(model, a, b, 0.1, 0.025, 10)})
        >>> bool((wc.correct <= wc.by_attack["pgd"]).all())
        True
    """
    if not isinstance(attacks_, Mapping) or not attacks_:
        raise ValueError("attacks_ must map at least one name to an attack (x, y) -> x_adv")
    names = list(attacks_)
    best_x: Tensor | None = None
    best_logits: Tensor | None = None
    which = torch.zeros(y.shape[0], dtype=torch.int64)
    by_attack: dict[str, Tensor] = {}
    with attacks._eval_mode(model):
        for k, name in enumerate(names):
            x_adv = attacks_[name](x, y)
            if not isinstance(x_adv, Tensor) or x_adv.shape != x.shape:
                raise ValueError(
                    f"attack {name!r} must return x_adv shaped like x, {tuple(x.shape)}"
                )
            with torch.no_grad():
                logits = model(x_adv.detach())
            by_attack[name] = logits.argmax(dim=1) == y
            if best_x is None or best_logits is None:
                best_x, best_logits = x_adv.detach(), logits
                continue
            take = _worse(y, best_logits, logits)
            best_x = torch.where(take.view(-1, *([1] * (x.dim() - 1))), x_adv.detach(), best_x)
            best_logits = torch.where(take.view(-1, 1), logits, best_logits)
            which[take.cpu()] = k
    assert best_x is not None
    correct = torch.stack(list(by_attack.values())).all(dim=0)
    return WorstCase(best_x, correct, by_attack, [names[int(i)] for i in which])


def zero_gradient(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """``[B]`` bool: is ``∇_x CE(f(x_i), y_i)`` exactly zero in every input coordinate?

    A softmax saturated in float32 (``p_y`` rounds to 1) has a cross-entropy gradient that is
    exactly zero, and a sign-gradient attack then does not move at all: one of the signs of
    gradient masking in Croce and Hein's checklist. Evaluated at ``x`` itself, in eval mode.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> zero_gradient(model, torch.rand(5, 1, 2, 2), torch.zeros(5, dtype=torch.long)).shape
        torch.Size([5])
    """
    y = attacks._check_inputs(model, x, y)
    with attacks._eval_mode(model), torch.enable_grad():
        x_in = x.detach().clone().requires_grad_(True)
        loss = F.cross_entropy(model(x_in), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x_in)
    return (grad.flatten(1) == 0).all(dim=1)


def autoattack_stages(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    *,
    seed: int = 0,
    batch_size: int = 500,
) -> dict[str, Tensor]:
    """Standard AutoAttack one stage at a time: ``{"clean", stage…}`` → ``[B]`` bool survivors.

    Each stage runs on the examples that survived the previous ones, exactly as the reference
    ``run_standard_evaluation`` does (every attack reseeds itself with ``seed``), so the last
    entry equals :func:`mailviz.attacks.autoattack` (``version="standard"``) example by example.
    ``survivors["fab-t"] & ~survivors["square"]`` are the examples that only the black-box
    Square attack breaks. Stages: :data:`AA_STAGES` (``AA_STAGES_FEW_CLASSES`` of
    :mod:`mailviz.attacks` with fewer than 4 classes). The checks, RNG handling, eval mode and
    the AutoAttack object are those of :func:`mailviz.attacks.autoattack`.

    Example:
        >>> stages = autoattack_stages(model, x_test[:100], y_test[:100], 8 / 255)  # doctest: +SKIP
        >>> (stages["fab-t"] & ~stages["square"]).float().mean()  # doctest: +SKIP
    """
    y, eps_value = attacks._aa_inputs("autoattack_stages", model, x, y, eps, batch_size, seed)
    x = x.detach()
    out: dict[str, Tensor] = {}
    with attacks._aa_session(model, x, False), torch.no_grad():
        classes = attacks._guarded_classes(model, x, y, batch_size)
        aa, stages = attacks._standard_autoattack(model, x.device, eps_value, seed, classes)
        aa.verbose = False
        low, high = (x - eps_value).clamp(min=0.0), (x + eps_value).clamp(max=1.0)
        alive = model(x).argmax(dim=1) == y
        out["clean"] = alive.clone()
        for stage in stages:
            idx = torch.nonzero(alive).flatten()
            if idx.numel():
                aa.attacks_to_run = [stage]
                x_adv, _ = aa.run_standard_evaluation(x[idx], y[idx], batch_size=batch_size)
                x_adv = torch.clamp(x_adv, low[idx], high[idx])  # as attacks.autoattack does
                alive[idx] = model(x_adv).argmax(dim=1) == y[idx]
            out[stage] = alive.clone()
    return out
