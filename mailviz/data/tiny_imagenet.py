"""Tiny ImageNet: download, checksum, one-time conversion to arrays, loading."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch

from mailviz.data.dataset import ImageDataset

_TINY_FOLDER = "tiny-imagenet-200"
_TINY_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
_TINY_MD5 = "90528d7ca1a48142e341f4ef8d21d0de"
_TINY_SIZE = 64


# ---------------------------------------------------------------------------------------------
# Tiny ImageNet


def prepare_tiny_imagenet(root: str | Path = "data") -> Path:
    """Sort the official flat Tiny ImageNet ``val/`` into class folders ``val/<wnid>/``.

    The official zip ships ``tiny-imagenet-200/val/images/val_*.JPEG`` plus
    ``val/val_annotations.txt`` (tab-separated: file name, wnid, box). This moves every image to
    ``val/<wnid>/<file>`` and removes the emptied ``val/images``; the annotation file is kept.
    Running it again on an already sorted folder does nothing.

    Returns:
        The ``<root>/tiny-imagenet-200`` folder.

    Example:
        >>> prepare_tiny_imagenet("data")  # after unzipping tiny-imagenet-200.zip into data/
        PosixPath('data/tiny-imagenet-200')
    """
    base = Path(root) / _TINY_FOLDER
    val = base / "val"
    flat = val / "images"
    annotations = val / "val_annotations.txt"
    if not flat.is_dir():
        return base
    if not annotations.is_file():
        raise FileNotFoundError(
            f"{annotations} is missing, so {flat} cannot be sorted into class folders — "
            f"re-extract {_TINY_URL} into {root}/"
        )
    with annotations.open() as fh:
        for line in fh:
            fields = line.strip().split("\t")
            if len(fields) < 2:
                continue
            file_name, wnid = fields[0], fields[1]
            src = flat / file_name
            if src.is_file():
                (val / wnid).mkdir(exist_ok=True)
                shutil.move(str(src), str(val / wnid / file_name))
    if any(flat.iterdir()):
        raise ValueError(
            f"{flat} still holds files not listed in {annotations.name} — remove them or "
            "move them into val/<wnid>/ by hand"
        )
    flat.rmdir()
    return base


def _tiny_class_names(base: Path, wnids: list[str]) -> list[str]:
    """Readable names from ``words.txt`` (first synonym) where it exists, else the wnids."""
    words = base / "words.txt"
    if not words.is_file():
        return list(wnids)
    lookup: dict[str, str] = {}
    with words.open(encoding="utf-8") as fh:
        for line in fh:
            wnid, _, text = line.rstrip("\n").partition("\t")
            lookup[wnid] = text.split(",")[0].strip() or wnid
    return [lookup.get(w, w) for w in wnids]


def _decode_rgb64(path: str) -> np.ndarray:
    """One JPEG → uint8 ``[3, 64, 64]``; PIL (torchvision.io decoding is deprecated in 0.29)."""
    from PIL import Image

    with Image.open(path) as img:
        rgb = img.convert("RGB")  # the few grayscale JPEGs become 3 equal channels
    if rgb.size != (_TINY_SIZE, _TINY_SIZE):
        rgb = rgb.resize((_TINY_SIZE, _TINY_SIZE), Image.Resampling.BILINEAR, reducing_gap=None)
    return np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1)


def _load_tiny_imagenet(split: str, root: Path, download: bool) -> ImageDataset:
    from torchvision.datasets import ImageFolder
    from torchvision.datasets.folder import find_classes

    base = root / _TINY_FOLDER
    folder = base / ("train" if split == "train" else "val")
    if download and not folder.is_dir():
        from torchvision.datasets.utils import download_and_extract_archive

        download_and_extract_archive(_TINY_URL, download_root=str(root), md5=_TINY_MD5)
    if download:
        prepare_tiny_imagenet(root)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"tiny-imagenet not found: expected {folder}/<wnid>/**/*.JPEG — run "
            f'load_dataset("tiny-imagenet", "{split}", root="{root}", download=True) once, or '
            f'unzip {_TINY_URL} into {root}/ and run mailviz.data.prepare_tiny_imagenet("{root}")'
        )
    if (folder / "images").is_dir():
        raise FileNotFoundError(
            f"{folder} is in the official flat layout (val/images/): run "
            f'mailviz.data.prepare_tiny_imagenet("{root}") once to sort it into val/<wnid>/'
        )

    # The training folders define the class order (sorted wnids, ImageFolder's rule); the val
    # split is mapped onto it so that label k means the same class in both splits.
    train_dir = base / "train"
    wnids, _ = find_classes(str(train_dir if train_dir.is_dir() else folder))
    index_of = {w: i for i, w in enumerate(wnids)}
    tree = ImageFolder(str(folder))
    unknown = sorted(set(tree.classes) - set(index_of))
    if unknown:
        raise ValueError(
            f"{folder} has class folders absent from {train_dir}: {', '.join(unknown[:5])} — "
            "train/ and val/ must hold the same wnids"
        )
    remap = torch.tensor([index_of[w] for w in tree.classes], dtype=torch.int64)

    n = len(tree.samples)
    pixels = np.empty((n, 3, _TINY_SIZE, _TINY_SIZE), dtype=np.uint8)
    for k, (path, _) in enumerate(tree.samples):  # JPEG decoding is per file by nature
        pixels[k] = _decode_rgb64(path)
    images = torch.from_numpy(pixels)
    labels = remap[torch.as_tensor(tree.targets, dtype=torch.int64)]

    # ImageFolder lists files class by class; a fixed shuffle makes subset(n) cover all classes.
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    return ImageDataset(
        name="tiny-imagenet",
        split=split,
        images=images[order],
        labels=labels[order],
        num_classes=len(wnids),
        input_shape=(3, _TINY_SIZE, _TINY_SIZE),
        class_names=_tiny_class_names(base, wnids),
    )
