"""Setting a run up: data, model, optimiser, LR schedule, objective, in the order that seeds them.

:func:`_setup` returns a :class:`_Run`, what every epoch of the loop (:mod:`mailviz.training.loop`)
shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from mailviz import objectives
from mailviz.config import (
    ExperimentConfig,
    seed_everything,
)
from mailviz.distributed import DistContext
from mailviz.training.batches import _BatchSource, _load_splits
from mailviz.training.rng import _attack_seed
from mailviz.training.runs import (
    _place,
    build_model_for,
)
from mailviz.training.schedule import (
    _amp_dtype,
    _use_channels_last,
    lr_factor,
)


@dataclass
class _Run:
    """What every epoch of one run shares (built once by :func:`_setup`)."""

    config: ExperimentConfig
    ctx: DistContext
    device: torch.device
    folder: Path
    train_set: Any
    test_set: Any
    eval_x: Tensor
    eval_y: Tensor
    channels_last: bool
    batches: _BatchSource
    raw_model: nn.Module
    net: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    amp_dtype: torch.dtype | None
    scaler: Any
    attack_gen: torch.Generator
    objective: Any


def _setup(
    config: ExperimentConfig,
    ctx: DistContext,
    device: torch.device,
    folder: Path,
    data_root: Path,
    download: bool,
) -> _Run:
    """Data, model, optimiser, schedule and objective of a run, in the order that seeds them."""
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
    )  # fmt: skip
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(config))
    amp_dtype = _amp_dtype(config, device)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    attack_gen = torch.Generator(device=device).manual_seed(_attack_seed(config.seed, ctx.rank))
    objective = objectives.build_objective(config, generator=attack_gen)
    return _Run(
        config, ctx, device, folder, train_set, test_set, eval_x, eval_y, channels_last, batches,
        raw_model, net, optimizer, scheduler, amp_dtype, scaler, attack_gen, objective,
    )  # fmt: skip
