"""Published robust models (RobustBench model zoo), wrapped for every mailviz attack and metric.

Researchers' robust checkpoints (TRADES, MART, GAIRAT, …) live in RobustBench. :func:`load`
builds one through RobustBench's own loader (``robustbench.utils.load_model``) from a local
folder and wraps it in :class:`ZooModel`, so that :mod:`mailviz.attacks` and
:mod:`mailviz.evaluate` use it exactly like a model trained here::

    f_zoo(x) = logits of net(x),   x ∈ [0, 1]^{B×3×H×W}

RobustBench models take inputs in [0, 1] and normalise internally (``(x − μ)/σ`` is a layer of
the network), which is the mailviz convention, so the wrapper adds no preprocessing: it only
returns plain logits ``[B, classes]`` (a tuple or ``.logits`` output is reduced to its logits),
starts in eval mode and checks the input shape. ImageNet entries additionally expect the
resize/crop named in :attr:`ZooModel.preprocessing` on the data side.

Optional extra: ``pip install "mailviz[zoo]"`` (robustbench 1.1, setuptools < 81).

On-disk layout (RobustBench's own): ``<model_dir>/<dataset>/<threat_model>/<name>.pt``, where
``model_dir`` defaults to ``<data root>/robustbench`` (:func:`mailviz.paths.data_root`), e.g.
``data/robustbench/cifar10/Linf/Zhang2019Theoretically.pt``. Ensembles are stored as
``<name>.pt_m0.pt``, ``<name>.pt_m1.pt``, …; ``corruptions_3d`` models share the
``corruptions`` folder. A file is a ``torch.save``'d dict with the weights under
``"state_dict"`` (or the bare state dict); ``module.`` / ``model.`` key prefixes are stripped.

Offline by default: nothing is downloaded unless ``download=True``. :func:`load` checks the
expected files itself before RobustBench can start a Google-Drive download, and a missing file
raises one line naming the path and the call that fetches it. Entries whose weights are not
files in ``model_dir`` (timm-hosted XCiT/DeiT/AlexNet, torchvision's ``Standard_R50``) need
``download=True``: timm or torchvision then fetch them into their own caches.

Why there is an import shim: robustbench imports fra31's AutoAttack as ``autoattack``
(``from autoattack import AutoAttack``; ``from autoattack.state import EvaluationState``), but the
same code is installed from PyPI as ``pyautoattack`` (module ``pyautoattack``), which mailviz
already uses. When ``autoattack`` is not importable, :func:`_alias_autoattack` registers
``autoattack`` and its submodules in ``sys.modules`` as aliases of ``pyautoattack``'s before
robustbench is imported. Importing robustbench imports timm, gdown and requests but does not touch
the network.

Example:
    >>> from mailviz import evaluate, zoo
    >>> model = zoo.load("Zhang2019Theoretically")  # doctest: +SKIP
    >>> evaluate.evaluate(model, test, ("nat", "pgd20"), eps=8 / 255)  # doctest: +SKIP
    >>> zoo.reported_accuracy("Zhang2019Theoretically")["autoattack_acc"]
    53.08
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import importlib
import importlib.metadata
import importlib.util
import json
import os
import re
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import Tensor, nn

from mailviz.checkpoint import UnreadableCheckpoint, read_weights_only
from mailviz.paths import data_root

__all__ = [
    "DATASETS",
    "THREAT_MODELS",
    "DEFAULT_MODELS",
    "ZOO_METHODS",
    "ZooModel",
    "available_models",
    "checkpoint_files",
    "expected_path",
    "load",
    "reported_accuracy",
]

#: RobustBench's datasets (``robustbench.model_zoo.enums.BenchmarkDataset`` values).
DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "imagenet")
#: RobustBench's threat models (``ThreatModel`` values).
THREAT_MODELS: tuple[str, ...] = ("Linf", "L2", "corruptions", "corruptions_3d")

#: The published checkpoints of the methods the notebooks compare with (CIFAR-10, L∞ 8/255):
#: TRADES (Zhang et al., 2019, WRN-34-10), MART (Wang et al., 2020, WRN-28-10) and
#: GAIRAT (Zhang et al., 2021, WRN-28-10).
DEFAULT_MODELS: tuple[str, ...] = (
    "Zhang2019Theoretically",
    "Wang2020Improving",
    "Zhang2020Geometry",
)
#: The :data:`mailviz.objectives.METHODS` name of the training method behind each default model.
ZOO_METHODS: dict[str, str] = {
    "Zhang2019Theoretically": "trades",
    "Wang2020Improving": "mart",
    "Zhang2020Geometry": "gairat",
}

_NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet": 1000}
_INPUT_SHAPE = {"cifar10": (3, 32, 32), "cifar100": (3, 32, 32), "imagenet": (3, 224, 224)}
#: pyautoattack's PyTorch submodules (its ``utils_tf*``/``fab_tf`` need TensorFlow: not aliased).
_AUTOATTACK_SUBMODULES = (
    "other_utils", "checks", "state", "autopgd_base", "fab_projections", "fab_base", "fab_pt",
    "square", "autoattack",
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(
            f"name must be a RobustBench model ID such as 'Zhang2019Theoretically', got {name!r}"
        )
    return name


def _canonical(dataset: object, threat_model: object) -> tuple[str, str]:
    """``("CIFAR10", "linf")`` → ``("cifar10", "Linf")``; unknown values raise one line."""
    ds = dataset.lower().replace("-", "") if isinstance(dataset, str) else None
    if ds not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    by_lower = {t.lower(): t for t in THREAT_MODELS}
    tm = by_lower.get(threat_model.lower()) if isinstance(threat_model, str) else None
    if tm is None:
        raise ValueError(f"threat_model must be one of {THREAT_MODELS}, got {threat_model!r}")
    return ds, tm


def _root(model_dir: str | Path | None) -> Path:
    if model_dir is None:
        return data_root() / "robustbench"
    if not isinstance(model_dir, (str, Path)) or str(model_dir) == "":
        raise ValueError(
            f"model_dir must be a folder path (None: <data root>/robustbench), got {model_dir!r}"
        )
    return Path(model_dir)


# --------------------------------------------------------------------------------------------
# Importing robustbench
# --------------------------------------------------------------------------------------------


def _alias_autoattack() -> None:
    """Make ``import autoattack`` resolve to ``pyautoattack`` when fra31's package is absent.

    robustbench (``robustbench/eval.py``) imports ``autoattack.AutoAttack`` and
    ``autoattack.state.EvaluationState``; PyPI ships that code as ``pyautoattack``. The package
    and each PyTorch submodule are registered under the ``autoattack`` name, so both spellings
    refer to the same module objects. An installed ``autoattack`` is left untouched.
    """
    if "autoattack" in sys.modules or importlib.util.find_spec("autoattack") is not None:
        return
    package = importlib.import_module("pyautoattack")
    aliases = {"autoattack": package}
    for sub in _AUTOATTACK_SUBMODULES:
        aliases[f"autoattack.{sub}"] = importlib.import_module(f"pyautoattack.{sub}")
    for key, module in aliases.items():
        sys.modules.setdefault(key, module)


@functools.cache
def _robustbench() -> ModuleType:
    """``robustbench.utils`` (imported once, after the ``autoattack`` alias)."""
    if importlib.util.find_spec("robustbench") is None:
        raise ImportError(
            "mailviz.zoo needs RobustBench: pip install 'mailviz[zoo]' "
            "(robustbench>=1.1 and setuptools<81)"
        )
    _alias_autoattack()
    with warnings.catch_warnings():
        # robustbench 1.1.1 imports pkg_resources; torch warns about its jit.interface use.
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        warnings.filterwarnings(
            "ignore", message=r".*torch\.jit\.interface", category=FutureWarning
        )
        # robustbench's architectures import timm's pre-1.0 module paths.
        warnings.filterwarnings(
            "ignore", message=r"Importing from timm\.", category=DeprecationWarning
        )
        return importlib.import_module("robustbench.utils")


def _registry(dataset: str, threat_model: str) -> Mapping[str, dict[str, Any]]:
    """RobustBench's ``model_dicts[dataset][threat_model]``: model ID → entry dict."""
    rb = _robustbench()
    from robustbench.model_zoo.enums import BenchmarkDataset, ThreatModel

    return rb.all_models[BenchmarkDataset(dataset)][ThreatModel(threat_model)]


def available_models(dataset: str = "cifar10", threat_model: str = "Linf") -> list[str]:
    """RobustBench model IDs for ``dataset`` / ``threat_model``, in the zoo's order.

    Example:
        >>> "Zhang2019Theoretically" in available_models("cifar10", "Linf")  # doctest: +SKIP
        True
    """
    ds, tm = _canonical(dataset, threat_model)
    return list(_registry(ds, tm))


def _entry(name: str, dataset: str, threat_model: str) -> dict[str, Any]:
    models = _registry(dataset, threat_model)
    if name not in models:
        close = difflib.get_close_matches(name, list(models), n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}?" if close else "no close match"
        raise ValueError(
            f"{name!r} is not a RobustBench {dataset}/{threat_model} model ({hint}); "
            f"see mailviz.zoo.available_models({dataset!r}, {threat_model!r})"
        )
    return models[name]


def _hosted_elsewhere(name: str, dataset: str, threat_model: str, entry: dict[str, Any]) -> bool:
    """True for entries whose weights are not files in ``model_dir`` (timm / torchvision)."""
    import timm

    tm = threat_model.replace("_3d", "")
    timm_name = f"{name.lower().replace('-', '_')}_{dataset}_{tm.lower()}"
    return (
        bool(timm.is_model(timm_name))
        or not entry.get("gdrive_id")
        or (dataset == "imagenet" and "Standard" in name)
    )


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def checkpoint_files(
    name: str,
    dataset: str = "cifar10",
    threat_model: str = "Linf",
    model_dir: str | Path | None = None,
) -> list[Path]:
    """Every file RobustBench reads for ``name``: ``[<name>.pt]``, or the ensemble members.

    Ensembles (several checkpoints per entry) are ``<name>.pt_m0.pt``, ``<name>.pt_m1.pt``, …
    Entries served by timm or torchvision have no file in ``model_dir``: ``[]``.

    Example:
        >>> checkpoint_files("Zhang2019Theoretically", model_dir="models")  # doctest: +SKIP
        [PosixPath('models/cifar10/Linf/Zhang2019Theoretically.pt')]
    """
    path = expected_path(name, dataset, threat_model, model_dir)
    ds, tm = _canonical(dataset, threat_model)
    entry = _entry(name, ds, tm)
    if _hosted_elsewhere(name, ds, tm, entry):
        return []
    ids = entry["gdrive_id"]
    if isinstance(ids, list):
        return [Path(f"{path}_m{i}.pt") for i in range(len(ids))]
    return [path]


def expected_path(
    name: str,
    dataset: str = "cifar10",
    threat_model: str = "Linf",
    model_dir: str | Path | None = None,
) -> Path:
    """Where RobustBench's ``load_model`` reads (and downloads) the checkpoint of ``name``.

    ``<model_dir>/<dataset>/<threat_model>/<name>.pt`` (``corruptions_3d`` → ``corruptions``);
    ensemble members add ``_m<i>.pt`` to this path (:func:`checkpoint_files` lists them).

    Example:
        >>> expected_path("Zhang2020Geometry", "cifar10", "Linf", "models")  # doctest: +SKIP
        PosixPath('models/cifar10/Linf/Zhang2020Geometry.pt')
    """
    name = _check_name(name)
    ds, tm = _canonical(dataset, threat_model)
    root = _root(model_dir)
    _entry(name, ds, tm)
    return root / ds / tm.replace("_3d", "") / f"{name}.pt"


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


# --------------------------------------------------------------------------------------------
# Reported accuracies
# --------------------------------------------------------------------------------------------

_TABLE_DATASETS = {"CIFAR-10": "cifar10", "CIFAR-100": "cifar100", "ImageNet": "imagenet"}
_ACC_FIELD = {"Linf": "autoattack_acc", "L2": "autoattack_acc", "corruptions": "corruptions_acc"}
_CELL_MARKUP = re.compile(r"</?su[bp]>|\*")
_LINK = re.compile(r"^\[(?P<title>.*)\]\((?P<link>[^)]*)\)$")


def _robustbench_package_dir() -> Path | None:
    spec = importlib.util.find_spec("robustbench")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _parse_eps(heading: str) -> float | None:
    match = re.search(r"eps\s*=\s*([0-9.]+)(?:\s*/\s*([0-9.]+))?", heading)
    if match is None:
        return None
    value = float(match.group(1))
    return value / float(match.group(2)) if match.group(2) else value


def _percent(cell: str) -> float:
    return float(cell.rstrip("%"))


@functools.cache
def _readme_tables() -> dict[tuple[str, str, str], dict[str, Any]]:
    """The Model Zoo tables of the README shipped in robustbench's package metadata."""
    try:
        dist = importlib.metadata.distribution("robustbench")
    except importlib.metadata.PackageNotFoundError:
        return {}
    text = dist.read_text("METADATA") or ""
    version = dist.version
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    dataset: str | None = None
    threat: str | None = None
    eps: float | None = None
    for line in text.splitlines():
        if line.startswith(("# ", "## ", "### ")):
            title = line.lstrip("#").strip()
            dataset = _TABLE_DATASETS.get(title) if line.startswith("### ") else None
            threat = None
        elif line.startswith("#### ") and dataset is not None:
            heading = line[5:].strip()
            if heading.startswith("Linf"):
                threat = "Linf"
            elif heading.startswith("L2"):
                threat = "L2"
            elif "Corruptions" in heading:
                threat = "corruptions"
            else:
                threat = None
            eps = _parse_eps(heading)
        elif line.startswith("|") and dataset is not None and threat is not None:
            cells = [_CELL_MARKUP.sub("", c).strip() for c in line.strip().strip("|").split("|")]
            if len(cells) != 7 or not cells[3].endswith("%"):
                continue  # header or separator row
            paper = _LINK.match(cells[2])
            rows[(dataset, threat, cells[1])] = {
                "name": cells[1],
                "dataset": dataset,
                "threat_model": threat,
                "eps": eps,
                "clean_acc": _percent(cells[3]),
                _ACC_FIELD[threat]: _percent(cells[4]),
                "architecture": cells[5],
                "venue": cells[6],
                "paper": paper.group("title") if paper else cells[2],
                "link": paper.group("link") if paper else None,
                "source": f"robustbench {version} README (Model Zoo table in the package metadata)",
            }
    return rows


def _from_json(path: Path, name: str, dataset: str, threat_model: str) -> dict[str, Any]:
    info = json.loads(path.read_text())
    field = _ACC_FIELD[threat_model]
    robust = info.get("external", info.get(field)) if field == "autoattack_acc" else info.get(field)
    return {
        "name": name,
        "dataset": dataset,
        "threat_model": threat_model,
        "eps": None if info.get("eps") is None else float(info["eps"]),
        "clean_acc": None if info.get("clean_acc") is None else float(info["clean_acc"]),
        field: None if robust is None else float(robust),
        "architecture": info.get("architecture"),
        "venue": info.get("venue"),
        "paper": info.get("name"),
        "link": info.get("link"),
        "source": str(path),
    }


def reported_accuracy(
    name: str, dataset: str = "cifar10", threat_model: str = "Linf"
) -> dict[str, Any] | None:
    """Clean and robust accuracy (%) of a zoo entry as RobustBench reports them.

    Read from the installed package only (no network): a ``model_info/<dataset>/<threat>/
    <name>.json`` inside the robustbench package if one is shipped (robustbench 1.1.1 ships
    none), else the Model Zoo tables of RobustBench's README, which the wheel carries as its
    package description (``robustbench-*.dist-info/METADATA``). The robust accuracy is
    AutoAttack's (``"autoattack_acc"``; RobustBench's ``external`` evaluation when it differs)
    for ``Linf``/``L2`` and the corruption accuracy (``"corruptions_acc"``) for
    ``corruptions``.

    Returns:
        ``{"name", "dataset", "threat_model", "eps", "clean_acc", "autoattack_acc" |
        "corruptions_acc", "architecture", "venue", "paper", "link", "source"}`` with accuracies
        in percent, or ``None`` when the installed package lists no number for the entry (and
        always for ``corruptions_3d``, which the tables do not separate).

    Example:
        >>> reported_accuracy("Zhang2019Theoretically")["clean_acc"]
        84.92
    """
    name = _check_name(name)
    ds, tm = _canonical(dataset, threat_model)
    if tm == "corruptions_3d":
        return None
    package = _robustbench_package_dir()
    if package is not None:
        path = package / "model_info" / ds / tm / f"{name}.json"
        if path.is_file():
            return _from_json(path, name, ds, tm)
    row = _readme_tables().get((ds, tm, name))
    return None if row is None else dict(row)
