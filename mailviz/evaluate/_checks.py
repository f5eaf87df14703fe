"""Argument checks and array conversions shared by the evaluation functions."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from mailviz import checks


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _values(value: Any) -> list[Any]:
    """A number (or a one-element tensor) as a one-element list; a sequence as a list."""
    if isinstance(value, Tensor):
        return [float(v) for v in value.detach().cpu().reshape(-1).tolist()]
    if _is_real(value) or isinstance(value, (str, bytes)):
        return [value]
    try:
        return list(value)
    except TypeError:
        return [value]


def _check_eps(eps: float | Sequence[float] | None, needed: bool = True) -> list[float]:
    if eps is None:
        if needed:
            raise ValueError("eps is required for adversarial attacks — pass e.g. eps=8/255")
        return []
    values = _values(eps)
    if not values:
        raise ValueError("eps must be a float or a non-empty sequence of floats, e.g. eps=8/255")
    for e in values:
        if not _is_real(e) or not 0 < e <= 1:
            raise ValueError(f"eps must be in (0, 1] (pixel scale), got {e!r} — e.g. eps=8/255")
    return [float(e) for e in values]


def _check_alphas(alphas: float | Sequence[float]) -> list[float]:
    values = _values(alphas)
    if not values:
        raise ValueError("alphas_test must be a float or a non-empty list, e.g. [0, 1, 2, 3]")
    for a in values:
        if not _is_real(a) or not math.isfinite(a):
            raise ValueError(f"alpha_test must be a finite float, got {a!r} — e.g. [0, 1, 2]")
    return [float(a) for a in values]


def _check_positive_int(value: object, name: str, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r} — {hint}")
    return value


def _check_step_size(step_size: float | None) -> float | None:
    if step_size is None:
        return None
    if not _is_real(step_size) or not 0 < step_size < math.inf:
        raise ValueError(f"step_size must be > 0 or None (2.5·eps/steps), got {step_size!r}")
    return float(step_size)


def _check_loss(loss: str) -> str:
    if loss not in ("ce", "cw"):
        raise ValueError(f"loss must be 'ce' (PGD) or 'cw' (PGD-margin), got {loss!r}")
    return loss


def _model_device(model: nn.Module, device: str | torch.device | None) -> torch.device:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    if device is not None:
        from mailviz.config import resolve_device

        dev = resolve_device(device)
        model.to(dev)
        return dev
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


def _generator(device: torch.device, seed: int) -> torch.Generator:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    return torch.Generator(device=device).manual_seed(seed)


# --------------------------------------------------------------------------------------------
# Non-uniform accuracies (Zeng et al. eq. 17–19)
# --------------------------------------------------------------------------------------------


def _as_array(values: Any, name: str) -> np.ndarray:
    """``values`` (tensor, array, Series, list) as a non-empty 1-D NumPy array."""
    if isinstance(values, Tensor):
        arr = values.detach().cpu()
        arr = (arr.double() if arr.dtype in (torch.bfloat16, torch.float16) else arr).numpy()
    else:
        try:
            arr = np.asarray(values)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{name} must be a 1-D array [N], got {type(values).__name__} "
                             f"({err})") from None  # fmt: skip
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D array [N] (one entry per example), got shape "
            f"{tuple(arr.shape)} — flatten it yourself if that is what you mean"
        )
    return arr


def _as_bool(values: Any, name: str = "correct") -> np.ndarray:
    """A 1-D boolean array, e.g. ``pred == y``; 0/1 integers and floats are refused."""
    arr = _as_array(values, name)
    if arr.dtype != np.bool_:
        raise ValueError(
            f"{name} must be a boolean 1-D array (True where the prediction is right), got dtype "
            f"{arr.dtype} — e.g. {name} = logits.argmax(1) == y"
        )
    return arr


def _as_real(values: Any, name: str) -> np.ndarray:
    """A 1-D float64 array of finite real numbers (booleans and strings are refused)."""
    arr = _as_array(values, name)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.floating)
                                     or np.issubdtype(arr.dtype, np.integer)):  # fmt: skip
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if checks.enabled() and not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite; got NaN or inf — check the logits")
    return arr


def _as_tensor(values: Any, name: str) -> Tensor:
    if name == "correct":
        return torch.from_numpy(_as_bool(values, name))
    return torch.from_numpy(_as_real(values, name))
