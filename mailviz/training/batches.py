"""Mini-batches of the training set: indexed on the device when small, a DataLoader when not."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor

from mailviz import data
from mailviz.config import (
    ExperimentConfig,
)
from mailviz.distributed import DistContext

#: Training sets whose stored images take at most this many bytes are moved to the device once
#: and indexed there (no DataLoader); larger ones stream through a DataLoader.
ON_DEVICE_MAX_BYTES = 1 << 30


# ------------------------------------------------------------------------------------------
# batches


class _IndexedBatches(torch.utils.data.Dataset):
    """Item ``i`` is the whole mini-batch ``dataset[batches[i]]`` (a DataLoader fetches batches)."""

    def __init__(self, dataset: data.ImageDataset, batches: list[Tensor]) -> None:
        self.dataset = dataset
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return self.dataset[self.batches[i]]


class _BatchSource:
    """Yields an epoch's mini-batches on the device in the order given by an index tensor.

    Small sets (stored images ≤ :data:`ON_DEVICE_MAX_BYTES`) are moved to the device once and
    indexed there; larger ones go through a ``DataLoader`` (pinned memory and 2 workers on
    CUDA). Both paths yield the same batches for the same indices.
    """

    def __init__(self, dataset: data.ImageDataset, device: torch.device, batch_size: int) -> None:
        self.dataset = dataset
        self.device = device
        self.batch_size = batch_size
        nbytes = dataset.images.element_size() * dataset.images.nelement()
        self.on_device = nbytes <= ON_DEVICE_MAX_BYTES
        if self.on_device:
            self.images = dataset.images.to(device)
            self.labels = dataset.labels.to(device)

    def num_batches(self, n_indices: int) -> int:
        return math.ceil(n_indices / self.batch_size)

    def __call__(self, order: Tensor) -> Iterator[tuple[Tensor, Tensor]]:
        if self.on_device:
            order = order.to(self.device)
            for start in range(0, order.numel(), self.batch_size):
                idx = order[start : start + self.batch_size]
                xb = self.images[idx]
                if xb.dtype == torch.uint8:
                    xb = xb.to(torch.float32).div_(255.0)
                yield xb, self.labels[idx]
            return
        chunks = list(order.split(self.batch_size))
        cuda = self.device.type == "cuda"
        loader = torch.utils.data.DataLoader(
            _IndexedBatches(self.dataset, chunks),
            batch_size=None,
            shuffle=False,
            num_workers=2 if cuda else 0,
            pin_memory=cuda,
        )
        for xb, yb in loader:
            yield xb.to(self.device, non_blocking=cuda), yb.to(self.device, non_blocking=cuda)


def _load_splits(
    config: ExperimentConfig, root: Path, download: bool
) -> tuple[data.ImageDataset, data.ImageDataset]:
    train_set = data.load_dataset(config.dataset, "train", root=root, download=download)
    test_set = data.load_dataset(config.dataset, "test", root=root, download=download)
    return train_set, test_set


def _epoch_order(n: int, epoch: int, seed: int, ctx: DistContext) -> Tensor:
    from mailviz.distributed import shard_indices

    return shard_indices(n, epoch=epoch, seed=seed, rank=ctx.rank, world_size=ctx.world_size)
