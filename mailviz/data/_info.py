"""Each dataset's shape, classes and source (shared by the catalog and the loaders)."""

from __future__ import annotations

from typing import Any

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
