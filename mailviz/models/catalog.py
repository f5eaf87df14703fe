"""Model names → specs (input kind, default input size) and :func:`build_model`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from mailviz.models._layers import InputKind, Normalize, _check_int
from mailviz.models.resnets import PreActResNet, ResNet, WideResNet
from mailviz.models.small import MLP, DigitsCNN, SmallCNN


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
