"""Crash-safe progress: the checkpoint written after every epoch and the bit-identical resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from mailviz.checkpoint import (
    CheckpointError,
    atomic_write,
    load_checkpoint,
    load_state_dict_checked,
    save_checkpoint,
)
from mailviz.config import (
    ExperimentConfig,
    config_hash,
)
from mailviz.distributed import DistContext
from mailviz.training.rng import _set_rng_state
from mailviz.training.runs import _CHECKPOINT_FORMAT, _FORMAT_VERSION, _history_frame


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
    keys = (
        "format",
        "config_hash",
        "epochs_done",
        "model",
        "optimizer",
        "scheduler",
        "history",
        "rng",
        "world_size",
    )
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
            f"{file} claims {epochs_done} finished epochs of {config.epochs}; delete it and retrain"
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
