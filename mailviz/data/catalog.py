"""Dataset names, splits and shapes, and :func:`load_dataset`, which dispatches to the loaders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from mailviz.data._info import _INFO
from mailviz.data.dataset import ImageDataset
from mailviz.data.embedded import _load_digits, _load_mnist5k, _load_moons
from mailviz.data.tiny_imagenet import _load_tiny_imagenet
from mailviz.data.torchvision_sets import _load_torchvision
from mailviz.paths import data_root

DATASETS: tuple[str, ...] = (
    "digits",
    "mnist5k",
    "moons",
    "mnist",
    "fashion-mnist",
    "cifar10",
    "cifar100",
    "svhn",
    "tiny-imagenet",
)
SPLITS: tuple[str, ...] = ("train", "test")

_EMBEDDED = frozenset({"digits", "mnist5k", "moons"})
_ALIASES = {
    "fmnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
    "cifar-10": "cifar10",
    "cifar-100": "cifar100",
    "tinyimagenet": "tiny-imagenet",
    "tiny-imagenet-200": "tiny-imagenet",
}


# ---------------------------------------------------------------------------------------------
# names, info, errors


def _canonical_name(name: str) -> str:
    if not isinstance(name, str):
        raise ValueError(f"dataset name must be a string, one of {', '.join(DATASETS)}")
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in _INFO:
        raise ValueError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}")
    return key


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(
            f"split must be one of {', '.join(repr(s) for s in SPLITS)}, got {split!r}"
        )
    return split


def dataset_info(name: str) -> dict[str, Any]:
    """Static facts about a dataset, without loading (or downloading) anything.

    Returns a dict with ``num_classes``, ``input_shape`` (``(C, H, W)`` or ``(2,)``),
    ``in_channels`` (``C`` for images; the feature count 2 for ``moons``), ``input_size``
    (``H`` for square images, ``None`` for vector data), ``n_features`` (∏ input_shape),
    ``n_train``/``n_test`` (split sizes) and ``needs_download`` (False for the embedded
    ``digits``, ``mnist5k``, ``moons``). Config validation uses it to check that a model's
    ``in_channels``/``num_classes`` fit the dataset before anything expensive happens.

    Example:
        >>> dataset_info("cifar10")["in_channels"], dataset_info("cifar10")["num_classes"]
        (3, 10)
    """
    key = _canonical_name(name)
    info = dict(_INFO[key])
    shape = info["input_shape"]
    info["name"] = key
    info["in_channels"] = shape[0]
    info["input_size"] = shape[1] if len(shape) == 3 else None
    info["n_features"] = int(np.prod(shape))
    info["needs_download"] = key not in _EMBEDDED
    return info


# ---------------------------------------------------------------------------------------------
# entry point


def load_dataset(
    name: str = "digits",
    split: str = "train",
    root: str | Path | None = None,
    download: bool = False,
) -> ImageDataset:
    """Load one split of a dataset as an :class:`ImageDataset`, pixels ``x = v / v_max`` in [0, 1].

    ``v_max`` is 16 for ``digits`` (sklearn's 0..16 counts) and 255 for every 8-bit source; 8-bit
    sources stay uint8 in memory and are divided on access. ``moons`` is mapped into [0, 1]² by
    one fixed affine map ``x' = (x − (−1.75, −2.0)) / 4.5`` shared by both splits.

    Args:
        name: one of :data:`DATASETS` (case and ``_``/``-`` are forgiven; ``fmnist`` and
            ``cifar-10`` style aliases work).
        split: ``"train"`` or ``"test"`` (Tiny ImageNet's ``"test"`` is its labelled ``val/``).
        root: folder holding downloaded datasets (ignored by the embedded ones); ``None`` means
            ``$MAILVIZ_DATA`` or the project's ``data/`` (:func:`mailviz.paths.data_root`), so
            notebooks run from ``notebooks/`` and scripts run from the root share one folder.
        download: fetch a missing dataset into ``root``. Never happens unless asked.

    Splits of the embedded datasets are fixed: ``digits`` and ``mnist5k`` use
    ``train_test_split(test_size=0.3 resp. 0.2, stratify=y, random_state=0)``; ``moons`` draws
    1000 train points with seed 0 and 500 test points with seed 1 (noise 0.15).

    Tiny ImageNet is read with ``torchvision.datasets.ImageFolder`` from::

        <root>/tiny-imagenet-200/train/<wnid>/**/*.JPEG   (official layout: <wnid>/images/*.JPEG)
        <root>/tiny-imagenet-200/val/<wnid>/*.JPEG        (must be sorted into class folders)
        <root>/tiny-imagenet-200/words.txt                (optional: readable class names)

    Labels are the indices of the sorted train wnids; images are decoded to RGB (the few
    grayscale JPEGs included) and resized to 64×64 only if they are not already; the split is
    then shuffled once with seed 0 so that ``subset(n)`` covers all classes. The official zip
    keeps val flat (``val/images/*.JPEG`` + ``val/val_annotations.txt``); ``download=True`` sorts
    it for you, otherwise do it once with either::

        python -c 'from mailviz.data import prepare_tiny_imagenet; prepare_tiny_imagenet("data")'

        cd data/tiny-imagenet-200/val && \\
          while IFS=$'\\t' read -r f wnid _; do mkdir -p "$wnid" && mv "images/$f" "$wnid/"; \\
          done < val_annotations.txt && rmdir images

    Returns:
        ``ImageDataset`` with ``images`` ``[N, C, H, W]`` (``moons``: ``[N, 2]``), ``labels``
        int64 ``[N]``, ``num_classes``, ``input_shape`` and ``class_names``.

    Raises:
        ValueError: unknown ``name`` or ``split`` (the message lists the valid values).
        FileNotFoundError: the dataset is not under ``root``; the one-line message gives the
            call that downloads it (and for Tiny ImageNet the folder and the zip's address).

    Example:
        >>> test = load_dataset("mnist5k", "test")
        >>> test.images.dtype, test.x.dtype, test.input_shape, len(test)
        (torch.uint8, torch.float32, (1, 28, 28), 1000)
        >>> load_dataset("cifar10", root="/nonexistent")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        FileNotFoundError: cifar10 not found (or incomplete) under /nonexistent/: run ...
    """
    key = _canonical_name(name)
    split = _check_split(split)
    if key == "digits":
        return _load_digits(split)
    if key == "mnist5k":
        return _load_mnist5k(split)
    if key == "moons":
        return _load_moons(split)
    root_path = data_root() if root is None else Path(os.fspath(root))
    if key == "tiny-imagenet":
        return _load_tiny_imagenet(split, root_path, download)
    return _load_torchvision(key, split, root_path, download)
