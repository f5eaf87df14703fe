"""The switch for per-call tensor-content checks (NaN / inf values, label ranges) and helpers.

The public entry points of :mod:`mailviz.attacks`, :mod:`mailviz.margins`, :mod:`mailviz.weights`,
:mod:`mailviz.objectives` and :mod:`mailviz.evaluate` refuse non-finite inputs, labels outside
``[0, classes)`` and NaN / inf logits with one clear ``ValueError`` line, instead of returning a
silently wrong result (a NaN ``x_adv``, an accuracy of a model whose logits are NaN). Reading a
tensor's *content* needs the values on the host: on a GPU that is a synchronisation, which stalls
the pipeline. Each checked call therefore combines all of its content checks into **one** host
sync (one ``.tolist()`` of a few stacked reductions), and every such check consults
:func:`enabled` first, so a hot loop that feeds inputs it has already validated can skip them::

    from mailviz import checks
    with checks.skip_host_syncs():          # trusted inputs only
        x_adv = attacks.pgd(model, x, y, eps=8 / 255, step_size=2 / 255, steps=10)

The trainer runs a whole training run inside the switch when the environment variable
``MAILVIZ_SKIP_CHECKS=1`` is set (not part of the config, so the cache key does not change);
``benchmarks/gpu_check.py`` measures what the syncs cost on a GPU. Besides the NaN / label checks,
the switch also covers the other content checks of the hot path: pixels inside [0, 1] (the
attacks), finite non-negative weights (:func:`mailviz.weights.normalize`), κ inside [0, K]
(GAIRAT) and per-example ε / step sizes.

Skipping is only for **trusted** inputs: inside the block a NaN pixel, an out-of-range label or
a diverged model is no longer reported and gives a NaN or meaningless result (on CUDA an
out-of-range label can even abort the process with a device-side assert). Type, shape and
Python-number checks are free and always run. The switch is a module-level flag (not
thread-local): set it around a whole computation, not from concurrent threads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor

__all__ = [
    "NonFiniteLogitsError",
    "enabled",
    "skip_host_syncs",
    "stats_dtype",
    "upcast",
    "check_labels",
    "check_logits",
]

_enabled = True


class NonFiniteLogitsError(ValueError):
    """A model returned NaN / inf logits (diverged weights or a non-finite input)."""


def enabled() -> bool:
    """Whether tensor-content checks (NaN / inf values, label ranges) run; ``True`` by default.

    Example:
        >>> enabled()
        True
        >>> with skip_host_syncs():
        ...     enabled()
        False
    """
    return _enabled


@contextlib.contextmanager
def skip_host_syncs() -> Iterator[None]:
    """Turn the tensor-content checks off inside the block (for trusted inputs only).

    Restores the previous state on exit, also when the block raises; blocks nest.
    """
    global _enabled
    before = _enabled
    _enabled = False
    try:
        yield
    finally:
        _enabled = before


def stats_dtype(device: torch.device) -> torch.dtype:
    """Dtype for stacking check statistics: float64 (exact for labels and float32 pixels), float32
    on MPS, which has no float64."""
    return torch.float32 if device.type == "mps" else torch.float64


def upcast(t: Tensor) -> Tensor:
    """``t`` in a dtype at least as precise as float32: half / bfloat16 (and integer or bool
    tensors) become float32, float32 and float64 stay as they are.

    Margins, weights and metrics compute in this dtype, so they never lower the precision they
    are given.

    Example:
        >>> upcast(torch.ones(1, dtype=torch.float64)).dtype, upcast(torch.ones(1).half()).dtype
        (torch.float64, torch.float32)
    """
    if t.dtype in (torch.float32, torch.float64):
        return t
    return t.to(torch.float32)


def label_message(low: float, high: float, classes: int) -> str | None:
    """The one-line complaint about labels spanning ``[low, high]``, or ``None`` when they are
    class indices of ``classes`` classes."""
    if 0 <= low and high < classes:
        return None
    return (
        f"y must hold class labels in [0, {classes}) for {classes}-class logits, got values in "
        f"[{low:g}, {high:g}] — e.g. labels 0..{classes - 1}"
    )


def logits_message(what: str = "logits") -> str:
    """The one-line complaint about NaN / inf logits."""
    return (
        f"{what} hold NaN or inf — the model's output is not finite (diverged weights or a "
        "non-finite input); check the model and its inputs"
    )


def check_labels(y: Tensor, name: str = "y") -> None:
    """``y`` must be an integer (not bool) tensor; raises one ``ValueError`` line otherwise."""
    if not isinstance(y, Tensor):
        raise ValueError(f"{name} must be a tensor of integer class labels, got {type(y).__name__}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ValueError(
            f"{name} must hold integer class labels (int64), got dtype {y.dtype} — "
            f"e.g. {name}.long()"
        )


def check_logits(logits: Tensor, y: Tensor, what: str = "logits") -> None:
    """Labels in ``[0, classes)`` and finite ``[B, classes]`` logits, in one host sync.

    Does nothing while :func:`skip_host_syncs` is active or when the batch is empty.

    Raises:
        ValueError: one line naming the labels' range or the non-finite logits.
    """
    if not enabled() or y.numel() == 0 or logits.numel() == 0:
        return
    dt = stats_dtype(logits.device)
    low, high = torch.aminmax(y.detach())
    stats = torch.stack(
        [low.to(logits.device, dt), high.to(logits.device, dt),
         (~torch.isfinite(logits.detach())).any().to(dt)]
    ).tolist()  # fmt: skip
    message = label_message(stats[0], stats[1], int(logits.shape[-1]))
    if message is not None:
        raise ValueError(message)
    if stats[2]:
        raise NonFiniteLogitsError(logits_message(what))
