r"""The training loop: SGD, LR schedules, burn-in, history, cache, crash-safe resume, DDP.

One call trains (or loads) the model an :class:`~mailviz.config.ExperimentConfig` describes::

    from mailviz.config import get_profile
    from mailviz.train import train
    run = train(get_profile("quick", method="mail_trades"))
    run.model, run.history.tail(), run.path

Each epoch ``e`` (0-based; the objective uses it for burn-in) minimises the method's loss
``L(θ) = (1/B) Σ_i ω_i ℓ(f_θ(x_i'), y_i)`` (MAIL Alg. 2–4; Zeng et al. eq. 7; the objective
builds x' with the inner maximisation and ω) with SGD

    v ← μ·v + (∇L + λ·θ),   θ ← θ − η_e·v          (Nesterov: θ ← θ − η_e·(∇L + λθ + μ·v))

and the learning rate ``η_e = lr · s(e)``, stepped once per epoch:
``constant`` s = 1; ``multistep`` s = decay^{#{m ∈ milestones : m ≤ e}} (×0.1 at 75, 90, 100 in
the paper profile: epochs 0–74 use lr); ``cosine`` s = ½(1 + cos(π e / epochs)).

Run directory ``<cache_dir>/<method>-<dataset>-<model>-<config_hash>/``:

==================  ======================================================================
``config.json``     the config (``ExperimentConfig.to_dict()``), written when training starts
``history.csv``     one row per finished epoch (see below), rewritten every epoch
``checkpoint.pt``   model, optimizer, LR schedule, grad scaler, objective state, history and
                    every RNG state, written atomically after every epoch (resume point)
``model.pt``        final weights + config + history, written once training completes
                    (``checkpoint.pt`` is deleted then: ``model.pt`` supersedes it)
==================  ======================================================================

History columns: ``epoch`` (1-based count of finished epochs), ``lr``, ``loss`` (mean training
loss), ``train_adv_acc`` (accuracy on the training adversarial examples, from the objective's
``stats["correct"]``), ``weight_mean``/``weight_std``/``weight_min``/``weight_max`` (of the
per-example weights ω actually used, over the epoch), ``margin_mean`` (mean PM of x'),
``kappa_mean`` (GAIRAT's κ; NaN for other methods), ``nat_acc`` and ``pgd_acc`` (held-out clean
and PGD-``eval_steps`` accuracy with step ``effective_eval_step_size`` on the test split or its
first ``eval_subset`` examples), ``epoch_seconds`` (training time) and ``eval_seconds``.
Accuracies are percentages in [0, 100], as in :mod:`mailviz.evaluate`.

Cache and resume. ``config_hash`` ignores device and profile, so the same experiment maps to
the same folder on every machine; a thread count other than 1 (or None) is part of the key,
because on the CPU it changes the weights. With ``use_cache=True`` a finished run (``model.pt``)
is loaded instead of trained. With ``resume=True`` an unfinished run continues after the last
finished epoch in ``checkpoint.pt``; every RNG stream is restored, so on the CPU the resumed run
ends with weights bit-identical to an uninterrupted one (a kill mid-epoch loses that epoch).
The thread count in force is recorded in ``checkpoint.pt`` and ``model.pt``; a CPU run whose
checkpoint was written at another count is not resumed (one line: resume with
``threads=<recorded>`` or start over with ``resume=False``). ``checkpoint.pt`` is written before
``history.csv``, so the history never runs ahead of the resume point.

Nothing half-written stays behind. Every file goes through :func:`mailviz.checkpoint.atomic_write`
(temporary files of a killed writer are removed by the next run, and by a run that finishes).
A training step whose loss is NaN or inf stops the run with :class:`NonFiniteLossError`, one
line naming the epoch and step, and the run folder is removed: nothing is cached that a later
run would load. A run that fails before its first checkpoint (missing data, an interrupt)
leaves no folder either; one that fails later keeps its last checkpoint to resume from.

Scale-out. Under ``torchrun --nproc_per_node N`` the same call opens a process group (gloo on
CPU, nccl on CUDA), wraps the model in ``DistributedDataParallel`` and gives each rank a disjoint
shard of each epoch's permutation by ``DistributedSampler``'s rule
(:func:`mailviz.distributed.shard_indices`). ``batch_size`` is per rank (effective batch
``N × batch_size``). The inner maximisation runs on the unwrapped ``ddp.module``; rank 0 writes
all files and holds the run lock for the whole job (the lock a single process takes too; if
another process holds it, every rank stops with :class:`RunBusyError`, one line, instead of
waiting into a barrier timeout); ranks meet at a barrier after every epoch. The non-finite loss
check then runs on the epoch's all-reduced loss, so all ranks stop together.

CUDA: autocast in bf16 (``amp="auto"`` when supported, else fp16 with a GradScaler; ``"none"``
disables it) and channels_last for conv nets. The CPU path always computes in float32.

Host syncs. With the environment variable ``MAILVIZ_SKIP_CHECKS=1`` the epochs run inside
:func:`mailviz.checks.skip_host_syncs`: the per-step checks of tensor contents (pixels in [0, 1],
finite non-negative weights, κ in range), each a host sync on a GPU, are skipped. Results on valid
data are identical; it is for trusted datasets only, and it is not part of the config (the cache
key does not change).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from mailviz import attacks, checks, data, models, objectives
from mailviz.checkpoint import (
    CheckpointError,
    atomic_write,
    load_checkpoint,
    load_state_dict_checked,
    save_checkpoint,
)
from mailviz.config import (
    ConfigError,
    ExperimentConfig,
    config_hash,
    resolve_device,
    seed_everything,
    set_threads,
)
from mailviz.distributed import DistContext, init_from_env

__all__ = [
    "TrainedModel",
    "TrainingError",
    "NonFiniteLossError",
    "RunBusyError",
    "HISTORY_COLUMNS",
    "ON_DEVICE_MAX_BYTES",
    "SKIP_CHECKS_ENV",
    "train",
    "load_trained",
    "load_model_file",
    "run_dir",
    "run_name",
    "build_model_for",
    "lr_factor",
    "held_out_accuracy",
]

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

#: Set to ``1`` to train inside :func:`mailviz.checks.skip_host_syncs` (trusted data only).
SKIP_CHECKS_ENV = "MAILVIZ_SKIP_CHECKS"

#: Training sets whose stored images take at most this many bytes are moved to the device once
#: and indexed there (no DataLoader); larger ones stream through a DataLoader.
ON_DEVICE_MAX_BYTES = 1 << 30

try:  # POSIX: the run lock (flock) is available
    import fcntl as _fcntl  # noqa: F401

    _HAVE_FLOCK = True
except ImportError:  # pragma: no cover - Windows
    _HAVE_FLOCK = False

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


def lr_factor(config: ExperimentConfig) -> Callable[[int], float]:
    """``s(e)`` with ``η_e = lr · s(e)`` for 0-based epoch ``e`` (see the module docstring).

    Example:
        >>> from mailviz.config import get_profile
        >>> f = lr_factor(get_profile("quick"))          # multistep, milestone 15, decay 0.1
        >>> f(14), round(f(15), 6)
        (1.0, 0.1)
    """
    milestones = tuple(sorted(config.milestones))
    decay = float(config.lr_decay)
    epochs = int(config.epochs)
    if config.schedule == "constant":
        return lambda e: 1.0
    if config.schedule == "multistep":
        return lambda e: decay ** sum(1 for m in milestones if m <= e)
    if config.schedule == "cosine":
        return lambda e: 0.5 * (1.0 + math.cos(math.pi * e / epochs))
    raise ConfigError(f"unknown schedule {config.schedule!r}; valid: constant, multistep, cosine")


def _amp_dtype(config: ExperimentConfig, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda" or config.amp == "none":
        return None
    if config.amp == "bf16" or (config.amp == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


def _autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def _use_channels_last(config: ExperimentConfig, device: torch.device) -> bool:
    if not (config.channels_last and device.type == "cuda"):
        return False
    return len(data.dataset_info(config.dataset)["input_shape"]) == 3


# ------------------------------------------------------------------------------------------
# held-out evaluation


@torch.no_grad()
def _nat_correct(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    return (model(x).argmax(1) == y).sum()


def held_out_accuracy(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    eps: float,
    step_size: float,
    steps: int,
    batch_size: int = 256,
    generator: torch.Generator | None = None,
    autocast_dtype: torch.dtype | None = None,
) -> tuple[Tensor, Tensor]:
    """Counts of correct clean and PGD-``steps`` (CE, uniform start) predictions, as tensors.

    ``acc_nat = (1/N) Σ 1[argmax f(x_i) = y_i]``, ``acc_pgd = (1/N) Σ 1[argmax f(x_i') = y_i]``
    with x' from :func:`mailviz.attacks.pgd` (MAIL §4's PGD evaluation). Returns the two counts
    (0-d int64 tensors on ``x.device``) so distributed callers can all-reduce them.

    Shape:
        x ``[N, ...]``, y ``[N]`` → two 0-d tensors.
    """
    was_training = model.training
    model.eval()
    nat = torch.zeros((), dtype=torch.long, device=x.device)
    adv = torch.zeros((), dtype=torch.long, device=x.device)
    try:
        for start in range(0, x.shape[0], batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            with _autocast(x.device, autocast_dtype):
                nat += _nat_correct(model, xb, yb)
                x_adv = attacks.pgd(
                    model, xb, yb, eps, step_size, steps, loss="ce", start="uniform",
                    generator=generator,
                )
                adv += _nat_correct(model, x_adv, yb)
    finally:
        model.train(was_training)
    return nat, adv


# ------------------------------------------------------------------------------------------
# RNG state (stored as tensors / plain values so that weights_only loading reads it)


def _rng_state(attack_gen: torch.Generator, device: torch.device) -> dict[str, Any]:
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "attack": attack_gen.get_state(),
        "python": _plain(random.getstate()),
        "numpy": {
            "keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "cuda": None,
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _plain(obj: Any) -> Any:
    if isinstance(obj, tuple):
        return [_plain(o) for o in obj]
    return obj


def _tupled(obj: Any) -> Any:
    if isinstance(obj, list):
        return tuple(_tupled(o) for o in obj)
    return obj


def _set_rng_state(
    state: dict[str, Any], attack_gen: torch.Generator, device: torch.device
) -> None:
    torch.set_rng_state(state["torch"].cpu())
    attack_gen.set_state(state["attack"].cpu())
    random.setstate(_tupled(state["python"]))
    npst = state["numpy"]
    np.random.set_state(
        ("MT19937", npst["keys"].numpy().astype(np.uint32), npst["pos"], npst["has_gauss"],
         npst["cached_gaussian"])
    )
    if device.type == "cuda" and state.get("cuda") is not None:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def _attack_seed(seed: int, rank: int) -> int:
    return seed + 1_000_003 * (rank + 1)


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


# ------------------------------------------------------------------------------------------
# batches


class _IndexedBatches(torch.utils.data.Dataset):
    """Item ``i`` is the whole mini-batch ``dataset[batches[i]]`` (a DataLoader fetches batches)."""

    def __init__(self, dataset: data.ImageDataset, batches: list[Tensor]) -> None:
        self.dataset = dataset
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return self.dataset[self.batches[i]]


class _BatchSource:
    """Yields an epoch's mini-batches on the device in the order given by an index tensor.

    Small sets (stored images ≤ :data:`ON_DEVICE_MAX_BYTES`) are moved to the device once and
    indexed there; larger ones go through a ``DataLoader`` (pinned memory and 2 workers on
    CUDA). Both paths yield the same batches for the same indices.
    """

    def __init__(self, dataset: data.ImageDataset, device: torch.device, batch_size: int) -> None:
        self.dataset = dataset
        self.device = device
        self.batch_size = batch_size
        nbytes = dataset.images.element_size() * dataset.images.nelement()
        self.on_device = nbytes <= ON_DEVICE_MAX_BYTES
        if self.on_device:
            self.images = dataset.images.to(device)
            self.labels = dataset.labels.to(device)

    def num_batches(self, n_indices: int) -> int:
        return math.ceil(n_indices / self.batch_size)

    def __call__(self, order: Tensor) -> Iterator[tuple[Tensor, Tensor]]:
        if self.on_device:
            order = order.to(self.device)
            for start in range(0, order.numel(), self.batch_size):
                idx = order[start : start + self.batch_size]
                xb = self.images[idx]
                if xb.dtype == torch.uint8:
                    xb = xb.to(torch.float32).div_(255.0)
                yield xb, self.labels[idx]
            return
        chunks = list(order.split(self.batch_size))
        cuda = self.device.type == "cuda"
        loader = torch.utils.data.DataLoader(
            _IndexedBatches(self.dataset, chunks),
            batch_size=None,
            shuffle=False,
            num_workers=2 if cuda else 0,
            pin_memory=cuda,
        )
        for xb, yb in loader:
            yield xb.to(self.device, non_blocking=cuda), yb.to(self.device, non_blocking=cuda)


# ------------------------------------------------------------------------------------------
# the loop


def _sum_dtype(device: torch.device) -> torch.dtype:
    """float64 accumulators (exact counts), except on MPS, which has no float64."""
    return torch.float32 if device.type == "mps" else torch.float64


class _EpochStats:
    """Running sums of the per-example statistics, kept on the device (no sync per batch)."""

    def __init__(self, device: torch.device) -> None:
        dtype = _sum_dtype(device)
        z = torch.zeros(8, dtype=dtype, device=device)
        # loss·B, correct, Σω, Σω², Σmargin, Σκ, count, count_κ
        self.sums = z
        self.wmin = torch.full((1,), math.inf, dtype=dtype, device=device)
        self.wmax = torch.full((1,), -math.inf, dtype=dtype, device=device)

    def add(self, loss: Tensor, stats: dict[str, Tensor], batch: int) -> None:
        ref = self.sums
        w = stats.get("weight")
        w = ref.new_ones(batch) if w is None else w.detach().to(ref.dtype).flatten()
        correct, margin = stats.get("correct"), stats.get("margin")
        kappa = stats.get("kappa")
        k_sum = kappa.detach().to(ref.dtype).sum() if kappa is not None else ref.new_zeros(())
        k_cnt = float(kappa.numel()) if kappa is not None else 0.0
        nan = ref.new_full((), math.nan)  # fills, not new_tensor: no host-to-device copy (sync)
        update = torch.stack(
            [
                loss.detach().to(ref.dtype) * batch,
                correct.detach().to(ref.dtype).sum() if correct is not None else nan,
                w.sum(),
                (w * w).sum(),
                margin.detach().to(ref.dtype).sum() if margin is not None else nan,
                k_sum,
                w.new_full((), float(batch)),
                w.new_full((), k_cnt),
            ]
        )
        self.sums += update
        if w.numel():
            self.wmin = torch.minimum(self.wmin, w.min().view(1))
            self.wmax = torch.maximum(self.wmax, w.max().view(1))

    def running(self) -> tuple[float, float]:
        s = self.sums.tolist()
        n = max(s[6], 1.0)
        return s[0] / n, s[1] / n

    def finish(self, ctx: DistContext) -> dict[str, float]:
        ctx.all_reduce(self.sums, "sum")
        ctx.all_reduce(self.wmin, "min")
        ctx.all_reduce(self.wmax, "max")
        s = self.sums.tolist()
        n = max(s[6], 1.0)
        mean_w = s[2] / n
        var_w = max(s[3] / n - mean_w * mean_w, 0.0)
        return {
            "loss": s[0] / n,
            "train_adv_acc": 100.0 * s[1] / n,
            "weight_mean": mean_w,
            "weight_std": math.sqrt(var_w),
            "weight_min": float(self.wmin.item()),
            "weight_max": float(self.wmax.item()),
            "margin_mean": s[4] / n,
            "kappa_mean": s[5] / s[7] if s[7] > 0 else float("nan"),
        }


def _diverged(config: ExperimentConfig, folder: Path, what: str, epoch: int, where: str) -> str:
    """The one-line message of a non-finite training loss (``what``: what was not finite)."""
    return (
        f"training diverged: {what} at epoch {epoch}, {where} ({folder.name}); "
        f"nothing was cached — lower lr (now {config.lr:g}, e.g. lr={config.lr / 10:g}), check "
        "the method's params and eps, or the data"
    )


def _say(progress: bool, ctx: DistContext, message: str) -> None:
    if progress and ctx.is_main:
        tqdm.write(message, file=sys.stdout)


def train(
    config: ExperimentConfig,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    resume: bool = True,
    use_cache: bool = True,
    progress: bool = True,
    data_root: str | os.PathLike[str] | None = None,
    download: bool = False,
) -> TrainedModel:
    """Train ``config`` (or load it from the cache / resume it) and return a :class:`TrainedModel`.

    Minimises the method's objective (MAIL Alg. 2–4, Zeng et al. Alg. 1 / eq. 7) with SGD and
    the configured per-epoch LR schedule; see the module docstring for the update rule, the run
    directory, history columns, caching, resume and torchrun behaviour.

    Args:
        config: the experiment (validated here).
        cache_dir: cache root (default ``mailviz.paths.cache_root()`` = ``data/cache`` of the
            project, or ``$MAILVIZ_CACHE``); the run lives in ``<cache_dir>/<run_name>``.
        resume: continue an interrupted run from ``checkpoint.pt`` (False: start over).
        use_cache: load a finished run's ``model.pt`` instead of training (False: retrain).
        progress: tqdm bars (epochs outer, batches inner) and a line on cache hits.
        data_root: dataset root (default ``mailviz.paths.data_root()``).
        download: allow downloading a missing dataset.

    Returns:
        :class:`TrainedModel` (model in eval mode on the config's device, history, run folder).

    Raises:
        ConfigError: invalid config. CheckpointError: a damaged or foreign ``checkpoint.pt`` /
        ``model.pt`` (delete it, or pass ``resume=False`` / ``use_cache=False``), or a CPU
        checkpoint written at another thread count.
        FileNotFoundError: dataset not present (the message gives the download command).
        NonFiniteLossError: a step's loss was NaN / inf (the run folder is removed).
        RunBusyError: under torchrun, another process is training the same run.

    Example:
        >>> from mailviz.config import get_profile
        >>> import tempfile
        >>> run = train(get_profile("smoke", epochs=1), cache_dir=tempfile.mkdtemp(),
        ...             progress=False)
        >>> list(run.history.columns[:4])
        ['epoch', 'lr', 'loss', 'train_adv_acc']
    """
    if not isinstance(config, ExperimentConfig):
        raise ConfigError(
            f"train expects an ExperimentConfig, got {type(config).__name__} — build one with "
            "mailviz.config.get_profile('quick', method=...)"
        )
    config = config.validate()
    threads = set_threads(config.threads)
    base_device = resolve_device(config.device)
    ctx = init_from_env(base_device.type)
    cache = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    folder = run_dir(config, cache)
    try:
        # Two notebooks (or nbval workers) asking for the same model: one trains, one waits and
        # then loads it from the cache. Under torchrun rank 0 holds the same lock for the job;
        # it cannot wait (the other ranks would time out at the next barrier), so a busy lock
        # is one error line on every rank.
        with contextlib.ExitStack() as stack:
            busy: str | None = None
            try:
                stack.enter_context(_run_lock(
                    folder, enabled=ctx.is_main, progress=progress, wait=not ctx.enabled,
                ))  # fmt: skip
            except RunBusyError as err:
                busy = str(err)
            busy = ctx.gather_objects(busy)[0]  # rank 0's outcome, on every rank
            if busy is not None:
                raise RunBusyError(busy)
            try:
                return _train(
                    config, ctx, base_device,
                    cache_dir=cache,
                    resume=resume, use_cache=use_cache, progress=progress,
                    data_root=Path(data_root) if data_root is not None else _default_data_root(),
                    download=download, threads=threads,
                )
            except BaseException as err:
                if ctx.is_main:  # still under the lock: nothing half-written stays behind
                    _discard_unfinished(folder, everything=isinstance(err, NonFiniteLossError))
                raise
    finally:
        ctx.close()


def _remove_temporaries(folder: Path, *, min_age: float = 0.0) -> None:
    """Delete the ``.*.tmp`` files an interrupted atomic write left in ``folder``.

    Called with the run lock held (no other writer exists), so every temporary is stale;
    ``min_age`` spares files younger than that many seconds where no lock is available.
    """
    for stale in folder.glob(".*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            if time.time() - stale.stat().st_mtime >= min_age:
                stale.unlink()


def _discard_unfinished(folder: Path, *, everything: bool) -> None:
    """After a failed run: remove what a later run must not load.

    ``everything`` (a non-finite loss): the config diverges, so its resume point and history
    go too — a later run starts over (or hits the same error at once). Otherwise (missing data,
    an interrupt, a crash) the last ``checkpoint.pt`` stays, because resuming it is the point;
    a folder with neither a checkpoint nor a model is removed. A finished ``model.pt`` from an
    earlier run is never touched. The lock file itself is removed by :func:`_run_lock`.
    """
    if not folder.is_dir():
        return
    _remove_temporaries(folder)
    resumable = (folder / "checkpoint.pt").exists() or (folder / "model.pt").exists()
    if everything or not resumable:
        for name in ("checkpoint.pt", "history.csv", "config.json"):
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()


@contextlib.contextmanager
def _run_lock(
    folder: Path, *, enabled: bool, progress: bool, wait: bool = True
) -> Iterator[None]:
    """Exclusive advisory lock on ``<run dir>/.lock`` (POSIX ``flock``; a no-op elsewhere).

    ``wait=False`` raises :class:`RunBusyError` instead of waiting for another holder. On exit
    a folder left with nothing but the lock file (a run that failed before writing anything)
    is removed, lock file included, while the lock is still held; a process that was waiting
    on the removed file notices (its inode is gone) and locks the new one.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no cross-process lock, same behaviour as before
        enabled = False
    if not enabled:
        yield
        return
    lock = folder / ".lock"
    while True:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(lock, "a")  # noqa: SIM115 - closed below, after the unlock
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    raise RunBusyError(
                        f"another process is training {folder.name} (it holds {lock}); wait "
                        "for it to finish and rerun — the model is then loaded from the cache"
                    ) from None
                if progress:
                    tqdm.write(f"mailviz: waiting for another process training {folder.name}")
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                same = os.fstat(handle.fileno()).st_ino == os.stat(lock).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the holder removed the folder it gave up: lock the new one
                continue
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    if [p.name for p in folder.iterdir()] == [lock.name]:
                        lock.unlink()
                        folder.rmdir()
            return
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def _train(
    config: ExperimentConfig,
    ctx: DistContext,
    base_device: torch.device,
    *,
    cache_dir: Path,
    resume: bool,
    use_cache: bool,
    progress: bool,
    data_root: Path,
    download: bool,
    threads: int,
) -> TrainedModel:
    device = base_device
    if device.type == "cuda" and ctx.enabled:
        device = torch.device("cuda", ctx.local_rank)
    folder = run_dir(config, cache_dir)
    model_file, ckpt_file = folder / "model.pt", folder / "checkpoint.pt"

    # rank 0 decides, so that every rank takes the same branch
    if ctx.gather_objects(use_cache and model_file.exists())[0]:
        cached = load_trained(config.replace(device=str(device)), cache_dir)
        if cached is not None:
            cached.config = config
            _say(progress, ctx, f"mailviz: loaded cached model from {model_file} (not retrained)")
            return cached

    # ---- data (rank 0 downloads first so the others find the files) ---------------------------
    if ctx.is_main:
        train_set, test_set = _load_splits(config, data_root, download)
    ctx.barrier()
    if not ctx.is_main:
        train_set, test_set = _load_splits(config, data_root, False)
    if config.train_subset is not None:
        train_set = train_set.subset(config.train_subset)
    if config.eval_subset is not None:
        test_set = test_set.subset(config.eval_subset)
    # held-out evaluation is sharded over ranks too; counts are all-reduced
    eval_x = test_set.x[ctx.rank :: ctx.world_size].to(device)
    eval_y = test_set.y[ctx.rank :: ctx.world_size].to(device)
    channels_last = _use_channels_last(config, device)
    if channels_last:
        eval_x = eval_x.contiguous(memory_format=torch.channels_last)
    batches = _BatchSource(train_set, device, config.batch_size)

    # ---- model, optimiser, schedule, objective ----------------------------------------------
    seed_everything(config.seed)
    raw_model = _place(build_model_for(config), device, channels_last)
    if ctx.rank > 0:
        torch.manual_seed(config.seed + ctx.rank)  # distinct dropout masks per rank
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    net: nn.Module = raw_model
    if ctx.enabled:
        net = nn.parallel.DistributedDataParallel(
            raw_model, device_ids=[device.index] if device.type == "cuda" else None
        )
    optimizer = torch.optim.SGD(
        raw_model.parameters(), lr=config.lr, momentum=config.momentum,
        weight_decay=config.weight_decay, nesterov=config.nesterov,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(config))
    amp_dtype = _amp_dtype(config, device)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    attack_gen = torch.Generator(device=device).manual_seed(_attack_seed(config.seed, ctx.rank))
    objective = objectives.build_objective(config, generator=attack_gen)

    # ---- resume ------------------------------------------------------------------------------
    rows: list[dict[str, Any]] = []
    start_epoch = 0
    if resume and ckpt_file.exists():
        start_epoch, rows = _restore(
            ckpt_file, config, ctx, device, raw_model, optimizer, scheduler, scaler, objective,
            attack_gen, threads,
        )
        _say(progress, ctx, f"mailviz: resuming {folder.name} after epoch {start_epoch}")
    if ctx.is_main:
        folder.mkdir(parents=True, exist_ok=True)
        # left by a process killed mid-write; we hold the run lock, so no live writer's file
        # (without a lock, spare files younger than a minute)
        _remove_temporaries(folder, min_age=0.0 if _HAVE_FLOCK else 60.0)
        text = json.dumps(config.to_dict(), indent=2) + "\n"
        atomic_write(folder / "config.json", lambda fh: fh.write(text))

    # ---- epochs ------------------------------------------------------------------------------
    n_local = math.ceil(len(train_set) / ctx.world_size)
    show = progress and ctx.is_main
    outer = tqdm(
        total=config.epochs, initial=start_epoch, desc=folder.name, unit="epoch",
        disable=not show, dynamic_ncols=True,
    )
    eval_batch = max(256, config.batch_size)
    hot_path = contextlib.ExitStack()
    if os.environ.get(SKIP_CHECKS_ENV) == "1":
        hot_path.enter_context(checks.skip_host_syncs())
    # one host sync per step for the loss check; under torchrun (a rank must not stop alone)
    # or with checks skipped, the epoch's all-reduced loss is checked instead
    check_steps = checks.enabled() and not ctx.enabled
    try:
        for epoch in range(start_epoch, config.epochs):
            lr = optimizer.param_groups[0]["lr"]
            raw_model.train()
            order = _epoch_order(len(train_set), epoch, config.seed, ctx)
            stats = _EpochStats(device)
            inner = tqdm(
                total=batches.num_batches(n_local), desc=f"epoch {epoch + 1}", unit="batch",
                leave=False, disable=not show, dynamic_ncols=True,
            )
            every = max(1, inner.total // 20)
            t0 = time.perf_counter()
            for i, (xb, yb) in enumerate(batches(order)):
                if config.augment:  # drawn from the checkpointed attack stream: resumable
                    xb = data.random_crop_flip(xb, generator=attack_gen)
                if channels_last:
                    xb = xb.contiguous(memory_format=torch.channels_last)
                step = f"step {i + 1} of {inner.total}"
                try:
                    with _autocast(device, amp_dtype):
                        out = objective.loss(net, xb, yb, epoch=epoch, attack_model=raw_model)
                except checks.NonFiniteLogitsError:  # the previous step broke the weights
                    raise NonFiniteLossError(_diverged(
                        config, folder, "the model's logits are NaN or inf", epoch + 1, step
                    )) from None  # fmt: skip
                if check_steps and not bool(torch.isfinite(out.loss.detach())):
                    raise NonFiniteLossError(_diverged(
                        config, folder, f"the loss is {float(out.loss.detach())}", epoch + 1, step
                    ))  # fmt: skip
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(out.loss).backward()
                scaler.step(optimizer)
                scaler.update()
                objective.after_step(raw_model)
                stats.add(out.loss, out.stats, int(yb.shape[0]))
                inner.update(1)
                if show and (i % every == 0 or i + 1 == inner.total):
                    loss_now, acc_now = stats.running()
                    inner.set_postfix(loss=f"{loss_now:.3f}", adv_acc=f"{100 * acc_now:.1f}%")
            inner.close()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            epoch_seconds = time.perf_counter() - t0
            scheduler.step()
            row: dict[str, Any] = {"epoch": epoch + 1, "lr": float(lr), **stats.finish(ctx)}
            if not math.isfinite(row["loss"]):  # every rank sees the same all-reduced sum
                raise NonFiniteLossError(_diverged(
                    config, folder, f"the loss is {row['loss']}", epoch + 1,
                    "a step not known (per-step checks were off)",
                ))  # fmt: skip

            t1 = time.perf_counter()
            if (epoch + 1) % config.eval_every == 0 or epoch + 1 == config.epochs:
                eval_gen = torch.Generator(device=device).manual_seed(config.seed + 1 + ctx.rank)
                try:
                    nat, adv = held_out_accuracy(
                        raw_model, eval_x, eval_y, eps=config.eps,
                        step_size=config.effective_eval_step_size, steps=config.eval_steps,
                        batch_size=eval_batch, generator=eval_gen, autocast_dtype=amp_dtype,
                    )
                except checks.NonFiniteLogitsError:  # the epoch's last step broke the weights
                    raise NonFiniteLossError(_diverged(
                        config, folder, "the model's logits are NaN or inf", epoch + 1,
                        "held-out evaluation after the last step",
                    )) from None  # fmt: skip
                counts = torch.stack([nat, adv]).to(_sum_dtype(device))
                ctx.all_reduce(counts, "sum")
                n_eval = max(len(test_set), 1)
                row["nat_acc"] = 100.0 * float(counts[0]) / n_eval
                row["pgd_acc"] = 100.0 * float(counts[1]) / n_eval
            else:  # skipped this epoch (config.eval_every)
                row["nat_acc"] = row["pgd_acc"] = float("nan")
            row["epoch_seconds"] = epoch_seconds
            row["eval_seconds"] = time.perf_counter() - t1
            rows.append({k: (int(v) if k == "epoch" else float(v)) for k, v in row.items()})

            rng = ctx.gather_objects(_rng_state(attack_gen, device))
            if ctx.is_main:
                _save_progress(
                    folder, config, ctx, epoch + 1, raw_model, optimizer, scheduler, scaler,
                    objective, rows, rng, threads=threads, device=device,
                )
            ctx.barrier()
            outer.update(1)
            outer.set_postfix(
                loss=f"{row['loss']:.3f}",
                nat=f"{row['nat_acc']:.1f}%" if math.isfinite(row["nat_acc"]) else "-",
                pgd=f"{row['pgd_acc']:.1f}%" if math.isfinite(row["pgd_acc"]) else "-",
            )
    finally:
        hot_path.close()
        outer.close()

    if ctx.is_main:
        save_checkpoint(
            model_file,
            {
                "format": _MODEL_FORMAT,
                "version": _FORMAT_VERSION,
                "config": config.to_dict(),
                "config_hash": config_hash(config),
                "world_size": ctx.world_size,
                "threads": threads,
                "device_type": device.type,
                "torch_version": str(torch.__version__),
                "state_dict": _cpu_state(raw_model),
                "history": rows,
            },
        )
        # model.pt now holds everything a user needs; the resume point is dead weight
        # (hundreds of MB for a WRN-34-10 with its momentum buffers).
        with contextlib.suppress(FileNotFoundError):
            ckpt_file.unlink()
        _remove_temporaries(folder, min_age=0.0 if _HAVE_FLOCK else 60.0)
    ctx.barrier()
    raw_model.eval()
    return TrainedModel(
        model=raw_model, config=config, history=_history_frame(rows), path=folder,
        from_cache=False, world_size=ctx.world_size,
    )


def _load_splits(
    config: ExperimentConfig, root: Path, download: bool
) -> tuple[data.ImageDataset, data.ImageDataset]:
    train_set = data.load_dataset(config.dataset, "train", root=root, download=download)
    test_set = data.load_dataset(config.dataset, "test", root=root, download=download)
    return train_set, test_set


def _epoch_order(n: int, epoch: int, seed: int, ctx: DistContext) -> Tensor:
    from mailviz.distributed import shard_indices

    return shard_indices(n, epoch=epoch, seed=seed, rank=ctx.rank, world_size=ctx.world_size)


def _save_progress(
    folder: Path,
    config: ExperimentConfig,
    ctx: DistContext,
    epochs_done: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: torch.amp.GradScaler,
    objective: Any,
    rows: list[dict[str, Any]],
    rng: list[Any],
    *,
    threads: int,
    device: torch.device,
) -> None:
    # the checkpoint first: history.csv never runs ahead of the resume point it describes
    save_checkpoint(
        folder / "checkpoint.pt",
        {
            "format": _CHECKPOINT_FORMAT,
            "version": _FORMAT_VERSION,
            "config": config.to_dict(),
            "config_hash": config_hash(config),
            "world_size": ctx.world_size,
            "threads": threads,
            "device_type": device.type,
            "epochs_done": epochs_done,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(),
            "objective": objective.state_dict(),
            "history": rows,
            "rng": rng,
        },
    )
    atomic_write(folder / "history.csv", lambda fh: _history_frame(rows).to_csv(fh, index=False))


def _restore(
    file: Path,
    config: ExperimentConfig,
    ctx: DistContext,
    device: torch.device,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: torch.amp.GradScaler,
    objective: Any,
    attack_gen: torch.Generator,
    threads: int,
) -> tuple[int, list[dict[str, Any]]]:
    keys = ("format", "config_hash", "epochs_done", "model", "optimizer", "scheduler", "history",
            "rng", "world_size")
    ckpt = load_checkpoint(file, required=keys)
    if ckpt["format"] != _CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{file} is a {ckpt['format']!r} file, not a training checkpoint; delete it and "
            "retrain / resume"
        )
    if ckpt["config_hash"] != config_hash(config):
        raise CheckpointError(
            f"{file} was written for config {ckpt['config_hash']}, this run is "
            f"{config_hash(config)}; delete it or pass resume=False (--no-resume)"
        )
    if int(ckpt["world_size"]) != ctx.world_size:
        raise CheckpointError(
            f"{file} was written by {ckpt['world_size']} process(es), this run has "
            f"{ctx.world_size} (batch size is per process); resume with the same "
            "--nproc_per_node or pass resume=False (--no-resume)"
        )
    saved = ckpt.get("threads")  # absent in checkpoints written before it was recorded
    if (saved is not None and device.type == "cpu" and ckpt.get("device_type", "cpu") == "cpu"
            and int(saved) != threads):  # fmt: skip
        raise CheckpointError(
            f"{file} was written with {saved} CPU thread(s), this run has {threads}; on the CPU "
            "the thread count changes the weights, so the resumed run would match neither — "
            f"resume with --set threads={saved} (threads={saved}) or start over with "
            "--no-resume (resume=False)"
        )
    epochs_done = int(ckpt["epochs_done"])
    if not (0 <= epochs_done <= config.epochs):
        raise CheckpointError(
            f"{file} claims {epochs_done} finished epochs of {config.epochs}; delete it and "
            "retrain"
        )
    load_state_dict_checked(model, ckpt["model"], what="model", source=file)
    load_state_dict_checked(optimizer, ckpt["optimizer"], what="optimizer", source=file)
    load_state_dict_checked(scheduler, ckpt["scheduler"], what="LR schedule", source=file)
    if ckpt.get("scaler"):
        load_state_dict_checked(scaler, ckpt["scaler"], what="grad scaler", source=file)
    if ckpt.get("objective"):
        load_state_dict_checked(objective, ckpt["objective"], what="objective", source=file)
    rng = ckpt["rng"]
    if not isinstance(rng, list) or len(rng) != ctx.world_size:
        raise CheckpointError(f"{file} has RNG state for {len(rng)} process(es); delete it")
    _set_rng_state(rng[ctx.rank], attack_gen, device)
    rows = [dict(r) for r in ckpt["history"]]
    return epochs_done, rows
