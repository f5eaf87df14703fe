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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

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

InputKind = Literal["vector", "image"]


@dataclass(frozen=True)
class ModelSpec:
    """What a model name expects as input, for config validation.

    Attributes:
        name: the key accepted by :func:`build_model`.
        input_kind: ``"vector"`` (``[B, D]``, only ``mlp``) or ``"image"`` (``[B, C, H, W]``).
        default_input_size: side length the net was designed for (``None`` for vectors).
        fixed_size: True when the net ends in a flatten + linear layer, so it only accepts the
            ``input_size`` it was built for; False when adaptive pooling makes any size work.
        min_input_size: smallest side length the layers can process (``None`` for vectors).
        description: one line for tables and error messages.
    """

    name: str
    input_kind: InputKind
    default_input_size: int | None
    fixed_size: bool
    min_input_size: int | None
    description: str


MODEL_SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("mlp", "vector", None, True, None, "2-D toy MLP, D→64→64→classes (moons)"),
        ModelSpec("digits_cnn", "image", 8, True, 2, "small CNN for sklearn digits 8×8"),
        ModelSpec("smallcnn", "image", 28, True, 16, "TRADES SmallCNN for MNIST 28×28"),
        ModelSpec("resnet18", "image", 32, False, 1, "CIFAR ResNet-18 (3×3 stem, no max-pool)"),
        ModelSpec("preact_resnet18", "image", 32, False, 1, "pre-activation ResNet-18 (CIFAR)"),
        ModelSpec("wrn34_10", "image", 32, False, 1, "WideResNet-34-10 (TRADES/MART)"),
        ModelSpec("resnet50", "image", 64, False, 1, "ResNet-50, 3×3 stem (Tiny ImageNet 64×64)"),
    )
}

MODELS: tuple[str, ...] = tuple(MODEL_SPECS)


def _spec(name: str) -> ModelSpec:
    if not isinstance(name, str) or name not in MODEL_SPECS:
        raise ValueError(f"unknown model {name!r} — pass one of: {', '.join(MODELS)}")
    return MODEL_SPECS[name]


def model_input_kind(name: str) -> InputKind:
    """``"vector"`` if the model takes ``[B, D]`` inputs (only ``mlp``), else ``"image"``.

    Example:
        >>> model_input_kind("mlp"), model_input_kind("resnet18")
        ('vector', 'image')
    """
    return _spec(name).input_kind


def default_input_size(name: str) -> int | None:
    """Side length (H = W) the model was designed for; ``None`` for the vector model ``mlp``.

    Example:
        >>> default_input_size("digits_cnn"), default_input_size("resnet50")
        (8, 64)
    """
    return _spec(name).default_input_size


def check_input_shape(name: str, input_shape: Sequence[int]) -> None:
    """Raise ValueError (one line) if model ``name`` cannot take samples of ``input_shape``.

    ``input_shape`` is one sample's shape without the batch axis, as a dataset reports it:
    ``(D,)`` for vectors, ``(C, H, W)`` for images. ``mlp`` needs a vector; the image models need
    ``(C, H, W)`` with ``H, W`` at least the model's minimum; the fixed-size models
    (``digits_cnn``, ``smallcnn``) need square images and are then built with ``input_size=H``.
    Build such a model with ``build_model(name, classes, input_shape[0], input_size=H)``.

    Example:
        >>> check_input_shape("digits_cnn", (1, 8, 8))
        >>> check_input_shape("mlp", (1, 28, 28))
        Traceback (most recent call last):
        ...
        ValueError: model 'mlp' takes vectors [D], got sample shape (1, 28, 28) — use an image model such as 'digits_cnn', or the 'moons' dataset
    """  # noqa: E501
    spec = _spec(name)
    shape = tuple(int(s) for s in input_shape)
    if spec.input_kind == "vector":
        if len(shape) != 1 or shape[0] < 1:
            raise ValueError(
                f"model {name!r} takes vectors [D], got sample shape {shape} — use an image model"
                " such as 'digits_cnn', or the 'moons' dataset"
            )
        return
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"model {name!r} takes images [C, H, W], got sample shape {shape} — use 'mlp' for"
            " vector data such as 'moons'"
        )
    _, h, w = shape
    assert spec.min_input_size is not None
    if min(h, w) < spec.min_input_size:
        raise ValueError(
            f"model {name!r} needs images of at least {spec.min_input_size}×{spec.min_input_size},"
            f" got {h}×{w} — pick a model for small images such as 'digits_cnn'"
        )
    if spec.fixed_size and h != w:
        raise ValueError(
            f"model {name!r} needs square images, got {h}×{w} — crop or resize the data, or use"
            " 'resnet18'"
        )


class Normalize(nn.Module):
    """Per-channel standardisation ``x' = (x − μ_c) / σ_c`` as the first layer of a model.

    ``mean`` and ``std`` are stored as buffers (they move with ``.to(device)`` and are saved in
    the ``state_dict``) but are not parameters, so optimisers never touch them.

    Shape:
        input ``[B, C, H, W]`` (or ``[B, D]`` for vectors; then C = D), output the same.

    Example:
        >>> norm = Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])
        >>> norm(torch.ones(1, 3, 2, 2))[0, :, 0, 0]
        tensor([2., 2., 2.])
    """

    mean: Tensor
    std: Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float], *, image: bool = True) -> None:
        super().__init__()
        mean_t = torch.as_tensor(mean, dtype=torch.float32).flatten()
        std_t = torch.as_tensor(std, dtype=torch.float32).flatten()
        if mean_t.numel() == 0 or mean_t.shape != std_t.shape:
            raise ValueError(
                f"mean and std must be non-empty and the same length, got {mean_t.numel()} and"
                f" {std_t.numel()} values — pass one value per channel"
            )
        if not (torch.isfinite(mean_t).all() and torch.isfinite(std_t).all()):
            raise ValueError("mean and std must be finite numbers — pass e.g. std=(0.2470, ...)")
        if (std_t <= 0).any():
            raise ValueError(f"std must be > 0 in every channel, got {std_t.tolist()}")
        view = (1, -1, 1, 1) if image else (1, -1)
        self.register_buffer("mean", mean_t.view(view))
        self.register_buffer("std", std_t.view(view))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}"


class _Classifier(nn.Module):
    """Common base: an optional :class:`Normalize` stage, then the network's own ``_logits``."""

    def __init__(self, normalize: Normalize | None) -> None:
        super().__init__()
        # Identity when unset keeps the parameter names identical with and without normalisation.
        self.normalize: nn.Module = normalize if normalize is not None else nn.Identity()

    def _logits(self, x: Tensor) -> Tensor:  # every architecture below overrides it
        raise TypeError(f"{type(self).__name__} must define _logits(x) -> logits")

    def forward(self, x: Tensor) -> Tensor:
        return self._logits(self.normalize(x))


def _init_resnet_weights(module: nn.Module) -> None:
    """He-normal (fan-out) convs, BN γ = 1 and β = 0, zero linear bias (usual ResNet/WRN init)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)


# --------------------------------------------------------------------------------------------
# Small models (CPU)
# --------------------------------------------------------------------------------------------


class MLP(_Classifier):
    """Two hidden ReLU layers: ``D → hidden → hidden → num_classes`` for 2-D toy data.

    ReLU keeps the decision regions piecewise linear, which draws clean boundaries on the
    moons plane; two layers of 64 are enough to bend around both moons.

    Shape:
        input ``[B, D]`` (D = ``in_features``), output ``[B, num_classes]``.

    Example:
        >>> MLP(2, 2)(torch.rand(5, 2)).shape
        torch.Size([5, 2])
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        hidden: int = 64,
        normalize: Normalize | None = None,
    ) -> None:
        super().__init__(normalize)
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def _logits(self, x: Tensor) -> Tensor:
        return self.net(x)


class DigitsCNN(_Classifier):
    """Small CNN for 8×8 digits: conv3×3(32)-ReLU-conv3×3(64)-ReLU-maxpool2-FC(128)-ReLU-FC.

    Padded convolutions keep 8×8, the pool halves it to 4×4, so the flatten has
    ``64 · (s/2)²`` features for input side ``s``. No BatchNorm and no dropout: train and eval
    mode compute the same function, which keeps attacks (run in eval mode) and the training
    forward consistent.

    Shape:
        input ``[B, C, s, s]`` with ``s = input_size`` (default 8), output ``[B, num_classes]``.

    Example:
        >>> DigitsCNN(1, 10)(torch.rand(2, 1, 8, 8)).shape
        torch.Size([2, 10])
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        input_size: int = 8,
        normalize: Normalize | None = None,
    ) -> None:
        super().__init__(normalize)
        side = input_size // 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * side * side, 128),
            nn.ReLU(),
            nn.Linear(128, num_classes),
        )

    def _logits(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


class SmallCNN(_Classifier):
    """TRADES' MNIST SmallCNN: conv 32-32, pool, conv 64-64, pool, FC 200-200-classes.

    All convs are 3×3 without padding, each followed by ReLU; pools are 2×2 max-pools; dropout
    0.5 after the first FC layer; no BatchNorm. A side ``s`` shrinks as
    ``s → s−4 → ⌊(s−4)/2⌋ → … −4 → ⌊·/2⌋``: 28 → 24 → 12 → 8 → 4, i.e. 64·4·4 = 1024 features.

    Shape:
        input ``[B, C, s, s]`` with ``s = input_size`` (default 28, at least 16), output
        ``[B, num_classes]``.

    Example:
        >>> SmallCNN(1, 10)(torch.rand(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        input_size: int = 28,
        dropout: float = 0.5,
        normalize: Normalize | None = None,
    ) -> None:
        super().__init__(normalize)
        side = ((input_size - 4) // 2 - 4) // 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3),
            nn.ReLU(),
            nn.Conv2d(64, 64, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * side * side, 200),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(200, 200),
            nn.ReLU(),
            nn.Linear(200, num_classes),
        )

    def _logits(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


# --------------------------------------------------------------------------------------------
# ResNets (GPU)
# --------------------------------------------------------------------------------------------


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def _projection(cin: int, cout: int, stride: int) -> nn.Module:
    """1×1 conv + BN on the shortcut when the shape changes, identity otherwise."""
    if stride == 1 and cin == cout:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))


class _BasicBlock(nn.Module):
    """``relu(BN(conv3×3(relu(BN(conv3×3(x))))) + shortcut(x))`` (He et al., 2016a)."""

    expansion = 1

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        self.conv1 = _conv3x3(cin, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width)
        self.bn2 = nn.BatchNorm2d(width)
        self.shortcut = _projection(cin, width, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class _Bottleneck(nn.Module):
    """1×1 reduce, 3×3 (carries the stride), 1×1 expand ×4, each with BN; ReLU after the sum."""

    expansion = 4

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.shortcut = _projection(cin, cout, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


class ResNet(_Classifier):
    """CIFAR-style ResNet: 3×3 stride-1 stem (no max-pool), four stages, global average pool, FC.

    Stage ``i`` has ``blocks[i]`` blocks of width ``64·2^i`` (stride 2 at the start of stages
    2–4). With ``_BasicBlock`` and ``[2, 2, 2, 2]`` this is ResNet-18 (11,173,962 parameters for
    10 classes); with ``_Bottleneck`` and ``[3, 4, 6, 3]`` ResNet-50. Adaptive average pooling
    makes any input size work (32×32 ends at 4×4, 64×64 at 8×8).

    Shape:
        input ``[B, C, H, W]``, output ``[B, num_classes]``.

    Example:
        >>> ResNet("basic", [2, 2, 2, 2], 3, 10)(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(
        self,
        block: Literal["basic", "bottleneck"],
        blocks: Sequence[int],
        in_channels: int,
        num_classes: int,
        normalize: Normalize | None = None,
    ) -> None:
        super().__init__(normalize)
        block_cls = {"basic": _BasicBlock, "bottleneck": _Bottleneck}[block]
        self.conv1 = _conv3x3(in_channels, 64)
        self.bn1 = nn.BatchNorm2d(64)
        stages: list[nn.Module] = []
        cin = 64
        for i, n in enumerate(blocks):
            width = 64 * 2**i
            layers = []
            for j in range(n):
                layers.append(block_cls(cin, width, 2 if (i > 0 and j == 0) else 1))
                cin = width * block_cls.expansion
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(cin, num_classes)
        _init_resnet_weights(self)

    def _logits(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.linear(torch.flatten(self.pool(out), 1))


class _PreActBlock(nn.Module):
    """``conv3×3(relu(BN(conv3×3(relu(BN(x)))))) + shortcut`` (He et al., 2016b).

    The projection shortcut (1×1 conv, no BN) is applied to the pre-activated input
    ``relu(BN(x))`` when the shape changes; otherwise the shortcut is ``x`` itself. With
    ``dropout > 0`` dropout sits between the two convolutions (WideResNet option).
    """

    def __init__(self, cin: int, cout: int, stride: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = _conv3x3(cin, cout, stride)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = _conv3x3(cout, cout)
        self.dropout = dropout
        self.shortcut: nn.Module | None = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        pre = F.relu(self.bn1(x))
        skip = x if self.shortcut is None else self.shortcut(pre)
        out = self.conv1(pre)
        out = F.relu(self.bn2(out))
        if self.dropout > 0:
            out = F.dropout(out, p=self.dropout, training=self.training)
        return self.conv2(out) + skip


class PreActResNet(_Classifier):
    """Pre-activation ResNet with the CIFAR stem; ``[2, 2, 2, 2]`` is PreAct ResNet-18.

    Stem: one 3×3 conv (no BN/ReLU — the first block pre-activates). Four stages of widths
    64–512, then a final BN-ReLU (He et al., 2016b; some public variants omit it, saving 1,024
    parameters), global average pool and FC. 11,172,170 parameters for 10 classes.

    Shape:
        input ``[B, C, H, W]``, output ``[B, num_classes]``.

    Example:
        >>> PreActResNet([2, 2, 2, 2], 3, 10)(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(
        self,
        blocks: Sequence[int],
        in_channels: int,
        num_classes: int,
        normalize: Normalize | None = None,
    ) -> None:
        super().__init__(normalize)
        self.conv1 = _conv3x3(in_channels, 64)
        stages: list[nn.Module] = []
        cin = 64
        for i, n in enumerate(blocks):
            width = 64 * 2**i
            layers = []
            for j in range(n):
                layers.append(_PreActBlock(cin, width, 2 if (i > 0 and j == 0) else 1))
                cin = width
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.bn = nn.BatchNorm2d(cin)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(cin, num_classes)
        _init_resnet_weights(self)

    def _logits(self, x: Tensor) -> Tensor:
        out = self.conv1(x)
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.relu(self.bn(out))
        return self.linear(torch.flatten(self.pool(out), 1))


class WideResNet(_Classifier):
    """WideResNet-depth-k (Zagoruyko & Komodakis, 2016) as used by TRADES, MART and MAIL.

    ``n = (depth − 4) / 6`` pre-activation blocks per stage, widths ``16 → 16k, 32k, 64k``
    (strides 1, 2, 2), a 3×3 stem of 16 channels, final BN-ReLU, global average pool and FC.
    ``depth=34, widen=10`` gives WRN-34-10: 46,160,474 parameters for 10 classes.

    Shape:
        input ``[B, C, H, W]``, output ``[B, num_classes]``.

    Example:
        >>> WideResNet(10, 2, 3, 10)(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(
        self,
        depth: int,
        widen: int,
        in_channels: int,
        num_classes: int,
        dropout: float = 0.0,
        normalize: Normalize | None = None,
    ) -> None:
        super().__init__(normalize)
        if depth < 10 or (depth - 4) % 6 != 0:
            raise ValueError(f"WideResNet depth must be 6n+4 with n ≥ 1, got {depth} — try 34")
        n = (depth - 4) // 6
        widths = [16 * widen, 32 * widen, 64 * widen]
        self.conv1 = _conv3x3(in_channels, 16)
        stages: list[nn.Module] = []
        cin = 16
        for i, width in enumerate(widths):
            layers = []
            for j in range(n):
                layers.append(_PreActBlock(cin, width, 2 if (i > 0 and j == 0) else 1, dropout))
                cin = width
            stages.append(nn.Sequential(*layers))
        self.block1, self.block2, self.block3 = stages
        self.bn = nn.BatchNorm2d(cin)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(cin, num_classes)
        _init_resnet_weights(self)

    def _logits(self, x: Tensor) -> Tensor:
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = F.relu(self.bn(out))
        return self.linear(torch.flatten(self.pool(out), 1))


# --------------------------------------------------------------------------------------------
# Factory
# --------------------------------------------------------------------------------------------


def _check_int(value: object, name: str, minimum: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r} — {hint}")
    return value


def build_model(
    name: str,
    num_classes: int = 10,
    in_channels: int = 1,
    *,
    input_size: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> nn.Module:
    """A freshly initialised classifier ``f: [0, 1]-inputs → logits`` by name.

    With ``mean``/``std`` the model first computes ``x' = (x − μ_c) / σ_c`` (:class:`Normalize`),
    so callers always feed pixels in [0, 1]. Initialisation draws from torch's global RNG: call
    ``torch.manual_seed(seed)`` first for reproducible weights.

    Args:
        name: one of :data:`MODELS`.
        num_classes: number of logits (≥ 2).
        in_channels: image channels (1 for MNIST/digits, 3 for CIFAR/SVHN/Tiny ImageNet); for
            ``mlp`` the input dimension D (2 for moons). Generally ``dataset.input_shape[0]``.
        input_size: image side length for the fixed-size nets (``digits_cnn``: 8,
            ``smallcnn``: 28 by default); for the ResNets it is only checked (any size works);
            must be None for ``mlp``.
        mean, std: per-channel (or per-feature for ``mlp``) statistics, one value per channel or
            a single value for all; both or neither.

    Returns:
        ``nn.Module`` mapping ``[B, C, H, W]`` (``mlp``: ``[B, D]``) to ``[B, num_classes]``.

    Example:
        >>> model = build_model("resnet18", 10, 3, mean=(0.49, 0.48, 0.45), std=(0.25,) * 3)
        >>> model(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    spec = _spec(name)
    _check_int(num_classes, "num_classes", 2, "a classifier needs at least 2 classes")
    what = "the input dimension (2 for moons)" if name == "mlp" else "1 for grey, 3 for RGB"
    _check_int(in_channels, "in_channels", 1, f"pass {what}")

    if spec.input_kind == "vector":
        if input_size is not None:
            raise ValueError(
                f"input_size does not apply to {name!r} (vector input) — pass the input dimension"
                " as in_channels instead"
            )
        size = None
    else:
        size = spec.default_input_size if input_size is None else input_size
        assert spec.min_input_size is not None
        _check_int(
            size,
            "input_size",
            spec.min_input_size,
            f"{name!r} needs images of at least {spec.min_input_size} pixels a side",
        )

    if (mean is None) != (std is None):
        raise ValueError("pass both mean and std, or neither (no normalisation)")
    normalize = None
    if mean is not None and std is not None:
        # A bare number is accepted as "the same for every channel".
        mean_list = [float(mean)] if isinstance(mean, int | float) else list(mean)
        std_list = [float(std)] if isinstance(std, int | float) else list(std)
        for label, values in (("mean", mean_list), ("std", std_list)):
            if len(values) not in (1, in_channels):
                raise ValueError(
                    f"{label} has {len(values)} values but in_channels={in_channels} — pass one"
                    " value per channel (or a single value)"
                )
        mean_list = mean_list * in_channels if len(mean_list) == 1 else mean_list
        std_list = std_list * in_channels if len(std_list) == 1 else std_list
        normalize = Normalize(mean_list, std_list, image=spec.input_kind == "image")

    if name == "mlp":
        return MLP(in_channels, num_classes, normalize=normalize)
    assert size is not None
    if name == "digits_cnn":
        return DigitsCNN(in_channels, num_classes, input_size=size, normalize=normalize)
    if name == "smallcnn":
        return SmallCNN(in_channels, num_classes, input_size=size, normalize=normalize)
    if name == "resnet18":
        return ResNet("basic", [2, 2, 2, 2], in_channels, num_classes, normalize=normalize)
    if name == "preact_resnet18":
        return PreActResNet([2, 2, 2, 2], in_channels, num_classes, normalize=normalize)
    if name == "wrn34_10":
        return WideResNet(34, 10, in_channels, num_classes, normalize=normalize)
    if name == "resnet50":
        return ResNet("bottleneck", [3, 4, 6, 3], in_channels, num_classes, normalize=normalize)
    raise AssertionError(f"MODEL_SPECS and build_model disagree about {name!r}")


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of scalar parameters ``Σ_p numel(p)`` (buffers such as BN statistics excluded).

    Example:
        >>> count_parameters(build_model("resnet18", 10, 3))
        11173962
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
