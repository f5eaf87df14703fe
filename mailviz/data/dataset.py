"""The in-memory image dataset every loader returns, and the training augmentation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor


def _as_float(images: Tensor) -> Tensor:
    """uint8 pixels → float32 ``pixel / 255``; float images are returned unchanged."""
    if images.dtype == torch.uint8:
        return images.to(torch.float32).div_(255.0)
    return images


@dataclass(eq=False, repr=False)
class ImageDataset(torch.utils.data.Dataset):
    """One split of a dataset, held in memory, read as float32 in [0, 1].

    ``images`` is either uint8 (8-bit sources; converted as ``x = pixel / 255`` on access) or
    float32 already in [0, 1]. Every accessor — ``ds[i]``, ``ds.x``, ``ds.batches(...)`` —
    returns float32 in [0, 1], so callers never see the storage type.

    Shape:
        images: ``[N, C, H, W]`` (2-D toy data: ``[N, 2]``), uint8 or float32.
        labels: ``[N]`` int64 in ``{0, …, num_classes − 1}``.
        input_shape: ``images.shape[1:]``, i.e. ``(C, H, W)`` or ``(2,)``.

    Example:
        >>> ds = load_dataset("moons", "test")
        >>> x, y = ds[0]
        >>> x.shape, y.dtype, len(ds), ds.class_names
        (torch.Size([2]), torch.int64, 500, ['upper moon', 'lower moon'])
        >>> small = ds.subset(100)              # the first 100 examples
        >>> xb, yb = next(small.batches(32))    # float32 [32, 2], int64 [32]
    """

    name: str
    split: str
    images: Tensor
    labels: Tensor
    num_classes: int
    input_shape: tuple[int, ...]
    class_names: list[str]

    def __post_init__(self) -> None:
        if self.images.dtype not in (torch.uint8, torch.float32):
            raise ValueError(
                f"images must be uint8 or float32 in [0, 1], got {self.images.dtype} — "
                "convert with images.float().div(255) or keep the source uint8"
            )
        if self.labels.dtype != torch.int64 or self.labels.dim() != 1:
            raise ValueError(
                f"labels must be int64 of shape [N], got {self.labels.dtype} "
                f"{tuple(self.labels.shape)} — pass labels.long().flatten()"
            )
        if self.images.shape[0] != self.labels.shape[0]:
            raise ValueError(
                f"images and labels disagree on N: {self.images.shape[0]} vs "
                f"{self.labels.shape[0]} — pass one label per image"
            )
        self.input_shape = tuple(int(s) for s in self.input_shape)
        if tuple(self.images.shape[1:]) != self.input_shape:
            raise ValueError(
                f"input_shape {self.input_shape} does not match images of shape "
                f"{tuple(self.images.shape)} — pass input_shape=images.shape[1:]"
            )
        self.class_names = [str(c) for c in self.class_names]
        if len(self.class_names) != self.num_classes:
            raise ValueError(
                f"{len(self.class_names)} class names for num_classes={self.num_classes} — "
                "pass one name per class"
            )

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, i: Any) -> tuple[Tensor, Tensor]:
        """``(x, y)`` for an index, slice or index tensor; ``x`` float32 in [0, 1]."""
        return _as_float(self.images[i]), self.labels[i]

    def __repr__(self) -> str:
        return (
            f"ImageDataset(name={self.name!r}, split={self.split!r}, n={len(self)}, "
            f"input_shape={self.input_shape}, num_classes={self.num_classes}, "
            f"storage={str(self.images.dtype).removeprefix('torch.')})"
        )

    @property
    def x(self) -> Tensor:
        """The whole split as float32 in [0, 1] (a new tensor for uint8 storage: 4 bytes/pixel)."""
        return _as_float(self.images)

    @property
    def y(self) -> Tensor:
        """The labels, int64 ``[N]``."""
        return self.labels

    def subset(
        self, n: int | None = None, indices: Sequence[int] | Tensor | None = None
    ) -> ImageDataset:
        """A smaller dataset with the same metadata: the first ``n`` examples or given ``indices``.

        ``n`` larger than the split gives the whole split (so profiles can cap sizes blindly).
        The first ``n`` share memory with this dataset; ``indices`` makes a copy. Every split is
        stored shuffled (Tiny ImageNet included), so the first ``n`` cover all classes roughly
        evenly; no stratification is attempted.

        Example:
            >>> load_dataset("digits").subset(200).images.shape
            torch.Size([200, 1, 8, 8])
            >>> len(load_dataset("digits").subset(indices=[0, 5, 7]))
            3
        """
        if n is not None and indices is not None:
            raise ValueError("pass either n or indices to subset(), not both")
        if indices is not None:
            idx = torch.as_tensor(indices, dtype=torch.long).flatten()
            if idx.numel() and (int(idx.min()) < -len(self) or int(idx.max()) >= len(self)):
                raise ValueError(
                    f"subset indices must lie in [0, {len(self)}), got range "
                    f"[{int(idx.min())}, {int(idx.max())}]"
                )
            images, labels = self.images[idx], self.labels[idx]
        elif n is not None:
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise ValueError(f"subset n must be a non-negative int, got {n!r}")
            images, labels = self.images[:n], self.labels[:n]
        else:
            images, labels = self.images, self.labels
        return ImageDataset(
            name=self.name,
            split=self.split,
            images=images,
            labels=labels,
            num_classes=self.num_classes,
            input_shape=self.input_shape,
            class_names=list(self.class_names),
        )

    def batches(
        self,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
    ) -> Iterator[tuple[Tensor, Tensor]]:
        """Iterate over ``(x, y)`` mini-batches, ``x`` float32 in [0, 1].

        With ``shuffle=True`` the order is ``torch.randperm(N, generator=generator)``: pass a
        seeded ``torch.Generator`` for a reproducible epoch. Without shuffling the batches are
        contiguous slices (no copy of the stored images beyond the uint8 → float conversion).

        Shape:
            yields ``x: [b, *input_shape]``, ``y: [b]`` with ``b = batch_size`` except possibly
            the last batch (dropped when ``drop_last=True``).

        Example:
            >>> g = torch.Generator().manual_seed(0)
            >>> for x, y in load_dataset("digits").batches(256, shuffle=True, generator=g):
            ...     pass
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else None
        stop = n - n % batch_size if drop_last else n
        for start in range(0, stop, batch_size):
            if order is None:
                sl = slice(start, min(start + batch_size, n))
                yield _as_float(self.images[sl]), self.labels[sl]
            else:
                idx = order[start : start + batch_size]
                yield _as_float(self.images[idx]), self.labels[idx]


def random_crop_flip(
    x: Tensor, *, padding: int = 4, flip: bool = True, generator: torch.Generator | None = None
) -> Tensor:
    """Batched CIFAR augmentation: zero-pad by ``padding``, random crop back, random h-flip.

    The per-example offsets ``(dy, dx) ∈ {0..2p}²`` and flips are drawn on ``x.device`` from
    ``generator`` (so training stays reproducible and resumable) and applied with one gather —
    no Python loop over examples. Equivalent to torchvision's ``RandomCrop(H, padding=p)`` +
    ``RandomHorizontalFlip()`` applied to each image.

    Shape:
        ``x``: ``[B, C, H, W]`` → same shape.
    """
    if x.dim() != 4:
        raise ValueError(
            f"random_crop_flip needs images [B, C, H, W], got {tuple(x.shape)} — "
            "set augment=False for vector data such as moons"
        )
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    b, c, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (b,), device=x.device, generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (b,), device=x.device, generator=generator)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    if flip:
        mirror = torch.rand(b, device=x.device, generator=generator) < 0.5
        cols = torch.where(mirror[:, None, None, None], cols.flip(-1), cols)
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    chan = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, chan, rows, cols]
