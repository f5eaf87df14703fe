"""The data and the training run at a glance: sample images, training curves."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from mailviz.plots._style import _np, _require, _subplots, palette, style

# --------------------------------------------------------------------------------------------
# Data and training: the tour notebook
# --------------------------------------------------------------------------------------------


def dataset_samples(dataset: Any, *, per_class: int = 4, max_classes: int = 10) -> Figure:
    """A grid of examples, one column per class (images), or a scatter of the 2-D toy (moons).

    Args:
        dataset: a :class:`mailviz.data.ImageDataset` (``.images``, ``.labels``, ``.x``,
            ``.class_names``, ``.input_shape``, ``.name``, ``.split``).
        per_class: images shown per class (the first ones of each class, deterministic).
        max_classes: at most this many classes (columns).

    Returns:
        The figure; the suptitle names the dataset, split and size.
    """
    if per_class < 1 or max_classes < 1:
        raise ValueError("per_class and max_classes must be >= 1")
    labels = dataset.labels
    shape = tuple(dataset.input_shape)
    title = f"{dataset.name} ({dataset.split}, n = {len(dataset)}, shape {shape})"
    with style():
        if len(dataset.input_shape) == 1:
            fig, axes = _subplots(1, 1, figsize=(7.5, 5.6))
            ax = axes[0, 0]
            x = _np(dataset.x)
            colors = palette(dataset.num_classes)
            for c in range(dataset.num_classes):
                sel = _np(labels) == c
                ax.scatter(x[sel, 0], x[sel, 1], s=10, color=colors[c],
                           label=dataset.class_names[c])  # fmt: skip
            ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="x₁ (pixel scale)", ylabel="x₂ (pixel scale)")
            ax.set_aspect("equal")
            ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), title="class",
                      markerscale=2.0)  # fmt: skip
            fig.suptitle(title)
            return fig
        # landscape for a slide: one column per class, its first examples below each other
        classes = list(range(min(dataset.num_classes, max_classes)))
        fig, axes = _subplots(per_class, len(classes), figsize=(1.0 * len(classes) + 0.6,
                                                               1.0 * per_class + 0.9))  # fmt: skip
        for k_col, c in enumerate(classes):
            idx = torch.nonzero(labels == c).flatten()[:per_class]
            for k in range(per_class):
                ax = axes[k, k_col]
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                if k < idx.numel():
                    img = _np(dataset[int(idx[k])][0])
                    if img.shape[0] == 1:
                        ax.imshow(img[0], cmap="gray_r", vmin=0, vmax=1)
                    else:
                        ax.imshow(np.transpose(img, (1, 2, 0)))
                if k == 0:
                    ax.set_title(str(dataset.class_names[c]))
        fig.suptitle(title)
    return fig


def training_curves(history: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Loss and held-out accuracies per epoch from a :class:`mailviz.train.TrainedModel` history.

    Two panels: training loss, and held-out clean (``nat_acc``) and PGD (``pgd_acc``) accuracy
    in %, plus ``train_adv_acc`` when present.
    """
    _require(history, ["epoch", "loss", "nat_acc"], "training_curves")
    with style():
        fig, axes = _subplots(1, 2, figsize=(10.0, 4.8))
        axes[0, 0].plot(history["epoch"], history["loss"], marker="o", ms=5)
        axes[0, 0].set(xlabel="epoch", ylabel="training loss", title="loss")
        ax = axes[0, 1]
        names = {"nat_acc": "held-out clean", "pgd_acc": "held-out PGD",
                 "train_adv_acc": "training batches"}  # fmt: skip
        for column, label in names.items():
            if column in history.columns and history[column].notna().any():
                sel = history[history[column].notna()]
                ax.plot(sel["epoch"], sel[column], marker="o", ms=5, label=label)
        ax.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy", ylim=(0, 100))
        ax.legend(loc="lower right")
        if title:
            fig.suptitle(title)
    return fig
