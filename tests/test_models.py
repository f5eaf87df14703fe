"""Tests of mailviz.models: parameter counts, shapes, normalisation, validation, determinism."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from mailviz.models import (
    MODEL_SPECS,
    MODELS,
    Normalize,
    build_model,
    check_input_shape,
    count_parameters,
    default_input_size,
    model_input_kind,
)

# (name, num_classes, in_channels, input_size for the forward pass, exact parameter count).
# Published anchors: CIFAR ResNet-18 = 11,173,962 and WRN-34-10 = 46,160,474 (10 classes);
# CIFAR-stem ResNet-50 = 23,520,842 for 10 classes. The others follow from the layer arithmetic,
# e.g. SmallCNN: 320 + 9,248 + 18,496 + 36,928 + 1024·200+200 + 200·200+200 + 200·10+10.
PARAM_COUNTS = [
    ("mlp", 2, 2, None, 4_482),
    ("digits_cnn", 10, 1, 8, 151_306),
    ("smallcnn", 10, 1, 28, 312_202),
    ("resnet18", 10, 3, 32, 11_173_962),
    ("preact_resnet18", 10, 3, 32, 11_172_170),
    ("wrn34_10", 10, 3, 32, 46_160_474),
    ("resnet50", 10, 3, 32, 23_520_842),
    ("resnet50", 200, 3, 64, 23_910_152),
]


def _input(in_channels: int, size: int | None, batch: int = 2) -> torch.Tensor:
    if size is None:
        return torch.rand(batch, in_channels)
    return torch.rand(batch, in_channels, size, size)


def test_models_tuple_matches_contract() -> None:
    assert MODELS == (
        "mlp",
        "digits_cnn",
        "smallcnn",
        "resnet18",
        "preact_resnet18",
        "wrn34_10",
        "resnet50",
    )
    assert set(MODEL_SPECS) == set(MODELS)


@pytest.mark.parametrize(("name", "classes", "channels", "size", "count"), PARAM_COUNTS)
def test_parameter_count_and_output_shape(
    name: str, classes: int, channels: int, size: int | None, count: int
) -> None:
    model = build_model(name, classes, channels)
    assert count_parameters(model) == count
    model.eval()
    with torch.no_grad():
        out = model(_input(channels, size))
    assert out.shape == (2, classes)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_smallcnn_mnist_layer_arithmetic() -> None:
    model = build_model("smallcnn", 10, 1)
    linear_shapes = [tuple(m.weight.shape) for m in model.modules() if isinstance(m, nn.Linear)]
    assert linear_shapes == [(200, 1024), (200, 200), (10, 200)]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64]
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert len(dropouts) == 1 and dropouts[0].p == 0.5


def test_resnet18_is_cifar_variant() -> None:
    model = build_model("resnet18", 10, 3)
    first = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    assert first.kernel_size == (3, 3) and first.stride == (1, 1)
    assert not any(isinstance(m, nn.MaxPool2d) for m in model.modules())


def test_wrn34_10_block_count_and_widths() -> None:
    model = build_model("wrn34_10", 10, 3)
    convs3 = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    # n = (34 − 4) / 6 = 5 blocks per stage: stem + 3 stages × 5 blocks × 2 convs = 31 3×3 convs,
    # and one 1×1 projection shortcut where each stage changes width.
    assert len(convs3) == 31
    convs1 = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)]
    assert [(c.in_channels, c.out_channels) for c in convs1] == [(16, 160), (160, 320), (320, 640)]
    assert sorted({c.out_channels for c in convs3}) == [16, 160, 320, 640]
    assert isinstance(model.linear, nn.Linear) and model.linear.in_features == 640


@pytest.mark.parametrize(
    ("name", "channels", "size", "count"),
    [
        # SmallCNN at 32×32: flatten 64·5·5 = 1,600 instead of 1,024 → +576·200 weights.
        ("smallcnn", 3, 32, 312_202 + 576 * 200 + 2 * 9 * 32),
        ("digits_cnn", 1, 28, 151_306 + (64 * 14 * 14 - 64 * 4 * 4) * 128),
        ("smallcnn", 1, 16, 312_202 - (1024 - 64) * 200),
    ],
)
def test_fixed_size_models_follow_input_size(
    name: str, channels: int, size: int, count: int
) -> None:
    model = build_model(name, 10, channels, input_size=size).eval()
    assert count_parameters(model) == count
    with torch.no_grad():
        assert model(_input(channels, size)).shape == (2, 10)


def test_resnet_accepts_other_sizes_and_channels() -> None:
    model = build_model("resnet18", 10, 1, input_size=28).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
        assert model(torch.rand(2, 1, 20, 24)).shape == (2, 10)


def test_input_gradient_flows_for_attacks() -> None:
    model = build_model("digits_cnn", 10, 1, mean=[0.3], std=[0.2]).eval()
    x = torch.rand(3, 1, 8, 8, requires_grad=True)
    model(x).logsumexp(dim=1).sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    assert x.grad.abs().sum() > 0


def test_digits_cnn_train_and_eval_mode_agree() -> None:
    model = build_model("digits_cnn", 10, 1)
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        train_out = model.train()(x)
        eval_out = model.eval()(x)
    torch.testing.assert_close(train_out, eval_out, rtol=0, atol=0)


def test_smallcnn_dropout_only_in_train_mode() -> None:
    model = build_model("smallcnn", 10, 1)
    x = torch.rand(8, 1, 28, 28)
    with torch.no_grad():
        model.eval()
        torch.testing.assert_close(model(x), model(x), rtol=0, atol=0)
        model.train()
        torch.manual_seed(1)
        first = model(x)
        torch.manual_seed(2)
        second = model(x)
    assert not torch.equal(first, second)


# ------------------------------------------------------------------------------------ Normalize


def test_normalize_math_and_buffers() -> None:
    norm = Normalize([0.5, 0.25, 0.0], [0.5, 0.25, 2.0])
    x = torch.rand(2, 3, 4, 5)
    expected = torch.stack(
        [(x[:, 0] - 0.5) / 0.5, (x[:, 1] - 0.25) / 0.25, (x[:, 2] - 0.0) / 2.0], dim=1
    )
    torch.testing.assert_close(norm(x), expected)
    assert list(norm.parameters()) == []
    assert set(norm.state_dict()) == {"mean", "std"}
    assert norm.mean.shape == (1, 3, 1, 1)


def test_normalize_vector_layout() -> None:
    norm = Normalize([1.0, -1.0], [2.0, 0.5], image=False)
    x = torch.tensor([[3.0, 0.0], [1.0, -1.0]])
    torch.testing.assert_close(norm(x), torch.tensor([[1.0, 2.0], [0.0, 0.0]]))


@settings(max_examples=25, deadline=None)
@given(
    channels=st.integers(1, 4),
    data=st.data(),
)
def test_normalize_matches_formula(channels: int, data: st.DataObject) -> None:
    mean = data.draw(st.lists(st.floats(-1, 1), min_size=channels, max_size=channels))
    std = data.draw(st.lists(st.floats(0.05, 3), min_size=channels, max_size=channels))
    x = torch.rand(2, channels, 3, 3)
    m = torch.tensor(mean).view(1, -1, 1, 1)
    s = torch.tensor(std).view(1, -1, 1, 1)
    torch.testing.assert_close(Normalize(mean, std)(x), (x - m) / s)


def test_model_with_normalisation_equals_model_on_normalised_input() -> None:
    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    torch.manual_seed(0)
    with_norm = build_model("resnet18", 10, 3, mean=mean, std=std).eval()
    torch.manual_seed(0)
    plain = build_model("resnet18", 10, 3).eval()
    x = torch.rand(2, 3, 32, 32)
    normed = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(with_norm(x), plain(normed))
    # Same parameter names with and without normalisation; only the two buffers are added.
    assert [n for n, _ in with_norm.named_parameters()] == [n for n, _ in plain.named_parameters()]
    assert set(with_norm.state_dict()) - set(plain.state_dict()) == {
        "normalize.mean",
        "normalize.std",
    }


def test_single_value_mean_std_broadcast_to_channels() -> None:
    model = build_model("digits_cnn", 10, 3, mean=[0.5], std=(0.25, 0.5, 1.0))
    norm = model.normalize
    assert isinstance(norm, Normalize)
    assert norm.mean.flatten().tolist() == [0.5, 0.5, 0.5]
    assert norm.std.flatten().tolist() == [0.25, 0.5, 1.0]
    scalar = build_model("digits_cnn", 10, 2, mean=0.5, std=0.25).normalize  # type: ignore[arg-type]
    assert isinstance(scalar, Normalize)
    assert scalar.std.flatten().tolist() == [0.25, 0.25]


def test_mlp_normalisation_per_feature() -> None:
    torch.manual_seed(3)
    model = build_model("mlp", 2, 2, mean=[0.5, 0.25], std=[0.5, 0.25]).eval()
    torch.manual_seed(3)
    plain = build_model("mlp", 2, 2).eval()
    x = torch.rand(5, 2)
    with torch.no_grad():
        expected = plain((x - torch.tensor([0.5, 0.25])) / torch.tensor([0.5, 0.25]))
        torch.testing.assert_close(model(x), expected)


def test_no_normalisation_is_identity() -> None:
    model = build_model("mlp", 2, 2)
    assert isinstance(model.normalize, nn.Identity)
    assert not any(isinstance(m, Normalize) for m in model.modules())


# ------------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("name", ["mlp", "digits_cnn", "smallcnn", "preact_resnet18"])
def test_same_seed_gives_same_weights(name: str) -> None:
    channels = 2 if name == "mlp" else 3
    torch.manual_seed(123)
    a = build_model(name, 10, channels)
    torch.manual_seed(123)
    b = build_model(name, 10, channels)
    torch.manual_seed(124)
    c = build_model(name, 10, channels)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert sa.keys() == sb.keys() == sc.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key
    assert any(not torch.equal(sa[k], sc[k]) for k in sa if sa[k].is_floating_point())


# ------------------------------------------------------------------------------- validation


def _one_line_error(excinfo: pytest.ExceptionInfo[ValueError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError) as excinfo:
        build_model("resnet34")
    message = _one_line_error(excinfo)
    assert "resnet34" in message
    for name in MODELS:
        assert name in message


@pytest.mark.parametrize("classes", [1, 0, -3, True, 2.0, "10"])
def test_bad_num_classes(classes: object) -> None:
    with pytest.raises(ValueError, match="num_classes") as excinfo:
        build_model("mlp", classes, 2)  # type: ignore[arg-type]
    _one_line_error(excinfo)


@pytest.mark.parametrize("channels", [0, -1, 1.5, None])
def test_bad_in_channels(channels: object) -> None:
    with pytest.raises(ValueError, match="in_channels") as excinfo:
        build_model("digits_cnn", 10, channels)  # type: ignore[arg-type]
    _one_line_error(excinfo)


@pytest.mark.parametrize(
    ("name", "size", "pattern"),
    [
        ("mlp", 8, "does not apply"),
        ("smallcnn", 15, "at least 16"),
        ("digits_cnn", 1, "at least 2"),
        ("resnet18", 0, "input_size"),
        ("smallcnn", 28.0, "input_size"),
    ],
)
def test_bad_input_size(name: str, size: object, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern) as excinfo:
        build_model(name, 10, 1, input_size=size)  # type: ignore[arg-type]
    _one_line_error(excinfo)


@pytest.mark.parametrize(
    ("mean", "std", "pattern"),
    [
        ([0.5], None, "both mean and std"),
        (None, [0.5], "both mean and std"),
        ([0.5, 0.5], [0.5, 0.5], "in_channels=3"),
        ([0.5], [0.0], "std must be > 0"),
        ([0.5], [-1.0], "std must be > 0"),
        ([float("nan")], [1.0], "finite"),
        ([], [], "mean has 0 values"),
    ],
)
def test_bad_mean_std(mean: list[float] | None, std: list[float] | None, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern) as excinfo:
        build_model("digits_cnn", 10, 3, mean=mean, std=std)
    _one_line_error(excinfo)


def test_normalize_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="same length"):
        Normalize([0.1, 0.2], [0.3])


# ----------------------------------------------------------------------------- input helpers


def test_input_kind_and_default_size() -> None:
    assert model_input_kind("mlp") == "vector"
    assert default_input_size("mlp") is None
    expected = {
        "digits_cnn": 8,
        "smallcnn": 28,
        "resnet18": 32,
        "preact_resnet18": 32,
        "wrn34_10": 32,
        "resnet50": 64,
    }
    for name, size in expected.items():
        assert model_input_kind(name) == "image"
        assert default_input_size(name) == size
    with pytest.raises(ValueError, match="unknown model"):
        model_input_kind("vgg16")
    with pytest.raises(ValueError, match="unknown model"):
        default_input_size("vgg16")


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("mlp", (2,)),
        ("digits_cnn", (1, 8, 8)),
        ("smallcnn", (1, 28, 28)),
        ("smallcnn", (3, 32, 32)),
        ("resnet18", (3, 32, 32)),
        ("resnet18", (1, 8, 8)),
        ("resnet50", (3, 64, 64)),
    ],
)
def test_check_input_shape_accepts(name: str, shape: tuple[int, ...]) -> None:
    check_input_shape(name, shape)


@pytest.mark.parametrize(
    ("name", "shape", "pattern"),
    [
        ("mlp", (1, 8, 8), "takes vectors"),
        ("digits_cnn", (2,), "takes images"),
        ("smallcnn", (1, 8, 8), "at least 16×16"),
        ("smallcnn", (1, 28, 32), "square"),
        ("resnet18", (3, 32), "takes images"),
        ("wrn34_10", (0, 32, 32), "takes images"),
        ("lenet", (1, 28, 28), "unknown model"),
    ],
)
def test_check_input_shape_rejects(name: str, shape: tuple[int, ...], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern) as excinfo:
        check_input_shape(name, shape)
    _one_line_error(excinfo)


def test_check_input_shape_agrees_with_build() -> None:
    """Every shape the helper accepts builds a model that runs on it."""
    for name, shape in [("smallcnn", (3, 20, 20)), ("digits_cnn", (1, 6, 6)), ("mlp", (5,))]:
        check_input_shape(name, shape)
        size = None if len(shape) == 1 else shape[1]
        model = build_model(name, 3, shape[0], input_size=size).eval()
        with torch.no_grad():
            assert model(torch.rand(2, *shape)).shape == (2, 3)


def test_count_parameters_trainable_only() -> None:
    model = build_model("mlp", 2, 2)
    total = count_parameters(model)
    first = model.net[0]
    for p in first.parameters():
        p.requires_grad_(False)
    assert count_parameters(model) == total
    assert count_parameters(model, trainable_only=True) == total - (2 * 64 + 64)
