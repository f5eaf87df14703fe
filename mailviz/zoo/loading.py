"""Loading a RobustBench model offline and weights-only, wrapped for every mailviz attack."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import Tensor, nn

from mailviz.checkpoint import UnreadableCheckpoint, read_weights_only
from mailviz.zoo.registry import (
    _INPUT_SHAPE,
    _NUM_CLASSES,
    _canonical,
    _check_name,
    _entry,
    _robustbench,
    _root,
    checkpoint_files,
)


def _fetch_command(name: str, dataset: str, threat_model: str, root: Path) -> str:
    return (
        f'mailviz.zoo.load("{name}", dataset="{dataset}", threat_model="{threat_model}", '
        f'model_dir="{root}", download=True)'
    )


def _read_zoo_file(path: Path, fetch: str) -> Any:
    """A zoo checkpoint through mailviz's weights-only loader; one line with the path and the
    command that fetches a good copy otherwise (nothing in a refused file is executed)."""
    try:
        return read_weights_only(path, "cpu")
    except UnreadableCheckpoint as err:
        if err.unsafe is not None:
            raise RuntimeError(
                f"{path} holds Python objects besides tensors ({err.unsafe}); mailviz reads zoo "
                "files with torch.load(weights_only=True) only, so nothing in it was executed — "
                f"delete it and run {fetch}, or keep only its state_dict (tensors) in the file"
            ) from None
        reason = err.reason
        if reason.startswith("an HTML page"):
            reason = "an HTML page, as a failed Google-Drive download leaves"
        raise RuntimeError(
            f"{path} is not a loadable PyTorch checkpoint ({reason}): delete it and run {fetch}"
        ) from None


class _WeightsOnlyTorch(ModuleType):
    """``torch`` as RobustBench's loader sees it: ``load`` hands back the files mailviz has
    already read (weights only); anything else is read weights-only too. Every other attribute
    is torch's own."""

    def __init__(self, preloaded: dict[str, Any]) -> None:
        super().__init__("torch")
        self._preloaded = preloaded

    def __getattr__(self, name: str) -> Any:
        return getattr(torch, name)

    def load(self, f: Any, map_location: Any = None, **_: Any) -> Any:
        key = str(Path(os.fspath(f))) if isinstance(f, (str, os.PathLike)) else None
        if key is not None and key in self._preloaded:
            return self._preloaded[key]
        return read_weights_only(f, map_location)


@contextlib.contextmanager
def _weights_only_robustbench(rb: ModuleType, preloaded: dict[str, Any]) -> Iterator[None]:
    """Route ``robustbench.utils``' ``torch.load`` (no ``weights_only``: unsafe under
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``) to mailviz's weights-only reader while it runs."""
    real = rb.torch
    rb.torch = _WeightsOnlyTorch(preloaded)
    try:
        yield
    finally:
        rb.torch = real


def _first_line(err: BaseException) -> str:
    """The first two non-empty lines of an error (a state-dict error's title; its cause)."""
    lines = [s.strip() for s in str(err).splitlines() if s.strip()]
    text = " ".join(lines[:2]) if lines else type(err).__name__
    return text if len(text) <= 200 else text[:199] + "…"


# --------------------------------------------------------------------------------------------
# The wrapper
# --------------------------------------------------------------------------------------------


class ZooModel(nn.Module):
    """A RobustBench network as a mailviz classifier: ``f(x) = logits(net(x))`` on x ∈ [0, 1].

    The network normalises internally, so inputs are images in [0, 1] like every mailviz model.
    The output is reduced to a plain logits tensor: a tuple/list gives its first element, a
    mapping its ``"logits"`` entry, an object its ``.logits`` attribute.

    Shape:
        x: ``[B, 3, H, W]`` float in [0, 1] (CIFAR: H = W = 32) → logits ``[B, num_classes]``.

    Attributes:
        net: the RobustBench ``nn.Module``. name, dataset, threat_model: the zoo entry.
        num_classes, input_shape: 10/100/1000 and ``(3, 32, 32)`` / ``(3, 224, 224)``.
        path: checkpoint file read (``None`` for timm/torchvision-hosted entries).
        preprocessing: RobustBench's data-side preprocessing name (ImageNet), else ``None``.

    Example:
        >>> model = ZooModel(net, name="Zhang2019Theoretically")  # doctest: +SKIP
        >>> model(torch.rand(8, 3, 32, 32)).shape  # doctest: +SKIP
        torch.Size([8, 10])
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        name: str,
        dataset: str = "cifar10",
        threat_model: str = "Linf",
        path: Path | None = None,
        preprocessing: str | None = None,
    ) -> None:
        if not isinstance(net, nn.Module):
            raise ValueError(f"net must be an nn.Module, got {type(net).__name__}")
        ds, tm = _canonical(dataset, threat_model)
        super().__init__()
        self.net = net
        self.name = _check_name(name)
        self.dataset = ds
        self.threat_model = tm
        self.num_classes = _NUM_CLASSES[ds]
        self.input_shape = _INPUT_SHAPE[ds]
        self.path = path
        self.preprocessing = preprocessing
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] != self.input_shape[0]:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(
                f"{self.name} expects images [B, {self.input_shape[0]}, H, W] in [0, 1], got {got}"
            )
        return _logits(self.net(x), x.shape[0], self.name)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, dataset={self.dataset!r}, threat_model={self.threat_model!r}"


def _logits(out: Any, batch: int, name: str) -> Tensor:
    """The logits tensor inside a network's output (tensor, tuple, mapping or ``.logits``)."""
    if isinstance(out, (tuple, list)) and out:
        out = out[0]
    elif isinstance(out, Mapping) and "logits" in out:
        out = out["logits"]
    elif not isinstance(out, Tensor) and isinstance(getattr(out, "logits", None), Tensor):
        out = out.logits
    if not isinstance(out, Tensor) or out.dim() != 2 or out.shape[0] != batch:
        got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise TypeError(f"{name} did not return logits [B={batch}, classes]: got {got}")
    return out


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load(
    name: str,
    *,
    dataset: str = "cifar10",
    threat_model: str = "Linf",
    model_dir: str | Path | None = None,
    download: bool = False,
    device: str | torch.device = "cpu",
) -> ZooModel:
    """Load a RobustBench model through ``robustbench.utils.load_model`` and wrap it.

    Every checkpoint file is read by mailviz's own ``torch.load(..., weights_only=True)``
    (:func:`mailviz.checkpoint.read_weights_only`) before RobustBench builds the network, and
    RobustBench's own ``torch.load`` (which passes no ``weights_only`` and so becomes unsafe
    under ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``) is routed to that reader: a file that holds
    code is refused and never executed, whatever the environment says.

    The returned model computes ``f(x) = logits(net(x))`` for x ∈ [0, 1] (normalisation inside
    ``net``), is in eval mode on ``device``, and works with every mailviz attack and metric.

    Args:
        name: RobustBench model ID, e.g. ``"Zhang2019Theoretically"`` (:data:`DEFAULT_MODELS`,
            :func:`available_models`).
        dataset: ``"cifar10"``, ``"cifar100"`` or ``"imagenet"``.
        threat_model: ``"Linf"``, ``"L2"``, ``"corruptions"`` or ``"corruptions_3d"``.
        model_dir: RobustBench's model folder; ``None`` → ``<data root>/robustbench``.
        download: fetch a missing checkpoint (Google Drive via gdown; timm/torchvision for the
            entries they host). ``False``: never touch the network.
        device: where the model goes (``"auto"``, ``"cpu"``, ``"cuda"``, …).

    Returns:
        :class:`ZooModel` around the network, eval mode, on ``device``.

    Raises:
        FileNotFoundError: ``download=False`` and a checkpoint file is missing (one line with the
            path and the call that fetches it).
        RuntimeError: the file exists but is not a loadable checkpoint for ``name`` (an HTML page
            saved by a failed Google-Drive download, a truncated file, another architecture's
            weights, or pickled objects that ``torch.load(weights_only=True)`` refuses — never
            executed); one line with the path and the call that fetches a good copy.

    Shape:
        model(x): ``[B, 3, H, W]`` → ``[B, num_classes]``.

    Example:
        >>> model = load("Zhang2019Theoretically", model_dir="data/robustbench")  # doctest: +SKIP
        >>> attacks.pgd(model, x, y, eps=8 / 255, step_size=2 / 255, steps=10)  # doctest: +SKIP
    """
    from mailviz.config import resolve_device

    name = _check_name(name)
    ds, tm = _canonical(dataset, threat_model)
    root = _root(model_dir)
    if not isinstance(download, bool):
        raise ValueError(f"download must be True or False, got {download!r}")
    dev = resolve_device(device)
    rb = _robustbench()
    entry = _entry(name, ds, tm)
    files = checkpoint_files(name, ds, tm, root)
    fetch = _fetch_command(name, ds, tm, root)
    if not download:
        if not files:
            raise ValueError(
                f"{name} ({ds}/{tm}) is fetched by timm/torchvision into their own cache, not "
                f"model_dir: run {fetch} on a machine with internet"
            )
        for path in files:
            if not path.is_file():
                raise FileNotFoundError(f"{path} not found: run {fetch} on a machine with internet")
    if download:  # fetch what is missing ourselves, so every file is read by the loader below
        for i, path in enumerate(files):
            if not path.is_file():
                ids = entry["gdrive_id"]
                path.parent.mkdir(parents=True, exist_ok=True)
                rb.download_gdrive_new(ids[i] if isinstance(ids, list) else ids, path)
    path = files[0] if files else None
    preloaded = {str(p): _read_zoo_file(p, fetch) for p in files}
    try:
        with _weights_only_robustbench(rb, preloaded):
            net = rb.load_model(name, model_dir=str(root), dataset=ds, threat_model=tm)
    except RuntimeError as err:
        if "loading state_dict" not in str(err):
            raise
        raise RuntimeError(
            f"{path} does not fit the architecture of {name} ({_first_line(err)}): "
            f"delete it and run {fetch}"
        ) from err
    model = ZooModel(
        net, name=name, dataset=ds, threat_model=tm, path=path,
        preprocessing=entry.get("preprocessing"),
    )  # fmt: skip
    return model.to(dev).eval()
