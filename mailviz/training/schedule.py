"""The learning-rate schedule, mixed precision and the held-out check run after each epoch.

``η_e = lr · s(e)``, stepped once per epoch: ``constant`` s = 1; ``multistep``
s = decay^{#{m ∈ milestones : m ≤ e}}; ``cosine`` s = ½(1 + cos(π e / epochs)) (:func:`lr_factor`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from mailviz import attacks, data
from mailviz.config import (
    ConfigError,
    ExperimentConfig,
)


def lr_factor(config: ExperimentConfig) -> Callable[[int], float]:
    """``s(e)`` with ``η_e = lr · s(e)`` for 0-based epoch ``e`` (see the module docstring).

    Example:
        >>> from mailviz.config import get_profile
        >>> f = lr_factor(get_profile("quick"))          # multistep, milestone 15, decay 0.1
        >>> f(14), round(f(15), 6)
        (1.0, 0.1)
    """
    milestones = tuple(sorted(config.milestones))
    decay = float(config.lr_decay)
    epochs = int(config.epochs)
    if config.schedule == "constant":
        return lambda e: 1.0
    if config.schedule == "multistep":
        return lambda e: decay ** sum(1 for m in milestones if m <= e)
    if config.schedule == "cosine":
        return lambda e: 0.5 * (1.0 + math.cos(math.pi * e / epochs))
    raise ConfigError(f"unknown schedule {config.schedule!r}; valid: constant, multistep, cosine")


def _amp_dtype(config: ExperimentConfig, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda" or config.amp == "none":
        return None
    if config.amp == "bf16" or (config.amp == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


def _autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def _use_channels_last(config: ExperimentConfig, device: torch.device) -> bool:
    if not (config.channels_last and device.type == "cuda"):
        return False
    return len(data.dataset_info(config.dataset)["input_shape"]) == 3


# ------------------------------------------------------------------------------------------
# held-out evaluation


@torch.no_grad()
def _nat_correct(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    return (model(x).argmax(1) == y).sum()


def held_out_accuracy(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    eps: float,
    step_size: float,
    steps: int,
    batch_size: int = 256,
    generator: torch.Generator | None = None,
    autocast_dtype: torch.dtype | None = None,
) -> tuple[Tensor, Tensor]:
    """Counts of correct clean and PGD-``steps`` (CE, uniform start) predictions, as tensors.

    ``acc_nat = (1/N) Σ 1[argmax f(x_i) = y_i]``, ``acc_pgd = (1/N) Σ 1[argmax f(x_i') = y_i]``
    with x' from :func:`mailviz.attacks.pgd` (MAIL §4's PGD evaluation). Returns the two counts
    (0-d int64 tensors on ``x.device``) so distributed callers can all-reduce them.

    Shape:
        x ``[N, ...]``, y ``[N]`` → two 0-d tensors.
    """
    was_training = model.training
    model.eval()
    nat = torch.zeros((), dtype=torch.long, device=x.device)
    adv = torch.zeros((), dtype=torch.long, device=x.device)
    try:
        for start in range(0, x.shape[0], batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            with _autocast(x.device, autocast_dtype):
                nat += _nat_correct(model, xb, yb)
                x_adv = attacks.pgd(
                    model,
                    xb,
                    yb,
                    eps,
                    step_size,
                    steps,
                    loss="ce",
                    start="uniform",
                    generator=generator,
                )
                adv += _nat_correct(model, x_adv, yb)
    finally:
        model.train(was_training)
    return nat, adv
