"""mailviz.zoo: RobustBench models loaded offline through robustbench's own loader, wrapped."""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import socket
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from torch import nn

if importlib.util.find_spec("robustbench") is None:
    pytest.skip("optional extra mailviz[zoo] (robustbench) not installed", allow_module_level=True)

from mailviz import attacks, zoo
from mailviz.evaluate import default_step_size, evaluate

#: The smallest-compute CIFAR-10 L∞ zoo entry that loads through robustbench's plain path
#: (ResNet-18, ~11 M parameters; no ensemble, no special-cased checkpoint layout).
SMALL = "Sehwag2021Proxy_R18"
EPS = 8 / 255


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any download attempt or socket connection fails the test (and is recorded)."""
    rb = zoo._robustbench()
    import gdown

    calls: list[str] = []

    def refuse(what: str):
        def fail(*args: object, **kwargs: object) -> None:
            calls.append(what)
            raise AssertionError(f"network used: {what}{args}")

        return fail

    monkeypatch.setattr(rb, "download_gdrive_new", refuse("download_gdrive_new"))
    monkeypatch.setattr(rb, "download_gdrive", refuse("download_gdrive"))
    monkeypatch.setattr(gdown, "download", refuse("gdown.download"))
    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    return calls


def _fresh_net(seed: int = 0) -> nn.Module:
    """The zoo's own architecture for SMALL with fresh weights and non-trivial BN statistics."""
    entry = zoo._registry("cifar10", "Linf")[SMALL]
    torch.manual_seed(seed)
    net = entry["model"]()
    gen = torch.Generator().manual_seed(seed + 1)
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):  # train mode ≠ eval mode for this net
            module.running_mean.copy_(0.2 * torch.randn(module.num_features, generator=gen))
            module.running_var.copy_(0.5 + torch.rand(module.num_features, generator=gen))
    return net.eval()


def _write_checkpoint(net: nn.Module, path: Path) -> None:
    """RobustBench's layout: a dict with "state_dict", keys carrying DataParallel's "module."."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = OrderedDict((f"module.{k}", v) for k, v in net.state_dict().items())
    torch.save({"state_dict": state, "epoch": 100}, path)


def _data(n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    return torch.rand(n, 3, 32, 32, generator=gen), torch.randint(0, 10, (n,), generator=gen)


# --------------------------------------------------------------------------------------------


def test_autoattack_alias_lets_robustbench_import() -> None:
    zoo._robustbench()
    import robustbench.eval  # imports `autoattack` and `autoattack.state`

    if importlib.util.find_spec("pyautoattack") is not None and "autoattack" not in {
        d.metadata["Name"] for d in importlib.metadata.distributions()
    }:
        import pyautoattack
        import pyautoattack.state

        assert sys.modules["autoattack"] is pyautoattack
        assert sys.modules["autoattack.state"] is pyautoattack.state
    assert robustbench.eval.AutoAttack is sys.modules["autoattack"].AutoAttack


def test_expected_path_is_robustbench_layout(tmp_path: Path, monkeypatch) -> None:
    assert zoo.expected_path(SMALL, "cifar10", "Linf", tmp_path) == (
        tmp_path / "cifar10" / "Linf" / f"{SMALL}.pt"
    )
    assert zoo.expected_path(SMALL, "CIFAR10", "linf", str(tmp_path)) == (
        tmp_path / "cifar10" / "Linf" / f"{SMALL}.pt"
    )
    monkeypatch.setenv("MAILVIZ_DATA", str(tmp_path / "d"))
    assert zoo.expected_path("Zhang2019Theoretically") == (
        tmp_path / "d" / "robustbench" / "cifar10" / "Linf" / "Zhang2019Theoretically.pt"
    )
    members = zoo.checkpoint_files("Chen2020Adversarial", model_dir=tmp_path)
    base = tmp_path / "cifar10" / "Linf" / "Chen2020Adversarial.pt"
    assert members == [Path(f"{base}_m{i}.pt") for i in range(3)]


def test_load_offline_matches_direct_model(tmp_path: Path, offline: list[str]) -> None:
    net = _fresh_net()
    _write_checkpoint(net, zoo.expected_path(SMALL, model_dir=tmp_path))
    model = zoo.load(SMALL, model_dir=tmp_path)
    assert offline == []
    assert isinstance(model, zoo.ZooModel) and isinstance(model, nn.Module)
    assert not any(m.training for m in model.modules())
    assert (model.num_classes, model.input_shape) == (10, (3, 32, 32))
    assert model.path == tmp_path / "cifar10" / "Linf" / f"{SMALL}.pt"
    assert model.net is not net

    x, y = _data()
    with torch.no_grad():
        direct = net(x)
        wrapped = model(x)
    assert type(wrapped) is torch.Tensor and wrapped.shape == (8, 10)
    assert torch.equal(wrapped, direct)

    # The same PGD with the same seed gives the same adversarial examples; evaluate() agrees.
    step = default_step_size(EPS, 2)
    res_direct = attacks.pgd(
        net, x, y, EPS, step, 2, generator=torch.Generator().manual_seed(0), return_result=True
    )
    res_wrapped = attacks.pgd(
        model, x, y, EPS, step, 2, generator=torch.Generator().manual_seed(0), return_result=True
    )
    assert not torch.equal(res_direct.x_adv, x)
    assert torch.equal(res_wrapped.x_adv, res_direct.x_adv)
    assert torch.equal(res_wrapped.logits, res_direct.logits)
    assert not any(m.training for m in model.modules())

    table = evaluate(model, (x, y), ("nat", "pgd2"), eps=EPS, batch_size=8, seed=0)
    nat = 100.0 * float((direct.argmax(1) == y).double().mean())
    adv = 100.0 * float((res_direct.logits.argmax(1) == y).double().mean())
    assert table["value"].tolist() == pytest.approx([nat, adv], abs=1e-9)
    assert offline == []


def test_missing_checkpoint_is_one_line_error_without_network(
    tmp_path: Path, offline: list[str]
) -> None:
    with pytest.raises(FileNotFoundError) as info:
        zoo.load("Zhang2019Theoretically", model_dir=tmp_path)
    path = tmp_path / "cifar10" / "Linf" / "Zhang2019Theoretically.pt"
    assert str(info.value) == (
        f'{path} not found: run mailviz.zoo.load("Zhang2019Theoretically", dataset="cifar10", '
        f'threat_model="Linf", model_dir="{tmp_path}", download=True) on a machine with internet'
    )
    assert "\n" not in str(info.value)
    assert offline == [] and list(tmp_path.iterdir()) == []


def test_download_true_fetches_through_robustbench(
    tmp_path: Path, offline: list[str], monkeypatch
) -> None:
    rb = zoo._robustbench()
    net = _fresh_net(seed=5)
    fetched: list[tuple[str, Path]] = []

    def fake_download(gdrive_id: str, fname_save: Path) -> None:
        fetched.append((gdrive_id, Path(fname_save)))
        _write_checkpoint(net, Path(fname_save))

    monkeypatch.setattr(rb, "download_gdrive_new", fake_download)
    model = zoo.load(SMALL, model_dir=tmp_path, download=True)
    gdrive_id = zoo._registry("cifar10", "Linf")[SMALL]["gdrive_id"]
    assert fetched == [(gdrive_id, zoo.expected_path(SMALL, model_dir=tmp_path))]
    x, _ = _data(2)
    with torch.no_grad():
        assert torch.equal(model(x), net(x))
    zoo.load(SMALL, model_dir=tmp_path, download=True)  # present now: no second fetch
    assert len(fetched) == 1


def test_broken_checkpoints_give_one_line_errors(tmp_path: Path, offline: list[str]) -> None:
    path = zoo.expected_path(SMALL, model_dir=tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"<!DOCTYPE html><html>Google Drive - virus scan warning</html>")
    with pytest.raises(RuntimeError, match="is not a loadable PyTorch checkpoint") as info:
        zoo.load(SMALL, model_dir=tmp_path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    assert "HTML page" in str(info.value) and "download=True" in str(info.value)

    path.write_bytes(b"\x80\x02garbage that is no pickle")
    with pytest.raises(RuntimeError, match="is not a loadable PyTorch checkpoint") as info:
        zoo.load(SMALL, model_dir=tmp_path)
    assert "\n" not in str(info.value) and "HTML" not in str(info.value)

    torch.save({"state_dict": {"module.conv1.weight": torch.zeros(1)}}, path)
    with pytest.raises(RuntimeError, match="does not fit the architecture") as info:
        zoo.load(SMALL, model_dir=tmp_path)
    assert "\n" not in str(info.value) and "download=True" in str(info.value)

    torch.save({"state_dict": {}, "args": argparse.Namespace(lr=0.1)}, path)
    with pytest.raises(RuntimeError, match="holds Python objects besides tensors") as info:
        zoo.load(SMALL, model_dir=tmp_path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    assert "TORCH_FORCE" not in str(info.value) and "download=True" in str(info.value)

    full = tmp_path / "full.pt"
    _write_checkpoint(_fresh_net(), full)
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])  # an interrupted download
    with pytest.raises(RuntimeError, match="is not a loadable PyTorch checkpoint") as info:
        zoo.load(SMALL, model_dir=tmp_path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    assert "download=True" in str(info.value)
    assert offline == []


class _Payload:
    """Unpickling this object opens (creates) ``marker``: code a checkpoint must never run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("force_unsafe", ["", "1"])
def test_crafted_pickle_in_the_zoo_layout_never_executes(
    tmp_path: Path, offline: list[str], monkeypatch, force_unsafe: str
) -> None:
    """Acceptance (issue 14): whatever the environment says, zoo.load runs no code from a file."""
    if force_unsafe:
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", force_unsafe)
    else:
        monkeypatch.delenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", raising=False)
    marker = tmp_path / "pwned.txt"
    path = zoo.expected_path(SMALL, model_dir=tmp_path)
    path.parent.mkdir(parents=True)
    state = OrderedDict((f"module.{k}", v) for k, v in _fresh_net().state_dict().items())
    torch.save({"state_dict": state, "trap": _Payload(marker)}, path)
    for _ in range(2):  # also when the first refusal has been seen
        with pytest.raises(RuntimeError) as info:
            zoo.load(SMALL, model_dir=tmp_path)
        message = str(info.value)
        assert "\n" not in message and str(path) in message
        assert "nothing in it was executed" in message
        assert "TORCH_FORCE" not in message and "weights_only=False" not in message
    assert not marker.exists()
    assert offline == []
    if force_unsafe:  # the file is armed: a torch.load without weights_only (RobustBench's) runs it
        with pytest.warns(UserWarning, match="TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"):
            torch.load(path, map_location="cpu")["trap"].close()
        assert marker.exists()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(name="Zhang2019Theoretical"), "did you mean 'Zhang2019Theoretically'"),
        (dict(name=""), "name must be a RobustBench model ID"),
        (dict(name=SMALL, dataset="mnist"), "dataset must be one of"),
        (dict(name=SMALL, threat_model="L1"), "threat_model must be one of"),
        (dict(name=SMALL, download="yes"), "download must be True or False"),
        (dict(name=SMALL, model_dir=3), "model_dir must be a folder path"),
        (dict(name="Debenedetti2022Light_XCiT-S12"), "fetched by timm/torchvision"),
    ],
)
def test_bad_arguments_raise_one_line(
    kwargs: dict, match: str, tmp_path: Path, offline: list[str]
) -> None:
    kwargs.setdefault("model_dir", tmp_path)
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=match) as info:
        zoo.load(name, **kwargs)
    assert "\n" not in str(info.value)
    assert offline == []


def test_wrapper_returns_plain_logits() -> None:
    class Pair(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3 * 4 * 4, 10)

        def forward(self, x: torch.Tensor):
            logits = self.fc(x.flatten(1))
            return logits, x.mean()

    class Dict(Pair):
        def forward(self, x: torch.Tensor):
            return {"logits": super().forward(x)[0]}

    class Bad(Pair):
        def forward(self, x: torch.Tensor):
            return super().forward(x)[0].sum()

    x = torch.rand(5, 3, 4, 4)
    pair = Pair().train()
    model = zoo.ZooModel(pair, name="toy")
    assert not pair.training
    assert torch.equal(model(x), pair.fc(x.flatten(1)))
    assert type(zoo.ZooModel(Dict(), name="toy")(x)) is torch.Tensor
    with pytest.raises(TypeError, match="did not return logits"):
        zoo.ZooModel(Bad(), name="toy")(x)
    with pytest.raises(ValueError, match=r"expects images \[B, 3, H, W\]"):
        model(torch.rand(5, 1, 4, 4))
    # Attacks see an ordinary classifier on [0, 1] inputs.
    y = torch.arange(5)
    x_adv = attacks.pgd(model, x, y, EPS, EPS / 4, 3, generator=torch.Generator().manual_seed(0))
    assert (x_adv - x).abs().max() <= EPS + 1e-6 and 0 <= x_adv.min() and x_adv.max() <= 1


def test_reported_accuracy_from_installed_package() -> None:
    trades = zoo.reported_accuracy("Zhang2019Theoretically")
    assert trades is not None
    assert (trades["clean_acc"], trades["autoattack_acc"]) == (84.92, 53.08)
    assert trades["eps"] == pytest.approx(8 / 255)
    assert trades["architecture"] == "WideResNet-34-10"
    assert "robustbench" in trades["source"]
    mart = zoo.reported_accuracy("Wang2020Improving", "cifar10", "Linf")
    gairat = zoo.reported_accuracy("Zhang2020Geometry", "cifar10", "Linf")
    assert mart is not None and gairat is not None
    assert (mart["clean_acc"], mart["autoattack_acc"]) == (87.50, 56.29)
    assert (gairat["clean_acc"], gairat["autoattack_acc"]) == (89.36, 59.64)
    l2 = zoo.reported_accuracy(SMALL, "cifar10", "L2")
    assert l2 is not None and (l2["clean_acc"], l2["autoattack_acc"], l2["eps"]) == (
        89.76, 74.41, 0.5,
    )  # fmt: skip
    assert zoo.reported_accuracy("NoSuchModel2099") is None
    assert zoo.reported_accuracy("Zhang2019Theoretically", "cifar10", "corruptions_3d") is None


def test_reported_accuracy_prefers_shipped_model_info_json(tmp_path: Path, monkeypatch) -> None:
    info = tmp_path / "model_info" / "cifar10" / "Linf" / "Zhang2019Theoretically.json"
    info.parent.mkdir(parents=True)
    info.write_text(
        '{"clean_acc": "84.92", "autoattack_acc": "53.08", "external": "53.0",'
        ' "eps": "0.03137", "architecture": "WideResNet-34-10", "name": "TRADES"}'
    )
    monkeypatch.setattr(zoo.reported, "_robustbench_package_dir", lambda: tmp_path)
    got = zoo.reported_accuracy("Zhang2019Theoretically")
    assert got is not None
    assert (got["clean_acc"], got["autoattack_acc"], got["source"]) == (84.92, 53.0, str(info))


def test_default_models_are_in_the_zoo_with_known_methods() -> None:
    from mailviz.objectives import METHODS

    names = zoo.available_models("cifar10", "Linf")
    assert set(zoo.DEFAULT_MODELS) <= set(names)
    assert set(zoo.ZOO_METHODS) == set(zoo.DEFAULT_MODELS)
    assert set(zoo.ZOO_METHODS.values()) <= set(METHODS)
    assert all(zoo.reported_accuracy(n) is not None for n in zoo.DEFAULT_MODELS)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_load_to_cuda_matches_cpu(tmp_path: Path, offline: list[str]) -> None:
    net = _fresh_net()
    _write_checkpoint(net, zoo.expected_path(SMALL, model_dir=tmp_path))
    model = zoo.load(SMALL, model_dir=tmp_path, device="cuda")
    assert next(model.parameters()).device.type == "cuda"
    x, y = _data()
    with torch.no_grad():
        got = model(x.cuda()).cpu()
        want = net(x)
    torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-3)
    x_adv = attacks.pgd(model, x.cuda(), y.cuda(), EPS, EPS / 4, 2)
    assert (x_adv.cpu() - x).abs().max() <= EPS + 1e-6
