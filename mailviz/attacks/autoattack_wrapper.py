"""AutoAttack (Croce & Hein, 2020) wrapped to the mailviz attack conventions."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor, nn

from mailviz import checks
from mailviz.attacks._common import (
    AA_FAST_ITERATIONS,
    AA_FAST_TARGET_CLASSES,
    AA_VERSIONS,
    _check_choice,
    _check_inputs,
    _check_int,
    _eps,
    _eval_mode,
    _Guard,
)

# --------------------------------------------------------------------------------------------
# AutoAttack (reference implementation from the pyautoattack package)
# --------------------------------------------------------------------------------------------

#: The stages of standard AutoAttack in their order (≥ 4 classes).
AA_STAGES: tuple[str, ...] = ("apgd-ce", "apgd-t", "fab-t", "square")
#: The stages with fewer than 4 classes (no targeted DLR loss: untargeted FAB).
AA_STAGES_FEW_CLASSES: tuple[str, ...] = ("apgd-ce", "fab", "square")


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


def _aa_inputs(
    name: str, model: object, x: Tensor, y: Tensor, eps: float | Tensor, batch_size: int,
    seed: int, version: str | None = None,
) -> tuple[Tensor, float]:  # fmt: skip
    """The input checks of every AutoAttack entry point (``version`` too, when given), in one
    order; returns the labels and the single ε."""
    y = _check_inputs(model, x, y)
    if not isinstance(model, nn.Module):
        raise ValueError(f"{name} needs an nn.Module, got {type(model).__name__}")
    if version is not None:
        _check_choice(version, "version", AA_VERSIONS)
    _check_int(batch_size, "batch_size", 1, "e.g. batch_size=500")
    _check_int(seed, "seed", 0, "e.g. seed=0")
    eps_value = _single_eps(eps, x)
    if x.dtype != torch.float32:
        raise ValueError(f"AutoAttack works in float32; got x of dtype {x.dtype} — use x.float()")
    return y, eps_value


@contextlib.contextmanager
def _aa_session(model: nn.Module, x: Tensor, verbose: bool) -> Iterator[None]:
    """Eval mode and frozen parameters (both restored), AutoAttack's log silenced unless
    ``verbose``, and the global RNG state restored afterwards (AutoAttack reseeds it)."""
    devices = [x.device] if x.device.type == "cuda" else []
    with (
        _eval_mode(model),
        _frozen_parameters(model),
        _autoattack_quiet(verbose),
        torch.random.fork_rng(devices=devices),
    ):
        yield


def _standard_autoattack(
    model: nn.Module, device: torch.device, eps: float, seed: int, classes: int
) -> tuple[Any, tuple[str, ...]]:
    """The reference ``version="standard"`` AutoAttack object and its stages (with fewer than 4
    classes: APGD-CE, untargeted FAB and Square, one restart each, 5,000 Square queries)."""
    from pyautoattack import AutoAttack  # lazy: only AutoAttack needs the package

    if classes >= 4:
        aa = AutoAttack(model, device=device, eps=eps, norm="Linf", seed=seed)
        aa.apgd_targeted.n_target_classes = min(9, classes - 1)
        aa.fab.n_target_classes = min(9, classes - 1)
        return aa, AA_STAGES
    aa = AutoAttack(model, attacks=list(AA_STAGES_FEW_CLASSES), device=device, eps=eps,
                    norm="Linf", seed=seed, version="custom")  # fmt: skip
    aa.apgd.n_restarts = 1
    aa.fab.n_restarts = 1
    aa.square.n_queries = 5000
    return aa, AA_STAGES_FEW_CLASSES


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
    y, eps_value = _aa_inputs("autoattack", model, x, y, eps, batch_size, seed, version)

    from pyautoattack import AutoAttack  # lazy: only this function needs the package
    from pyautoattack.autopgd_base import APGDAttack, APGDAttack_targeted

    x = x.detach()
    with _aa_session(model, x, verbose):
        with torch.no_grad():
            classes = int(_guarded_classes(model, x, y, batch_size))
        targets_max = classes - 1
        if version == "standard":
            aa, _ = _standard_autoattack(model, x.device, eps_value, seed, classes)
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
