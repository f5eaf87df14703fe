"""Classifiers used in the papers, plus small ones that train on a laptop CPU.

``build_model(name, num_classes, in_channels)`` returns a fresh, randomly initialised
``nn.Module`` that maps inputs in the pixel scale [0, 1] to logits ``[B, num_classes]``.

* ``mlp`` — vectors ``[B, D]`` with ``D = in_channels``: D → 64 → 64 → classes, ReLU (moons).
* ``digits_cnn`` — 8×8 images: conv3×3(32)-conv3×3(64)-maxpool-FC128 (sklearn digits, CPU).
* ``smallcnn`` — 28×28: TRADES/MART/MAIL's MNIST net, conv 32-32, pool, conv 64-64, pool,
  FC 200-200, dropout 0.5 after FC1, no BatchNorm.
* ``resnet18`` — 32×32: CIFAR ResNet-18, 3×3 stride-1 stem, no max-pool, BasicBlock [2, 2, 2, 2].
* ``preact_resnet18`` — 32×32: pre-activation ResNet-18, CIFAR stem, final BN-ReLU.
* ``wrn34_10`` — 32×32: WideResNet-34-10 (TRADES/MART), pre-activation blocks of 160/320/640.
* ``resnet50`` — 64×64: Bottleneck [3, 4, 6, 3] with the same CIFAR-style 3×3 stride-1 stem
  (no 7×7 conv, no max-pool), as Tiny ImageNet AT code commonly does; at 64×64 the last stage
  runs at 8×8. Heavier than the ImageNet stem, but keeps the small images' detail.

Normalisation lives inside the model: with ``mean``/``std`` a :class:`Normalize` layer computes
``x' = (x − μ_c) / σ_c`` per channel before the first layer, so attacks, ε and clamps stay in the
[0, 1] pixel scale. Without them the model sees raw [0, 1] inputs (MAIL's CIFAR setting).

The ResNets use adaptive average pooling, so they accept any spatial size; ``digits_cnn`` and
``smallcnn`` end in fully connected layers whose width depends on the input size, which
``input_size`` sets (default: the size the net was designed for).

Example:
    >>> import torch
    >>> model = build_model("smallcnn", num_classes=10, in_channels=1)
    >>> model(torch.rand(2, 1, 28, 28)).shape
    torch.Size([2, 10])

Layout: :mod:`~mailviz.models.catalog` (names, input shapes, :func:`build_model`),
:mod:`~mailviz.models.small` (MLP, DigitsCNN, SmallCNN), :mod:`~mailviz.models.resnets`
(ResNet-18/50, PreAct ResNet-18, WRN-34-10); the normalisation layer and shared heads in
:mod:`~mailviz.models._layers`. Every name is importable from here.
"""

from __future__ import annotations

from mailviz.models._layers import (  # noqa: F401
    InputKind,
    Normalize,
    _check_int,
    _Classifier,
    _init_resnet_weights,
)
from mailviz.models.catalog import (  # noqa: F401
    MODEL_SPECS,
    MODELS,
    ModelSpec,
    _spec,
    build_model,
    check_input_shape,
    count_parameters,
    default_input_size,
    model_input_kind,
)
from mailviz.models.resnets import (  # noqa: F401
    PreActResNet,
    ResNet,
    WideResNet,
    _BasicBlock,
    _Bottleneck,
    _conv3x3,
    _PreActBlock,
    _projection,
)
from mailviz.models.small import (  # noqa: F401
    MLP,
    DigitsCNN,
    SmallCNN,
)

__all__ = [
    "MODELS",
    "MODEL_SPECS",
    "ModelSpec",
    "Normalize",
    "MLP",
    "DigitsCNN",
    "SmallCNN",
    "ResNet",
    "PreActResNet",
    "WideResNet",
    "build_model",
    "count_parameters",
    "model_input_kind",
    "default_input_size",
    "check_input_shape",
]
