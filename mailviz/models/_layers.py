"""Pieces every model shares: input normalisation inside the model, the classifier wrapper, init."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

InputKind = Literal["vector", "image"]


class Normalize(nn.Module):
    """Per-channel standardisation ``x' = (x − μ_c) / σ_c`` as the first layer of a model.

    ``mean`` and ``std`` are stored as buffers (they move with ``.to(device)`` and are saved in
    the ``state_dict``) but are not parameters, so optimisers never touch them.

    Shape:
        input ``[B, C, H, W]`` (or ``[B, D]`` for vectors; then C = D), output the same.

    Example:
        >>> norm = Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])
        >>> norm(torch.ones(1, 3, 2, 2))[0, :, 0, 0]
        tensor([2., 2., 2.])
    """

    mean: Tensor
    std: Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float], *, image: bool = True) -> None:
        super().__init__()
        mean_t = torch.as_tensor(mean, dtype=torch.float32).flatten()
        std_t = torch.as_tensor(std, dtype=torch.float32).flatten()
        if mean_t.numel() == 0 or mean_t.shape != std_t.shape:
            raise ValueError(
                f"mean and std must be non-empty and the same length, got {mean_t.numel()} and"
                f" {std_t.numel()} values — pass one value per channel"
            )
        if not (torch.isfinite(mean_t).all() and torch.isfinite(std_t).all()):
            raise ValueError("mean and std must be finite numbers — pass e.g. std=(0.2470, ...)")
        if (std_t <= 0).any():
            raise ValueError(f"std must be > 0 in every channel, got {std_t.tolist()}")
        view = (1, -1, 1, 1) if image else (1, -1)
        self.register_buffer("mean", mean_t.view(view))
        self.register_buffer("std", std_t.view(view))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}"


class _Classifier(nn.Module):
    """Common base: an optional :class:`Normalize` stage, then the network's own ``_logits``."""

    def __init__(self, normalize: Normalize | None) -> None:
        super().__init__()
        # Identity when unset keeps the parameter names identical with and without normalisation.
        self.normalize: nn.Module = normalize if normalize is not None else nn.Identity()

    def _logits(self, x: Tensor) -> Tensor:  # every architecture below overrides it
        raise TypeError(f"{type(self).__name__} must define _logits(x) -> logits")

    def forward(self, x: Tensor) -> Tensor:
        return self._logits(self.normalize(x))


def _init_resnet_weights(module: nn.Module) -> None:
    """He-normal (fan-out) convs, BN γ = 1 and β = 0, zero linear bias (usual ResNet/WRN init)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)


# --------------------------------------------------------------------------------------------
# Factory
# --------------------------------------------------------------------------------------------


def _check_int(value: object, name: str, minimum: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r} — {hint}")
    return value
