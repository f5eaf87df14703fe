"""The papers' networks: ResNet-18 / -50, PreAct ResNet-18 and WideResNet-34-10."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mailviz.models._layers import Normalize, _Classifier, _init_resnet_weights

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
