"""Run folders and trained models: naming, errors, loading a finished run from the cache.

A run lives in ``<cache_dir>/<method>-<dataset>-<model>-<config_hash>/`` (:func:`run_dir`);
:func:`load_trained` returns its :class:`TrainedModel` when ``model.pt`` is there and matches the
config, :func:`load_model_file` reads any ``model.pt`` / ``checkpoint.pt`` / run folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor, nn

from mailviz import data, models
from mailviz.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_state_dict_checked,
)
from mailviz.config import (
    ExperimentConfig,
    config_hash,
    resolve_device,
)
from mailviz.training.schedule import _use_channels_last


class TrainingError(RuntimeError):
    """A run stopped for a reason the user can fix; the message is one line saying how."""


class NonFiniteLossError(TrainingError):
    """A training step met a NaN / inf loss; the run folder is removed (nothing is cached)."""


class RunBusyError(TrainingError):
    """Another process holds the run's lock and this one cannot wait for it (torchrun)."""


HISTORY_COLUMNS: tuple[str, ...] = (
    "epoch",
    "lr",
    "loss",
    "train_adv_acc",
    "weight_mean",
    "weight_std",
    "weight_min",
    "weight_max",
    "margin_mean",
    "kappa_mean",
    "nat_acc",
    "pgd_acc",
    "epoch_seconds",
    "eval_seconds",
)

_CHECKPOINT_FORMAT = "mailviz-checkpoint"
_MODEL_FORMAT = "mailviz-model"
_FORMAT_VERSION = 1


@dataclass
class TrainedModel:
    """A trained network with the config that produced it and its per-epoch history.

    Attributes:
        model: the network (eval mode, on the config's device).
        config: the :class:`ExperimentConfig` it was trained with.
        history: one row per epoch (columns :data:`HISTORY_COLUMNS`).
        path: the run directory (``None`` for a model not stored on disk).
        from_cache: True when the weights were loaded from ``model.pt`` instead of trained.
        world_size: number of processes that trained it (batch size is per process).
    """

    model: nn.Module
    config: ExperimentConfig
    history: pd.DataFrame
    path: Path | None
    from_cache: bool = False
    world_size: int = 1

    def _last(self, column: str) -> float:
        if self.history.empty or column not in self.history:
            return float("nan")
        return float(self.history[column].iloc[-1])

    @property
    def nat_acc(self) -> float:
        """Held-out clean accuracy after the last epoch (%)."""
        return self._last("nat_acc")

    @property
    def pgd_acc(self) -> float:
        """Held-out PGD-``eval_steps`` accuracy after the last epoch (%)."""
        return self._last("pgd_acc")

    def __repr__(self) -> str:
        where = f", path={str(self.path)!r}" if self.path is not None else ""
        return (
            f"TrainedModel(method={self.config.method!r}, dataset={self.config.dataset!r}, "
            f"model={self.config.model!r}, epochs={len(self.history)}, "
            f"nat_acc={self.nat_acc:.2f}, pgd_acc={self.pgd_acc:.2f}, "
            f"from_cache={self.from_cache}{where})"
        )


# ------------------------------------------------------------------------------------------
# names and folders


def run_name(config: ExperimentConfig) -> str:
    """``<method>-<dataset>-<model>-<config_hash>``, the run's folder name."""
    return f"{config.method}-{config.dataset}-{config.model}-{config_hash(config)}"


def _default_cache_dir() -> Path:
    from mailviz.paths import cache_root

    return cache_root()


def _default_data_root() -> Path:
    from mailviz.paths import data_root

    return data_root()


def run_dir(config: ExperimentConfig, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The run directory of ``config`` under ``cache_dir`` (default ``mailviz.paths.cache_root()``,
    i.e. ``$MAILVIZ_CACHE`` or ``<project>/data/cache``)."""
    root = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    return root / run_name(config)


# ------------------------------------------------------------------------------------------
# model / schedule helpers


def build_model_for(config: ExperimentConfig) -> nn.Module:
    """A freshly initialised ``config.model`` shaped for ``config.dataset`` (global torch RNG).

    Example:
        >>> from mailviz.config import get_profile
        >>> build_model_for(get_profile("smoke"))(torch.rand(2, 1, 8, 8)).shape
        torch.Size([2, 10])
    """
    info = data.dataset_info(config.dataset)
    shape = tuple(info["input_shape"])
    if len(shape) == 1:
        return models.build_model(config.model, info["num_classes"], shape[0])
    return models.build_model(config.model, info["num_classes"], shape[0], input_size=shape[1])


# ------------------------------------------------------------------------------------------
# files


def _history_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    if not frame.empty:
        frame["epoch"] = frame["epoch"].astype(int)
    return frame


def _cpu_state(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def _place(model: nn.Module, device: torch.device, channels_last: bool) -> nn.Module:
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def _model_from_payload(
    payload: dict[str, Any], config: ExperimentConfig, source: Path, device: torch.device
) -> nn.Module:
    model = build_model_for(config)
    key = "state_dict" if "state_dict" in payload else "model"
    if key not in payload:
        raise CheckpointError(
            f"{source} has no model weights (keys {sorted(payload)}); delete it and retrain"
        )
    load_state_dict_checked(model, payload[key], what="model", source=source)
    model = _place(model, device, _use_channels_last(config, device))
    return model.eval()


def load_trained(
    config: ExperimentConfig, cache_dir: str | os.PathLike[str] | None = None
) -> TrainedModel | None:
    """The finished run of ``config`` from the cache, or ``None`` if it was never completed.

    Example:
        >>> from mailviz.config import get_profile
        >>> load_trained(get_profile("smoke"), cache_dir="/nonexistent") is None
        True
    """
    folder = run_dir(config, cache_dir)
    file = folder / "model.pt"
    if not file.exists():
        return None
    payload = load_checkpoint(file, required=("state_dict",))
    device = resolve_device(config.device)
    model = _model_from_payload(payload, config, file, device)
    return TrainedModel(
        model=model,
        config=config,
        history=_history_frame(payload.get("history", [])),
        path=folder,
        from_cache=True,
        world_size=int(payload.get("world_size", 1)),
    )


def _read_config_json(path: Path) -> Any:
    """``json.loads`` of a run's config.json; a damaged file is one line naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(
            f"{path} is not valid JSON ({err}); it was damaged — delete the run folder "
            f"{path.parent} and retrain"
        ) from None


def load_model_file(
    path: str | os.PathLike[str], *, device: str | torch.device | None = None
) -> TrainedModel:
    """Rebuild a model from a run directory, its ``model.pt`` or its ``checkpoint.pt``.

    The architecture comes from the config stored in the file (or ``config.json`` beside it);
    a ``checkpoint.pt`` of an unfinished run gives the weights after its last finished epoch.
    ``device`` defaults to the stored config's (``"auto"``).

    Raises:
        CheckpointError: missing / damaged / foreign file, or weights that do not fit.

    Example:
        >>> load_model_file("/nonexistent/run")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mailviz.checkpoint.CheckpointError: no checkpoint at /nonexistent/run/model.pt; ...
    """
    p = Path(os.fspath(path))
    if p.is_dir() or (not p.exists() and p.suffix != ".pt"):
        folder = p
        file = p / "model.pt"
        if not file.exists() and (p / "checkpoint.pt").exists():
            file = p / "checkpoint.pt"
    else:
        folder, file = p.parent, p
    payload = load_checkpoint(file)
    cfg_dict = payload.get("config")
    if cfg_dict is None and (folder / "config.json").exists():
        cfg_dict = _read_config_json(folder / "config.json")
    if not isinstance(cfg_dict, dict):
        raise CheckpointError(
            f"{file} carries no config and there is no config.json beside it; cannot rebuild "
            "the model — retrain with mailviz train"
        )
    try:
        config = ExperimentConfig.from_dict(cfg_dict)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{file}: stored config is not valid here ({err})") from None
    if device is not None:
        config = config.replace(device=str(device))
    model = _model_from_payload(payload, config, file, resolve_device(config.device))
    return TrainedModel(
        model=model,
        config=config,
        history=_history_frame(payload.get("history", [])),
        path=folder,
        from_cache=True,
        world_size=int(payload.get("world_size", 1)),
    )
