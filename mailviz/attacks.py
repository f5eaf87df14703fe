"""Adversarial attacks in an L∞ ball: FGSM, PGD (CE / CW / KL), LM-PGD, weighted PGD, AutoAttack.

Every attack searches ``x′ = x + δ`` with ``‖δ‖∞ ≤ ε`` and ``x′ ∈ [0, 1]`` that makes a loss
``ℓ(f(x′), y)`` large. The common building block is one signed-gradient step followed by the
projection onto the ε-ball and the clamp to the image box (MAIL appendix eq. 11)::

    x^{(t+1)} = clip_[0,1]( Π_{B∞(x, ε)}( x^{(t)} + α · sign(∇_{x^{(t)}} Σ_i ℓ_i(x^{(t)})) ) )

Conventions shared by all functions here:

* Batched. ``eps`` and ``step_size`` are floats or per-example tensors ``[B]`` (broadcast over
  the other dimensions); a float and a tensor filled with that float give identical results.
* The input ``x`` is never modified; the result satisfies ``‖x_adv − x‖∞ ≤ ε`` and
  ``x_adv ∈ [0, 1]`` (the projection and the clamp are applied after every step and to the
  random start).
* The model runs in eval mode during the attack (BatchNorm uses its running statistics, dropout
  is off, so every example is attacked independently of the rest of the batch); every module's
  ``training`` flag is restored afterwards, also when the attack raises.
* Gradients are taken with ``torch.autograd.grad`` with respect to the input only: parameter
  ``.grad`` fields are never touched, and the attacks work inside ``torch.no_grad()``.
* The loss is summed over the batch, so the gradient of example ``i`` does not depend on the
  batch size (the sign step is scale-free anyway; the sum matters for the reported loss).
* Bad content is one ``ValueError`` line, never a silently wrong ``x_adv``: ``x`` must be
  finite and in [0, 1], labels in ``[0, classes)`` and the model's logits finite. These checks
  cost one host sync per call, taken after the first forward (before the loss reads the labels),
  and are skipped inside :func:`mailviz.checks.skip_host_syncs` (trusted inputs only).
* Randomness (uniform / normal starts) comes from ``generator`` when given (it must live on
  ``x.device``), else from torch's global RNG.

Cost, in passes through the model for a batch: :func:`pgd` and :func:`weighted_pgd` take
``restarts × K`` forward+backward passes, plus one forward per restart for the final logits when
they are needed (``return_result=True`` with ``final_logits=True``, ``record=True`` or
``restarts > 1``); ``loss="kl"`` adds one clean forward. :func:`lm_pgd` takes ``K``
forward+backward passes and ``K`` forwards of ``n_candidates × B`` inputs (the line search).
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mailviz import checks
from mailviz.margins import mm_unchecked, pm_unchecked

__all__ = [
    "ATTACKS",
    "AA_VERSIONS",
    "LOSSES",
    "WEIGHTED_LOSSES",
    "STARTS",
    "AttackResult",
    "fgsm",
    "pgd",
    "lm_pgd",
    "weighted_pgd",
    "autoattack",
]

ATTACKS: tuple[str, ...] = ("fgsm", "pgd", "lm_pgd", "weighted_pgd", "autoattack")
LOSSES: tuple[str, ...] = ("ce", "cw", "kl")
WEIGHTED_LOSSES: tuple[str, ...] = ("ce", "kl")
STARTS: tuple[str, ...] = ("uniform", "normal", "none")
AA_VERSIONS: tuple[str, ...] = ("standard", "fast")

#: Standard deviation of the ``start="normal"`` noise, ``x + 0.001·N(0, I)`` (TRADES/MAIL code).
NORMAL_START_STD = 1e-3
#: LM-PGD defaults of the MAIL appendix, 6/255 and 4/255 at ε = 8/255, as fractions of ε.
LM_STEP_MAX_FRACTION = 6.0 / 8.0
LM_STEP_MIN_FRACTION = 4.0 / 8.0
#: ``autoattack(version="fast")``: APGD iterations and APGD-T target classes.
AA_FAST_ITERATIONS = 50
AA_FAST_TARGET_CLASSES = 3

# A per-example objective: (logits [N, classes], labels [N], reference [N, ...] or None) -> [N].
Objective = Callable[[Tensor, Tensor, Tensor | None], Tensor]


@dataclass
class AttackResult:
    """Everything an attack run knows about its final point, for training and diagnostics.

    Attributes:
        x_adv: ``[B, ...]`` adversarial inputs, detached.
        logits: ``[B, classes]`` ``model(x_adv)`` in eval mode, detached; ``None`` when the attack
            was asked not to spend the final forward (``final_logits=False``, one restart, no
            record).
        loss: ``[B]`` the attack objective at ``x_adv`` (per example, detached); ``None`` exactly
            when ``logits`` is.
        kappa: ``[B]`` int64 GAIRAT κ (least PGD steps): how many of the iterates
            ``x^{(0)} … x^{(K−1)}`` were still classified correctly (the final iterate is never
            checked). Only for :func:`pgd`, :func:`weighted_pgd` and :func:`fgsm`; ``None`` for
            :func:`lm_pgd`.
        path: ``[K+1, B, ...]`` every iterate ``x^{(0)} … x^{(K)}`` when ``record=True``.
        path_pred: ``[K+1, B]`` int64 predicted label of every iterate when ``record=True``.
    """

    x_adv: Tensor
    logits: Tensor | None
    loss: Tensor | None
    kappa: Tensor | None
    path: Tensor | None = None
    path_pred: Tensor | None = None

    @property
    def pred(self) -> Tensor | None:
        """``[B]`` predicted labels of ``x_adv`` (``None`` without logits)."""
        return None if self.logits is None else self.logits.argmax(dim=1)


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------


def _check_inputs(model: object, x: object, y: object) -> Tensor:
    """Validate the types and shapes of ``model``, ``x``, ``y`` (no host sync); return ``y`` as
    int64 on ``x``'s device. Their *content* is checked by :class:`_Guard`."""
    if not callable(model):
        raise ValueError(f"model must be a callable nn.Module, got {type(model).__name__}")
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise ValueError("x must be a float tensor of inputs in [0, 1], e.g. dataset.x[:64]")
    if x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(f"x must have shape [B, ...] with B ≥ 1, got {tuple(x.shape)}")
    if not isinstance(y, Tensor) or y.shape != (x.shape[0],):
        shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
        raise ValueError(f"y must be a label tensor of shape [{x.shape[0]}] like x, got {shape}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ValueError(f"y must hold integer class labels (int64), got dtype {y.dtype}")
    if torch.is_inference_mode_enabled():
        raise ValueError("attacks need gradients: call them outside torch.inference_mode()")
    return y.to(device=x.device, dtype=torch.int64)


class _Guard:
    """The content checks of one attack call, resolved with **one** host sync.

    At construction it queues (on the device, no sync) the range of ``x``, whether ``x`` holds
    NaN / inf and the range of ``y``; :meth:`logits` adds whether the first forward's logits
    are finite and reads everything at once, *before* the loss sees the labels (an out-of-range
    label would otherwise reach torch's IndexError, or a device-side assert on CUDA). Does
    nothing while :func:`mailviz.checks.skip_host_syncs` is active.
    """

    def __init__(self, x: Tensor, y: Tensor) -> None:
        self.pending: Tensor | None = None
        if checks.enabled():
            xd = x.detach()
            dt = checks.stats_dtype(x.device)
            y_low, y_high = torch.aminmax(y)
            x_low, x_high = torch.aminmax(xd)
            self.pending = torch.stack(
                [x_low.to(dt), x_high.to(dt), (~torch.isfinite(xd)).any().to(dt),
                 y_low.to(dt), y_high.to(dt)]
            )  # fmt: skip

    def logits(self, logits: Tensor, nonfinite: Tensor | None = None) -> None:
        """Check everything queued plus ``logits`` (the first forward; ``nonfinite``: a 0-d
        flag computed by the caller instead); only the first call costs a sync."""
        if self.pending is None:
            return
        if nonfinite is None:
            nonfinite = (~torch.isfinite(logits.detach())).any()
        flag = nonfinite.to(self.pending)
        stats = torch.cat([self.pending, flag.view(1)]).tolist()
        x_low, x_high, x_bad, y_low, y_high, l_bad = stats
        self.pending = None
        if x_bad:
            raise ValueError(
                "x holds NaN or inf values — images must be finite and in [0, 1]; check the "
                "data pipeline (e.g. torch.isfinite(x).all())"
            )
        if x_low < 0.0 or x_high > 1.0:
            raise ValueError(
                f"x must lie in [0, 1], got values in [{x_low:.3g}, {x_high:.3g}] — "
                "put the normalisation inside the model"
            )
        message = checks.label_message(y_low, y_high, int(logits.shape[-1]))
        if message is not None:
            raise ValueError(message)
        if l_bad:
            raise checks.NonFiniteLogitsError(checks.logits_message("the model's logits"))


def _check_int(value: object, name: str, minimum: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r} — {hint}")
    return value


def _check_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def _check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")
    return str(value)


def _per_example(
    value: float | Tensor,
    name: str,
    x: Tensor,
    valid: Callable[[Tensor], Tensor],
    rule: str,
    hint: str,
) -> Tensor:
    """A float or ``[B]`` tensor as a ``[B, 1, …, 1]`` tensor of ``x``'s dtype and device.

    Floats and tensors go through the same conversion, so the arithmetic of the attack is the
    same whether a value is given once or per example. A float is checked on the CPU and then
    written on ``x``'s device by a fill (no copy, no host sync); a tensor's values are checked
    only while :func:`mailviz.checks.enabled` (one host sync).
    """
    batch = x.shape[0]
    if isinstance(value, Tensor):
        t = value.detach().to(device=x.device, dtype=x.dtype)
        check = checks.enabled()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        host = torch.tensor(float(value), dtype=x.dtype)  # checked on the CPU: no sync
        if not bool(valid(host)):
            raise ValueError(f"{name} must be {rule}, got {host.item():g} — {hint}")
        t, check = torch.full((), float(value), device=x.device, dtype=x.dtype), False
    else:
        raise ValueError(
            f"{name} must be a float or a tensor of shape [{batch}], got {type(value).__name__}"
        )
    if t.dim() == 0:
        t = t.expand(batch)
    elif t.shape != (batch,):
        raise ValueError(
            f"{name} must be a float or have shape [{batch}] (one per example), "
            f"got {tuple(t.shape)}"
        )
    if check and not bool(valid(t).all()):
        shown = t.flatten()[~valid(t)][0].item()
        raise ValueError(f"{name} must be {rule}, got {shown:g} — {hint}")
    return t.reshape(batch, *([1] * (x.dim() - 1)))


def _eps(eps: float | Tensor, x: Tensor) -> Tensor:
    return _per_example(
        eps,
        "eps",
        x,
        lambda t: (t > 0) & (t <= 1),
        "in (0, 1]",
        "pass eps=8/255 for CIFAR-style budgets",
    )


def _positive(value: float | Tensor, name: str, x: Tensor, hint: str) -> Tensor:
    return _per_example(value, name, x, lambda t: (t > 0) & torch.isfinite(t), "> 0", hint)


def _check_common(
    x: Tensor,
    start: str,
    restarts: int,
    record: bool,
    return_result: bool,
    generator: torch.Generator | None,
    init: Tensor | None,
) -> None:
    _check_choice(start, "start", STARTS)
    _check_int(restarts, "restarts", 1, "pass restarts=1 for a single run")
    if record and not return_result:
        raise ValueError("record=True needs return_result=True to hand back the path")
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        if generator.device.type != x.device.type:
            raise ValueError(
                f"generator is on {generator.device.type} but x is on {x.device.type} — "
                "create it with torch.Generator(device=x.device)"
            )
    if init is not None:
        if not isinstance(init, Tensor) or init.shape != x.shape:
            shape = tuple(init.shape) if isinstance(init, Tensor) else type(init).__name__
            raise ValueError(f"init must be a start perturbation shaped like x, got {shape}")
        if restarts != 1:
            raise ValueError("init fixes the start point, so restarts must be 1")


# --------------------------------------------------------------------------------------------
# Model state
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _eval_mode(model: object) -> Iterator[None]:
    """Run the body with the model in eval mode, then restore every module's training flag."""
    modules = list(model.modules()) if isinstance(model, nn.Module) else []
    flags = [m.training for m in modules]
    try:
        if isinstance(model, nn.Module):
            model.eval()
        yield
    finally:
        for module, flag in zip(modules, flags, strict=True):
            module.training = flag


# --------------------------------------------------------------------------------------------
# Objectives
# --------------------------------------------------------------------------------------------


def _cross_entropy(logits: Tensor, y: Tensor, ref: Tensor | None) -> Tensor:
    return F.cross_entropy(logits, y, reduction="none")


def _kl(logits: Tensor, y: Tensor, ref: Tensor | None) -> Tensor:
    assert ref is not None
    return F.kl_div(F.log_softmax(logits, dim=1), ref, reduction="none").sum(dim=1)


def _weighted_ce(logits: Tensor, y: Tensor, ref: Tensor | None) -> Tensor:
    assert ref is not None
    weight = torch.exp(-ref * pm_unchecked(logits, y))  # not detached (Zeng et al.)
    return weight * F.cross_entropy(logits, y, reduction="none")


def _objective(
    loss: str, confidence: float, model: Callable[[Tensor], Tensor], x: Tensor
) -> tuple[Objective, Tensor | None]:
    """Per-example objective and its reference tensor (``p(x)`` for KL), computed once."""
    if loss == "ce":
        return _cross_entropy, None
    if loss == "cw":

        def cw(logits: Tensor, y: Tensor, ref: Tensor | None) -> Tensor:
            return (-mm_unchecked(logits, y)).clamp(max=confidence)

        return cw, None
    with torch.no_grad():
        p_clean = F.softmax(model(x), dim=1)
    return _kl, p_clean


# --------------------------------------------------------------------------------------------
# The shared signed-gradient loop (PGD, weighted PGD, FGSM)
# --------------------------------------------------------------------------------------------


def _start_point(
    x: Tensor,
    eps: Tensor,
    low: Tensor,
    high: Tensor,
    start: str,
    init: Tensor | None,
    generator: torch.Generator | None,
    clamp: bool = True,
) -> Tensor:
    """The start iterate ``x^{(0)}``: projected onto the ε-ball, and clamped to [0, 1] unless
    ``clamp`` is False (the authors' codes take the first gradient at the unclamped start)."""
    if init is not None:
        x0 = x + init.detach().to(device=x.device, dtype=x.dtype)
    elif start == "uniform":
        u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x0 = x + (2.0 * u - 1.0) * eps
    elif start == "normal":
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x0 = x + NORMAL_START_STD * noise
    else:
        x0 = x
    if not clamp:
        return torch.minimum(torch.maximum(x0.detach(), x - eps), x + eps)
    return torch.clamp(x0.detach(), low, high)


def _stronger(best: AttackResult, new: AttackResult, y: Tensor) -> AttackResult:
    """Per example, keep ``new`` if it is misclassified and ``best`` is not, or if both agree on
    correctness and ``new`` has the larger final loss."""
    assert best.logits is not None and new.logits is not None
    assert best.loss is not None and new.loss is not None
    wrong_best = best.logits.argmax(dim=1) != y
    wrong_new = new.logits.argmax(dim=1) != y
    take = (wrong_new & ~wrong_best) | ((wrong_new == wrong_best) & (new.loss > best.loss))

    def pick(a: Tensor | None, b: Tensor | None, batch_dim: int = 0) -> Tensor | None:
        if a is None or b is None:
            return None
        shape = [1] * a.dim()
        shape[batch_dim] = -1
        return torch.where(take.view(shape), b, a)

    return AttackResult(
        x_adv=pick(best.x_adv, new.x_adv),
        logits=pick(best.logits, new.logits),
        loss=pick(best.loss, new.loss),
        kappa=pick(best.kappa, new.kappa),
        path=pick(best.path, new.path, batch_dim=1),
        path_pred=pick(best.path_pred, new.path_pred, batch_dim=1),
    )


def _sign_ascent(
    model: Callable[[Tensor], Tensor],
    x: Tensor,
    y: Tensor,
    eps: Tensor,
    step_size: Tensor,
    steps: int,
    objective: Objective,
    ref: Tensor | None,
    *,
    start: str,
    restarts: int,
    record: bool,
    generator: torch.Generator | None,
    return_result: bool,
    final_logits: bool,
    init: Tensor | None,
    guard: _Guard | None = None,
    clamp_start: bool = True,
) -> Tensor | AttackResult:
    """``restarts`` runs of eq. 11 on ``objective``; the model must already be in eval mode.

    ``guard`` sees the first forward's logits before the objective does (:class:`_Guard`)."""
    x = x.detach()
    low = (x - eps).clamp(min=0.0)  # project-then-clamp == one clamp to [low, high]
    high = (x + eps).clamp(max=1.0)
    need_final = record or restarts > 1 or (return_result and final_logits)
    best: AttackResult | None = None
    for _ in range(restarts):
        x_adv = _start_point(x, eps, low, high, start, init, generator, clamp_start)
        kappa = (
            torch.zeros(x.shape[0], dtype=torch.int64, device=x.device) if return_result else None
        )
        path = x.new_empty((steps + 1, *x.shape)) if record else None
        path_pred = (
            torch.empty((steps + 1, x.shape[0]), dtype=torch.int64, device=x.device)
            if record
            else None
        )
        for t in range(steps):
            with torch.enable_grad():
                x_adv.requires_grad_(True)
                logits = model(x_adv)
                if guard is not None:
                    guard.logits(logits)
                (grad,) = torch.autograd.grad(objective(logits, y, ref).sum(), x_adv)
            x_adv = x_adv.detach()
            if kappa is not None:  # the forward for the gradient already predicts iterate t
                pred = logits.detach().argmax(dim=1)
                kappa += pred == y
                if path is not None and path_pred is not None:
                    path[t] = x_adv
                    path_pred[t] = pred
            x_adv = torch.addcmul(x_adv, step_size, grad.sign()).clamp_(low, high)
        logits_final = loss_final = None
        if need_final:
            with torch.no_grad():
                logits_final = model(x_adv).detach()
                loss_final = objective(logits_final, y, ref).detach()
            if path is not None and path_pred is not None:
                path[steps] = x_adv
                path_pred[steps] = logits_final.argmax(dim=1)
        run = AttackResult(x_adv, logits_final, loss_final, kappa, path, path_pred)
        best = run if best is None else _stronger(best, run, y)
    assert best is not None
    return best if return_result else best.x_adv


# --------------------------------------------------------------------------------------------
# Public attacks
# --------------------------------------------------------------------------------------------


def fgsm(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float | Tensor,
    *,
    return_result: bool = False,
) -> Tensor | AttackResult:
    """Fast gradient sign method: ``x′ = clip_[0,1](x + ε·sign(∇_x CE(f(x), y)))``.

    One step of eq. 11 from ``x`` itself (no random start) with step size ε on the
    cross-entropy loss. Cost: one forward+backward (+1 forward with ``return_result=True``).

    Args:
        model: classifier mapping ``[B, ...]`` inputs in [0, 1] to logits ``[B, classes]``.
        x: ``[B, ...]`` clean inputs in [0, 1] (not modified).
        y: ``[B]`` integer labels.
        eps: L∞ budget in (0, 1], a float or a ``[B]`` tensor.
        return_result: return an :class:`AttackResult` (κ ∈ {0, 1}: is ``x`` correct) instead of
            the tensor.

    Shape:
        ``x``: ``[B, ...]`` → ``x_adv``: ``[B, ...]``.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> x, y = torch.rand(2, 1, 2, 2), torch.tensor([0, 2])
        >>> bool(((fgsm(model, x, y, eps=0.1) - x).abs() <= 0.1 + 1e-6).all())
        True
    """
    y = _check_inputs(model, x, y)
    eps_b = _eps(eps, x)
    guard = _Guard(x, y)
    with _eval_mode(model):
        return _sign_ascent(
            model, x, y, eps_b, eps_b, 1, _cross_entropy, None,
            start="none", restarts=1, record=False, generator=None,
            return_result=return_result, final_logits=True, init=None, guard=guard,
        )  # fmt: skip


def pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float | Tensor,
    step_size: float | Tensor,
    steps: int,
    *,
    loss: str = "ce",
    start: str = "uniform",
    restarts: int = 1,
    confidence: float = 0.0,
    record: bool = False,
    generator: torch.Generator | None = None,
    return_result: bool = False,
    final_logits: bool = True,
    init: Tensor | None = None,
    clamp_start: bool = True,
) -> Tensor | AttackResult:
    """Projected gradient descent in the L∞ ball (Madry et al.; MAIL appendix eq. 11).

    ``x^{(t+1)} = clip_[0,1](Π_{B∞(x,ε)}(x^{(t)} + α·sign(∇ Σ_i ℓ_i(x^{(t)}))))``, ``t = 0…K−1``,
    with one of three per-example losses:

    * ``"ce"``: ``ℓ_i = CE(f(x′_i), y_i)`` (AT, MART, GAIRAT training; PGD-k evaluation);
    * ``"cw"``: the CW-∞ margin loss ``ℓ_i = min(max_{j≠y} f_j(x′_i) − f_y(x′_i), κ_c)``, i.e.
      ``−max(MM_i, −κ_c)`` with MM the logit margin (eq. 15) and κ_c = ``confidence``; it stops
      pushing once an example is misclassified by κ_c. MAIL's "CW" evaluation is
      ``pgd(..., steps=20, loss="cw", confidence=50)``;
    * ``"kl"``: TRADES' ``ℓ_i = KL(p(x_i) ‖ p(x′_i))``; ``p(x)`` is computed once before the
      loop (TRADES' code recomputes it every step; it cannot change). KL has zero gradient at
      ``x′ = x``, so ``start="none"`` is refused; TRADES starts from ``"normal"``.

    Starts: ``"uniform"`` ``δ ~ U(−ε, ε)`` (Madry, MAIL/GAIRAT/Zeng evaluation), ``"normal"``
    ``x + 0.001·N(0, I)`` (TRADES/MAIL training code), ``"none"`` (``x`` itself); all are
    projected and clamped. ``init`` overrides ``start`` with an explicit start perturbation.

    Start clamp (a documented difference from the authors' code): by default the start is
    clamped to [0, 1] *before* the first gradient, so every point the model sees is an image.
    The MAIL, GAIRAT, TRADES and Zeng et al. codes take the first gradient at the unclamped
    ``x + δ^{(0)}`` (pixels below 0 or above 1) and clamp only after the first step;
    ``clamp_start=False`` reproduces that. Only pixels within ε of 0 or 1 can differ; lesson 09
    measures the effect on CE and KL attacks.

    Restarts: each example keeps its strongest restart — a misclassified final iterate beats a
    correct one; among restarts that agree on correctness, the larger final loss wins. With the
    same generator state, restart 1 is the single-restart run, so restarts never weaken it.

    κ (GAIRAT's least PGD steps) comes for free: the forward pass that gives the gradient at
    iterate ``t`` also gives its prediction, so ``κ_i = Σ_{t=0}^{K−1} 1[f(x_i^{(t)}) = y_i]``
    (:func:`mailviz.margins.least_pgd_steps`; the final iterate is never checked). With
    restarts, κ belongs to the kept restart.

    Cost: ``restarts × K`` forward+backward passes; plus one forward per restart for the final
    logits when ``return_result and final_logits``, ``record`` or ``restarts > 1``; plus one
    clean forward for ``loss="kl"``. A training step that only needs ``x_adv`` and κ calls
    ``pgd(..., return_result=True, final_logits=False)`` and pays exactly ``K`` passes.

    Args:
        model: classifier mapping inputs in [0, 1] to logits ``[B, classes]``.
        x: ``[B, ...]`` clean inputs in [0, 1] (not modified).
        y: ``[B]`` integer labels.
        eps: L∞ budget in (0, 1], float or ``[B]`` tensor.
        step_size: α > 0, float or ``[B]`` tensor.
        steps: K ≥ 1.
        loss: ``"ce"``, ``"cw"`` or ``"kl"``.
        start: ``"uniform"``, ``"normal"`` or ``"none"``.
        restarts: number of random restarts ≥ 1.
        confidence: κ_c ≥ 0 of the CW loss (ignored otherwise).
        record: store every iterate and its prediction (needs ``return_result=True``). With
            ``record=False`` nothing is stored or copied.
        generator: random source for the start, on ``x.device``; ``None`` uses the global RNG.
        return_result: return an :class:`AttackResult` instead of ``x_adv``.
        final_logits: with ``return_result``, spend the forward that fills ``logits``/``loss``.
        init: ``[B, ...]`` explicit start perturbation δ^{(0)} (projected and clamped); makes
            random-start runs reproducible example by example. Needs ``restarts=1``.
        clamp_start: clamp the start to [0, 1] before the first gradient (default); ``False``
            takes it at the unclamped start as the authors' codes do. The result is always
            clamped.

    Returns:
        ``x_adv`` ``[B, ...]``, or an :class:`AttackResult`.

    Shape:
        ``x``: ``[B, ...]``, ``y``: ``[B]`` → ``x_adv``: ``[B, ...]``; ``path``: ``[K+1, B, ...]``.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> x, y = torch.rand(8, 1, 2, 2), torch.randint(0, 3, (8,))
        >>> res = pgd(model, x, y, eps=8 / 255, step_size=2 / 255, steps=10, return_result=True)
        >>> res.x_adv.shape, res.kappa.shape
        (torch.Size([8, 1, 2, 2]), torch.Size([8]))
    """
    y = _check_inputs(model, x, y)
    eps_b = _eps(eps, x)
    step_b = _positive(step_size, "step_size", x, "e.g. step_size=2/255 with eps=8/255")
    _check_int(steps, "steps", 1, "pass steps=10 for PGD-10")
    _check_choice(loss, "loss", LOSSES)
    _check_common(x, start, restarts, record, return_result, generator, init)
    if (not isinstance(confidence, (int, float)) or isinstance(confidence, bool)
            or not 0 <= confidence < math.inf):  # fmt: skip
        raise ValueError(f"confidence must be a float ≥ 0, got {confidence!r} (MAIL's CW uses 50)")
    if loss == "kl" and start == "none" and init is None:
        raise ValueError("the KL loss has zero gradient at x′ = x; use start='normal' (TRADES)")
    guard = _Guard(x, y)
    with _eval_mode(model):
        objective, ref = _objective(loss, float(confidence), model, x.detach())
        return _sign_ascent(
            model, x, y, eps_b, step_b, steps, objective, ref,
            start=start, restarts=restarts, record=record, generator=generator,
            return_result=return_result, final_logits=final_logits, init=init, guard=guard,
            clamp_start=_check_bool(clamp_start, "clamp_start"),
        )  # fmt: skip


def weighted_pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float | Tensor,
    step_size: float | Tensor,
    steps: int,
    alpha: float | Tensor,
    *,
    loss: str = "ce",
    start: str = "uniform",
    restarts: int = 1,
    record: bool = False,
    generator: torch.Generator | None = None,
    return_result: bool = False,
    final_logits: bool = True,
    init: Tensor | None = None,
    clamp_start: bool = True,
) -> Tensor | AttackResult:
    """Weighted PGD of Zeng et al. (2021), Algorithm 1: PGD on the importance-weighted loss.

    Ascends ``L(x′) = Σ_i s_i(x′)·CE(f(x′_i), y_i)`` with ``s_i = exp(−α·margin_i(x′))``
    (their eq. 7) and ``margin = p_y − max_{j≠y} p_j``
    (:func:`mailviz.margins.probabilistic_margin`).
    The weight is **not** detached: the gradient flows through ``s`` as well, so the attack also
    pushes examples towards the boundary where the weight grows. Each step is eq. 11: sign step,
    projection onto the ε-ball, clamp to [0, 1].

    Algorithm 1 starts from ``x + 0.001·ξ``, ``ξ ~ N(0, I)`` (``start="normal"``); the authors'
    evaluation code starts uniformly and keeps the best of 10 restarts, which is the default here
    (``start="uniform"``). Restarts keep, per example, a misclassified restart over a correct one,
    then the larger weighted loss. With ``alpha=0`` every weight is 1 and the attack is exactly
    :func:`pgd` with ``loss="ce"`` (same start for the same generator state). κ is counted along
    the weighted path as in :func:`pgd`.

    ``loss="kl"`` is the TRADES variant ("TRADES+ours"): ``s_i·KL(p(x_i) ‖ p(x′_i))`` with the same
    undetached weight and ``p(x)`` computed once; ``alpha=0`` is then :func:`pgd` with ``"kl"``.

    Cost: as :func:`pgd` (``restarts × K`` forward+backward passes, +1 forward per restart for
    the final logits when needed).

    Args:
        model, x, y, eps, step_size, steps, start, restarts, record, generator, return_result,
        final_logits, init, clamp_start: as in :func:`pgd`.
        loss: ``"ce"`` (Algorithm 1) or ``"kl"`` (TRADES+ours).
        alpha: α of the weight ``exp(−α·margin)``, a float or a ``[B]`` tensor (α_train /
            α_test; 0 gives plain PGD).

    Returns:
        ``x_adv`` ``[B, ...]``, or an :class:`AttackResult` whose ``loss`` is ``s_i·CE_i``
        (``s_i·KL_i`` for ``loss="kl"``).

    Shape:
        ``x``: ``[B, ...]``, ``y``: ``[B]``, ``alpha``: ``[]`` or ``[B]`` → ``[B, ...]``.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> x, y = torch.rand(8, 1, 2, 2), torch.randint(0, 3, (8,))
        >>> weighted_pgd(model, x, y, 0.1, 0.025, 10, alpha=2.0).shape
        torch.Size([8, 1, 2, 2])
    """
    y = _check_inputs(model, x, y)
    eps_b = _eps(eps, x)
    step_b = _positive(step_size, "step_size", x, "e.g. step_size=0.0031 (Zeng's evaluation)")
    _check_int(steps, "steps", 1, "pass steps=20 for Zeng's evaluation attack")
    _check_common(x, start, restarts, record, return_result, generator, init)
    _check_choice(loss, "loss", WEIGHTED_LOSSES)
    if loss == "kl" and start == "none" and init is None:
        raise ValueError("the KL loss has zero gradient at x′ = x; use start='normal' (TRADES)")
    alpha_b = _per_example(
        alpha, "alpha", x, torch.isfinite, "finite", "Zeng et al. use alpha in {0, 1, 2, 3}"
    ).view(-1)
    guard = _Guard(x, y)
    with _eval_mode(model):
        objective: Objective = _weighted_ce
        ref: Tensor | None = alpha_b
        if loss == "kl":
            _, ref = _objective("kl", 0.0, model, x.detach())  # p(x), once

            def objective(logits: Tensor, labels: Tensor, p_clean: Tensor | None) -> Tensor:
                weight = torch.exp(-alpha_b * pm_unchecked(logits, labels))
                return weight * _kl(logits, labels, p_clean)

        return _sign_ascent(
            model, x, y, eps_b, step_b, steps, objective, ref,
            start=start, restarts=restarts, record=record, generator=generator,
            return_result=return_result, final_logits=final_logits, init=init, guard=guard,
            clamp_start=_check_bool(clamp_start, "clamp_start"),
        )  # fmt: skip


def lm_pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float | Tensor,
    *,
    steps: int = 50,
    momentum: float = 0.8,
    step_max: float | Tensor | None = None,
    step_min: float | Tensor | None = None,
    min_until: int = 15,
    n_candidates: int = 5,
    loss: str = "ce",
    confidence: float = 0.0,
    start: str = "uniform",
    record: bool = False,
    generator: torch.Generator | None = None,
    return_result: bool = False,
    init: Tensor | None = None,
    clamp_start: bool = True,
) -> Tensor | AttackResult:
    """Line-Search & Momentum PGD (LM-PGD, MAIL appendix A, eq. 12–14).

    PGD (eq. 11) with a Nesterov look-ahead gradient and a per-example line search of the step.
    For ``t = 1 … K`` (``δ^{(0)}`` from ``start``, ``v^{(0)} = 0``, ``δ^{(−1)} = δ^{(0)}``)::

        x̃^{(t)} = x + Π(δ^{(t−1)} + γ·(δ^{(t−1)} − δ^{(t−2)}))                 look-ahead
        v^{(t)} = γ·v^{(t−1)} + sign(∇ℓ(x̃^{(t)}, y))                            eq. 12
        δ_α     = Π(δ^{(t−1)} + α·sign(v^{(t)}))                                 eq. 13
        α^{(t)} = argmax_{α ∈ V_t} ℓ(x + δ_α, y),  δ^{(t)} = δ_{α^{(t)}}           eq. 14

    where Π projects onto the ε-ball and clamps to [0, 1]. The extracted equations mix units
    (``v`` holds gradients but is added to a perturbation), so mailviz reads them as follows: the
    velocity accumulates *sign-normalised* gradients (scale-free, like the sign step of eq. 11),
    the step is ``α·sign(v)`` so that α is an L∞ step length as in eq. 11, and the Nesterov
    look-ahead evaluates the gradient where the previous displacement, damped by γ, would carry
    the iterate (Nesterov's ``θ_t + γ(θ_t − θ_{t−1})``). Because every term of ``v`` has unit
    size, ``sign(v)`` departs from the current gradient sign only where the recent signs
    disagree with it (one opposing sign weighs γ = 0.8 < 1, two weigh γ + γ² > 1): the momentum
    damps oscillations around a maximum rather than accelerating. ``V_t`` is the grid of
    ``n_candidates`` equally spaced step sizes in ``[α_min, α_max]``, ``α_min = step_min`` for
    the first ``min_until`` iterations and 0 afterwards (so from then on "stay" is a candidate
    and the loss never decreases). All candidates are evaluated in one batched forward of
    ``n_candidates × B`` inputs and each example picks its own best α (ties: the smallest).

    Paper defaults (Figure 1(a)): 50 iterations, γ = 0.8, α_max = 6/255, α_min = 4/255 for the
    first 15 iterations, then 0, at ε = 8/255. mailviz scales them to the ε in use:
    ``step_max = ε·6/8`` and ``step_min = ε·4/8`` unless given.

    κ does not apply (the paper's point: with momentum and line-searched step lengths the number
    of steps no longer measures distance), so ``AttackResult.kappa`` is ``None``. The final logits
    come from the last line search, at no extra cost.

    Cost: ``K`` forward+backward passes at the look-ahead points, ``K`` forwards of
    ``n_candidates × B`` inputs (no backward), and one clean forward for ``loss="kl"``.

    Args:
        model, x, y, eps, loss, confidence, start, record, generator, return_result, init,
            clamp_start: as in :func:`pgd` (no restarts).
        steps: K ≥ 1 iterations.
        momentum: γ in [0, 1).
        step_max: α_max > 0 (float or ``[B]``); default ``ε·6/8``.
        step_min: α_min in [0, α_max] (float or ``[B]``) for the first ``min_until`` iterations;
            default ``α_max·4/6`` (``ε·4/8`` when ``step_max`` is not given either).
        min_until: number of iterations that use ``step_min`` (then the lower end is 0).
        n_candidates: grid size of the line search, ≥ 2.

    Returns:
        ``x_adv`` ``[B, ...]``, or an :class:`AttackResult` (``kappa=None``).

    Shape:
        ``x``: ``[B, ...]`` → ``x_adv``: ``[B, ...]``; ``path``: ``[K+1, B, ...]``.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> x, y = torch.rand(8, 1, 2, 2), torch.randint(0, 3, (8,))
        >>> lm_pgd(model, x, y, eps=8 / 255, steps=20).shape
        torch.Size([8, 1, 2, 2])
    """
    y = _check_inputs(model, x, y)
    eps_b = _eps(eps, x)
    _check_int(steps, "steps", 1, "the MAIL appendix uses steps=50")
    _check_int(min_until, "min_until", 0, "the MAIL appendix uses min_until=15")
    _check_int(n_candidates, "n_candidates", 2, "the line search needs a grid, e.g. 5")
    _check_choice(loss, "loss", LOSSES)
    _check_common(x, start, 1, record, return_result, generator, init)
    clamp_start = _check_bool(clamp_start, "clamp_start")
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)):
        raise ValueError(f"momentum must be a float in [0, 1), got {momentum!r} (paper: 0.8)")
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r} (paper: 0.8)")
    if (not isinstance(confidence, (int, float)) or isinstance(confidence, bool)
            or not 0 <= confidence < math.inf):  # fmt: skip
        raise ValueError(f"confidence must be a float ≥ 0, got {confidence!r} (MAIL's CW uses 50)")
    if loss == "kl" and start == "none" and init is None:
        raise ValueError("the KL loss has zero gradient at x′ = x; use start='normal' (TRADES)")
    if step_max is None:
        a_max = eps_b * LM_STEP_MAX_FRACTION
        default_min = eps_b * LM_STEP_MIN_FRACTION
    else:
        a_max = _positive(step_max, "step_max", x, "e.g. 6/255 at eps=8/255")
        default_min = a_max * (LM_STEP_MIN_FRACTION / LM_STEP_MAX_FRACTION)  # the paper's 4:6
    a_min = (
        default_min
        if step_min is None
        else _per_example(
            step_min, "step_min", x, lambda t: t >= 0, "≥ 0", "e.g. 4/255 at eps=8/255"
        )
    )
    if bool((a_min > a_max).any()):
        raise ValueError("step_min must not exceed step_max (paper: 4/255 and 6/255)")

    guard = _Guard(x, y)
    x = x.detach()
    batch, n = x.shape[0], n_candidates
    with _eval_mode(model):
        objective, ref = _objective(loss, float(confidence), model, x)
        ref_n = None if ref is None else ref.repeat(n, *([1] * (ref.dim() - 1)))
        y_n = y.repeat(n)
        low = (x - eps_b).clamp(min=0.0)
        high = (x + eps_b).clamp(max=1.0)
        x_adv = _start_point(x, eps_b, low, high, start, init, generator, clamp_start)
        x_prev = x_adv
        velocity = torch.zeros_like(x)
        grid = torch.linspace(0.0, 1.0, n, device=x.device, dtype=x.dtype)
        grid = grid.view(n, *([1] * x.dim()))  # [n, 1, 1, ...] against [B, 1, ...] step sizes
        path = x.new_empty((steps + 1, *x.shape)) if record else None
        path_pred = (
            torch.empty((steps + 1, batch), dtype=torch.int64, device=x.device) if record else None
        )
        no_min = torch.zeros_like(a_min)
        logits_best = loss_best = None
        for t in range(steps):
            look = torch.clamp(x_adv + momentum * (x_adv - x_prev), low, high) if t else x_adv
            look = look.detach().requires_grad_(True)
            with torch.enable_grad():
                logits = model(look)
                guard.logits(logits)
                (grad,) = torch.autograd.grad(objective(logits, y, ref).sum(), look)
            if t == 0 and path is not None and path_pred is not None:
                path[0] = x_adv  # at t = 0 the look-ahead point is the start itself
                path_pred[0] = logits.detach().argmax(dim=1)
            velocity.mul_(momentum).add_(grad.sign())
            direction = velocity.sign()
            lower = a_min if t < min_until else no_min
            alphas = lower + (a_max - lower) * grid  # [n, B, 1, ...]
            candidates = torch.clamp(x_adv + alphas * direction, low, high)  # [n, B, ...]
            with torch.no_grad():
                cand_logits = model(candidates.flatten(0, 1))
                cand_loss = objective(cand_logits, y_n, ref_n).view(n, batch)
            choice = cand_loss.argmax(dim=0)  # first maximum: the smallest α among ties
            x_prev = x_adv
            index = choice.view(1, batch, *([1] * (x.dim() - 1))).expand(1, *x.shape)
            x_adv = candidates.gather(0, index).squeeze(0)
            classes = cand_logits.shape[1]
            logits_best = (
                cand_logits.view(n, batch, classes)
                .gather(0, choice.view(1, batch, 1).expand(1, batch, classes))
                .squeeze(0)
                .detach()
            )
            loss_best = cand_loss.gather(0, choice.view(1, batch)).squeeze(0).detach()
            if path is not None and path_pred is not None:
                path[t + 1] = x_adv
                path_pred[t + 1] = logits_best.argmax(dim=1)
    if not return_result:
        return x_adv
    return AttackResult(x_adv, logits_best, loss_best, None, path, path_pred)


# --------------------------------------------------------------------------------------------
# AutoAttack (reference implementation from the pyautoattack package)
# --------------------------------------------------------------------------------------------


def _single_eps(eps: float | Tensor, x: Tensor) -> float:
    eps_b = _eps(eps, x).view(-1)
    if bool((eps_b != eps_b[0]).any()):
        raise ValueError(
            "AutoAttack takes one eps for the whole batch; group the examples by eps and call "
            "autoattack once per group"
        )
    return float(eps_b[0].item())


def _guarded_classes(model: Callable[[Tensor], Tensor], x: Tensor, y: Tensor, batch: int) -> int:
    """The number of classes; with checks on, also validates x, y and the logits of every
    example (clean forwards in chunks of ``batch``, one host sync) before AutoAttack runs."""
    if not checks.enabled():
        return int(model(x[:1]).shape[1])
    guard = _Guard(x, y)
    chunks = [model(x[i : i + batch]) for i in range(0, x.shape[0], batch)]
    guard.logits(chunks[0], torch.stack([(~torch.isfinite(c)).any() for c in chunks]).any())
    return int(chunks[0].shape[1])


@contextlib.contextmanager
def _autoattack_quiet(verbose: bool) -> Iterator[None]:
    """Silence (or show) the 'auto-attack' logger and undo the tracer reset of its checks."""
    logger = logging.getLogger("auto-attack")
    disabled, level = logger.disabled, logger.level
    handler = None
    tracer = sys.gettrace()  # its check_dynamic calls sys.settrace(None): keep coverage/debuggers
    try:
        if verbose:
            logger.setLevel(logging.DEBUG)
            if not logger.hasHandlers():
                handler = logging.StreamHandler(sys.stdout)
                logger.addHandler(handler)
        else:
            logger.disabled = True
        yield
    finally:
        logger.disabled, logger.level = disabled, level
        if handler is not None:
            logger.removeHandler(handler)
        sys.settrace(tracer)


@contextlib.contextmanager
def _frozen_parameters(model: nn.Module) -> Iterator[None]:
    """FAB calls ``backward()``; freezing keeps the parameters' ``.grad`` untouched."""
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        for p in params:
            p.requires_grad_(False)
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def autoattack(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float | Tensor,
    *,
    version: str = "standard",
    batch_size: int = 500,
    seed: int = 0,
    verbose: bool = False,
) -> Tensor:
    """AutoAttack (Croce & Hein, 2020) in L∞ through the reference code (``pyautoattack``).

    An example counts as robust only if it survives every attack of the ensemble; each attack
    runs on the examples still robust after the previous ones.

    * ``"standard"``: the reference ``version="standard"``: APGD-CE (100 iterations, 1 restart),
      APGD-T (100 iterations, 9 target classes), FAB-T (9 target classes), Square (5,000
      queries). This is the "AA" column of MAIL's tables.
    * ``"fast"``: a cheaper screen, *not* comparable with published AA numbers: APGD-CE with 50
      iterations and 1 restart, then APGD-T with 50 iterations on the top 3 target classes; no
      FAB-T, no Square.

    With fewer than 10 classes the target classes are capped at ``classes − 1``; with fewer than
    4 classes the targeted DLR loss is undefined, so "standard" runs APGD-CE, untargeted FAB and
    Square, and "fast" runs APGD-CE only. AutoAttack works in float32 and with one ε for the
    whole batch: a tensor ``eps`` must hold a single value. The model is in eval mode with frozen
    parameters during the run (both restored); the global RNG state is restored afterwards
    (AutoAttack reseeds it with ``seed``); its log is silent unless ``verbose``.

    Args:
        model: float32 classifier mapping inputs in [0, 1] to logits.
        x: ``[B, ...]`` clean inputs in [0, 1] (not modified).
        y: ``[B]`` integer labels.
        eps: L∞ budget in (0, 1] (float, or tensor with one distinct value).
        version: ``"standard"`` or ``"fast"``.
        batch_size: examples per forward inside AutoAttack.
        seed: AutoAttack's seed.
        verbose: print AutoAttack's progress log.

    Returns:
        ``[B, ...]`` adversarial inputs (the clean input where every attack failed).

    Shape:
        ``x``: ``[B, ...]`` → ``[B, ...]``.

    Example:
        >>> x_adv = autoattack(model, x_test, y_test, eps=8 / 255)  # doctest: +SKIP
        >>> robust_accuracy = (model(x_adv).argmax(1) == y_test).float().mean()  # doctest: +SKIP
    """
    y = _check_inputs(model, x, y)
    if not isinstance(model, nn.Module):
        raise ValueError(f"autoattack needs an nn.Module, got {type(model).__name__}")
    _check_choice(version, "version", AA_VERSIONS)
    _check_int(batch_size, "batch_size", 1, "e.g. batch_size=500")
    _check_int(seed, "seed", 0, "e.g. seed=0")
    eps_value = _single_eps(eps, x)
    if x.dtype != torch.float32:
        raise ValueError(f"AutoAttack works in float32; got x of dtype {x.dtype} — use x.float()")

    from pyautoattack import AutoAttack  # lazy: only this function needs the package
    from pyautoattack.autopgd_base import APGDAttack, APGDAttack_targeted

    x = x.detach()
    devices = [x.device] if x.device.type == "cuda" else []
    with (
        _eval_mode(model),
        _frozen_parameters(model),
        _autoattack_quiet(verbose),
        torch.random.fork_rng(devices=devices),
    ):
        with torch.no_grad():
            classes = int(_guarded_classes(model, x, y, batch_size))
        targets_max = classes - 1
        if version == "standard" and classes >= 4:
            aa = AutoAttack(model, device=x.device, eps=eps_value, norm="Linf", seed=seed)
            aa.apgd_targeted.n_target_classes = min(9, targets_max)
            aa.fab.n_target_classes = min(9, targets_max)
        elif version == "standard":
            aa = AutoAttack(
                model, attacks=["apgd-ce", "fab", "square"], device=x.device, eps=eps_value,
                norm="Linf", seed=seed, version="custom",
            )  # fmt: skip
            aa.apgd.n_restarts = 1
            aa.fab.n_restarts = 1
            aa.square.n_queries = 5000
        else:
            attacks = ["apgd-ce", "apgd-t"] if classes >= 4 else ["apgd-ce"]
            aa = AutoAttack(
                model, attacks=attacks, device=x.device, eps=eps_value, norm="Linf", seed=seed,
                version="custom",
            )  # fmt: skip
            aa.apgd = APGDAttack(
                model, n_iter=AA_FAST_ITERATIONS, norm="Linf", n_restarts=1, eps=eps_value,
                seed=seed, loss="ce", device=x.device, logger=aa.logger,
            )  # fmt: skip
            aa.apgd_targeted = APGDAttack_targeted(
                model, n_iter=AA_FAST_ITERATIONS, norm="Linf", n_restarts=1, eps=eps_value,
                seed=seed, n_target_classes=min(AA_FAST_TARGET_CLASSES, targets_max),
                device=x.device, logger=aa.logger,
            )  # fmt: skip
        aa.verbose = verbose
        x_adv, _ = aa.run_standard_evaluation(x, y, batch_size=batch_size)
    # Guard the contract against last-bit rounding inside the reference code.
    low, high = (x - eps_value).clamp(min=0.0), (x + eps_value).clamp(max=1.0)
    return torch.clamp(x_adv.detach(), low, high)
