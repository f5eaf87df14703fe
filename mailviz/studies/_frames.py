"""Small helpers the MAIL analyses share: a model's device, (x, y) from a dataset, subsets."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


def _device_of(model: nn.Module) -> torch.device:
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


def _as_xy(data: Any) -> tuple[Tensor, Tensor]:
    """An ImageDataset (``.x``/``.y``) or an ``(x, y)`` pair as two tensors."""
    if hasattr(data, "x") and hasattr(data, "y"):
        return data.x, data.y
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return torch.as_tensor(data[0]), torch.as_tensor(data[1])
    raise ValueError(
        f"data must be an ImageDataset (mailviz.data.load_dataset) or an (x, y) pair, "
        f"got {type(data).__name__}"
    )


def _check_batch_size(batch_size: object) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r} — e.g. 500")
    return batch_size


def _subset(data: Any, n: int | None) -> tuple[Tensor, Tensor]:
    """The first ``n`` examples (all for ``None``) of an ImageDataset or ``(x, y)`` pair."""
    x_all, y_all = _as_xy(data)
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an integer >= 1 or None, got {n!r}")
        x_all, y_all = x_all[:n], y_all[:n]
    return x_all, y_all
