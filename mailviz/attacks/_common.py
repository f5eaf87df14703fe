"""Shared pieces of every attack: names, defaults, input checks, per-example losses, starts.

Private to :mod:`mailviz.attacks` (and :mod:`mailviz.objectives`, which checks its inputs the same
way); the algorithms themselves live one per module next to this one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mailviz import checks
from mailviz.margins import mm_unchecked, pm_unchecked

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
