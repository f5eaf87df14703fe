"""The small models of the CPU profiles: an MLP, the digits CNN and TRADES' SmallCNN (MNIST)."""

from __future__ import annotations

from torch import Tensor, nn

from mailviz.models._layers import Normalize, _Classifier

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
