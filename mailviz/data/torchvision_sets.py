"""MNIST, Fashion-MNIST, CIFAR-10/100 and SVHN through torchvision (download on request)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from mailviz.data._info import _INFO
from mailviz.data.dataset import ImageDataset


def _missing_message(name: str, split: str, root: str | Path) -> str:
    root_s = str(root)
    return (
        f"{name} not found (or incomplete) under {root_s}/: run "
        f'load_dataset("{name}", "{split}", root="{root_s}", download=True) once, '
        "or add --download to the mailviz command"
    )


# ---------------------------------------------------------------------------------------------
# torchvision datasets


def _torchvision_dataset(name: str, split: str, root: Path, download: bool) -> Any:
    import torchvision.datasets as tvd

    classes = {
        "mnist": tvd.MNIST,
        "fashion-mnist": tvd.FashionMNIST,
        "cifar10": tvd.CIFAR10,
        "cifar100": tvd.CIFAR100,
    }
    try:
        if name == "svhn":
            return tvd.SVHN(root=str(root), split=split, download=download)
        return classes[name](root=str(root), train=split == "train", download=download)
    except RuntimeError as err:
        # torchvision: "Dataset not found or corrupted. You can use download=True ..." (and the
        # CIFAR "Dataset metadata file not found ..."); anything else is a real error.
        if "not found" in str(err):
            raise FileNotFoundError(_missing_message(name, split, root)) from None
        raise


def _load_torchvision(name: str, split: str, root: Path, download: bool) -> ImageDataset:
    ds = _torchvision_dataset(name, split, root, download)
    if name in ("mnist", "fashion-mnist"):
        images = ds.data.to(torch.uint8).unsqueeze(1)  # [N, 28, 28] → [N, 1, 28, 28]
        labels = ds.targets.to(torch.int64)
        names = list(ds.classes)
        if name == "mnist":
            names = [c.split(" - ")[0] for c in names]  # "3 - three" → "3", as digits/mnist5k
    elif name in ("cifar10", "cifar100"):
        images = torch.from_numpy(np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2)))  # HWC→CHW
        labels = torch.as_tensor(ds.targets, dtype=torch.int64)
        names = list(ds.classes)
    else:  # svhn: .data is already [N, C, H, W]; .labels already maps the file's 10 to digit 0
        images = torch.from_numpy(np.ascontiguousarray(ds.data))
        labels = torch.as_tensor(ds.labels, dtype=torch.int64).reshape(-1)
        names = [str(d) for d in range(10)]
    info = _INFO[name]
    return ImageDataset(
        name=name,
        split=split,
        images=images.contiguous(),
        labels=labels,
        num_classes=info["num_classes"],
        input_shape=tuple(images.shape[1:]),
        class_names=names,
    )
