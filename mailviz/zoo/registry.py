"""RobustBench's model registry, offline: names, datasets, threat models, checkpoint paths."""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.metadata
import importlib.util
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from mailviz.paths import data_root

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
