"""Argument checks and tensor conversion shared by the weight functions."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from mailviz import checks

Scalar = float | int | Tensor


# --------------------------------------------------------------------------------------------------
# argument checks (one-line ValueErrors)
# --------------------------------------------------------------------------------------------------


def _as_float_tensor(x: Tensor, name: str) -> Tensor:
    """``x`` as a real float tensor that keeps its precision: float64 stays float64, half and
    bfloat16 become float32, integer κ the default dtype."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.is_complex():
        raise ValueError(f"{name} must be real, got a complex tensor")
    if not x.is_floating_point():
        return x.to(torch.get_default_dtype())
    return checks.upcast(x)


def _finite_input(x: Tensor, name: str) -> Tensor:
    """``x`` (already a float tensor) must hold no NaN / inf — one host sync, skipped inside
    :func:`mailviz.checks.skip_host_syncs`."""
    if checks.enabled() and x.numel() and not bool(torch.isfinite(x.detach()).all()):
        raise ValueError(
            f"{name} holds NaN or inf — margins must be finite; check the logits they came "
            "from (mailviz.margins refuses non-finite logits)"
        )
    return x


def _param(value: Scalar, name: str, like: Tensor) -> float | Tensor:
    """A float stays a float; a tensor is moved to ``like``'s device/dtype and must broadcast."""
    if isinstance(value, Tensor):
        if value.is_complex():
            raise ValueError(f"{name} must be real, got a complex tensor")
        value = value.to(device=like.device, dtype=like.dtype)
        try:
            shape = torch.broadcast_shapes(value.shape, like.shape)
        except RuntimeError:
            shape = None
        if shape != like.shape:
            raise ValueError(
                f"{name} must be a float or a tensor broadcastable to {tuple(like.shape)}, "
                f"got shape {tuple(value.shape)}"
            )
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a float or a tensor, got {type(value).__name__}")
    return float(value)


def _check_range(
    value: float | Tensor, name: str, low: float = -math.inf, high: float = math.inf, hint: str = ""
) -> None:
    """``value`` (float or tensor) must be finite and in ``[low, high]``."""
    if isinstance(value, Tensor):
        v = value.detach()
        ok = bool(torch.isfinite(v).all() and (v >= low).all() and (v <= high).all())
        shown = f"values in [{v.min().item():g}, {v.max().item():g}]" if v.numel() else "empty"
    else:
        ok = math.isfinite(value) and low <= value <= high
        shown = f"{value:g}"
    if not ok:
        unbounded = (low, high) == (-math.inf, math.inf)
        where = "finite" if unbounded else f"finite and in [{low:g}, {high:g}]"
        raise ValueError(f"{name} must be {where}, got {shown}{hint}")


def _check_gamma(gamma: float | Tensor) -> None:
    _check_range(gamma, "gamma", 0.0, hint=" — MAIL uses gamma=10 (AT) or gamma=2 (TRADES)")


def _check_steps(steps: int, minimum: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < minimum:
        raise ValueError(
            f"steps must be an int >= {minimum} (the K of the K-step PGD that counted kappa), "
            f"got {steps!r} — GAIRAT uses steps=10"
        )
    return steps


def _kappa(kappa: Tensor, steps: int) -> Tensor:
    kappa = _as_float_tensor(kappa, "kappa")
    k = kappa.detach()
    if checks.enabled() and k.numel() and not bool(((k >= 0) & (k <= steps)).all()):
        raise ValueError(
            f"kappa must lie in [0, steps={steps}], got values in "
            f"[{k.min().item():g}, {k.max().item():g}] — pass the K that produced kappa as steps"
        )
    return kappa
