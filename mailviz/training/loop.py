"""The training loop behind :func:`mailviz.train.train` (see :mod:`mailviz.train` for the maths).

:func:`train` validates the config, takes the run lock and hands over to :func:`_train`, which
loads a cached model or sets the run up (:func:`_setup`), resumes from ``checkpoint.pt``, trains
the remaining epochs (:func:`_epochs` → :func:`_train_epoch`, :func:`_held_out`, a checkpoint
after each) and writes ``model.pt`` (:func:`_save_model`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from mailviz import checks, data
from mailviz.checkpoint import (
    atomic_write,
    save_checkpoint,
)
from mailviz.config import (
    ConfigError,
    ExperimentConfig,
    config_hash,
    resolve_device,
    set_threads,
)
from mailviz.distributed import DistContext, init_from_env
from mailviz.training.batches import _epoch_order
from mailviz.training.locks import _HAVE_FLOCK, _discard_unfinished, _remove_temporaries, _run_lock
from mailviz.training.resume import _restore, _save_progress
from mailviz.training.rng import _rng_state
from mailviz.training.runs import (
    _FORMAT_VERSION,
    _MODEL_FORMAT,
    NonFiniteLossError,
    RunBusyError,
    TrainedModel,
    _cpu_state,
    _default_cache_dir,
    _default_data_root,
    _history_frame,
    load_trained,
    run_dir,
)
from mailviz.training.schedule import (
    _autocast,
    held_out_accuracy,
)
from mailviz.training.setup import _Run, _setup
from mailviz.training.stats import _diverged, _EpochStats, _say, _sum_dtype

#: Set to ``1`` to train inside :func:`mailviz.checks.skip_host_syncs` (trusted data only).
SKIP_CHECKS_ENV = "MAILVIZ_SKIP_CHECKS"


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
                    config,
                    ctx,
                    base_device,
                    cache_dir=cache,
                    resume=resume,
                    use_cache=use_cache,
                    progress=progress,
                    data_root=Path(data_root) if data_root is not None else _default_data_root(),
                    download=download,
                    threads=threads,
                )
            except BaseException as err:
                if ctx.is_main:  # still under the lock: nothing half-written stays behind
                    _discard_unfinished(folder, everything=isinstance(err, NonFiniteLossError))
                raise
    finally:
        ctx.close()


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

    run = _setup(config, ctx, device, folder, data_root, download)

    # ---- resume ------------------------------------------------------------------------------
    rows: list[dict[str, Any]] = []
    start_epoch = 0
    if resume and ckpt_file.exists():
        start_epoch, rows = _restore(
            ckpt_file, config, ctx, device, run.raw_model, run.optimizer, run.scheduler,
            run.scaler, run.objective, run.attack_gen, threads,
        )  # fmt: skip
        _say(progress, ctx, f"mailviz: resuming {folder.name} after epoch {start_epoch}")
    if ctx.is_main:
        folder.mkdir(parents=True, exist_ok=True)
        # left by a process killed mid-write; we hold the run lock, so no live writer's file
        # (without a lock, spare files younger than a minute)
        _remove_temporaries(folder, min_age=0.0 if _HAVE_FLOCK else 60.0)
        text = json.dumps(config.to_dict(), indent=2) + "\n"
        atomic_write(folder / "config.json", lambda fh: fh.write(text))

    _epochs(run, start_epoch, rows, progress=progress, threads=threads)

    if ctx.is_main:
        _save_model(run, model_file, rows, threads)
        # model.pt now holds everything a user needs; the resume point is dead weight
        # (hundreds of MB for a WRN-34-10 with its momentum buffers).
        with contextlib.suppress(FileNotFoundError):
            ckpt_file.unlink()
        _remove_temporaries(folder, min_age=0.0 if _HAVE_FLOCK else 60.0)
    ctx.barrier()
    run.raw_model.eval()
    return TrainedModel(
        model=run.raw_model, config=config, history=_history_frame(rows), path=folder,
        from_cache=False, world_size=ctx.world_size,
    )  # fmt: skip


def _epochs(
    run: _Run, start_epoch: int, rows: list[dict[str, Any]], *, progress: bool, threads: int
) -> None:
    """Train epochs ``start_epoch … epochs − 1``, appending to ``rows`` and checkpointing each."""
    config, ctx, device = run.config, run.ctx, run.device
    n_local = math.ceil(len(run.train_set) / ctx.world_size)
    show = progress and ctx.is_main
    outer = tqdm(
        total=config.epochs, initial=start_epoch, desc=run.folder.name, unit="epoch",
        disable=not show, dynamic_ncols=True,
    )  # fmt: skip
    eval_batch = max(256, config.batch_size)
    hot_path = contextlib.ExitStack()
    if os.environ.get(SKIP_CHECKS_ENV) == "1":
        hot_path.enter_context(checks.skip_host_syncs())
    # one host sync per step for the loss check; under torchrun (a rank must not stop alone)
    # or with checks skipped, the epoch's all-reduced loss is checked instead
    check_steps = checks.enabled() and not ctx.enabled
    try:
        for epoch in range(start_epoch, config.epochs):
            row = _train_epoch(run, epoch, n_local, show=show, check_steps=check_steps)
            t1 = time.perf_counter()
            if (epoch + 1) % config.eval_every == 0 or epoch + 1 == config.epochs:
                row["nat_acc"], row["pgd_acc"] = _held_out(run, epoch, eval_batch)
            else:  # skipped this epoch (config.eval_every)
                row["nat_acc"] = row["pgd_acc"] = float("nan")
            row["epoch_seconds"] = row.pop("_epoch_seconds")
            row["eval_seconds"] = time.perf_counter() - t1
            rows.append({k: (int(v) if k == "epoch" else float(v)) for k, v in row.items()})

            rng = ctx.gather_objects(_rng_state(run.attack_gen, device))
            if ctx.is_main:
                _save_progress(
                    run.folder, config, ctx, epoch + 1, run.raw_model, run.optimizer,
                    run.scheduler, run.scaler, run.objective, rows, rng, threads=threads,
                    device=device,
                )  # fmt: skip
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


def _train_epoch(
    run: _Run, epoch: int, n_local: int, *, show: bool, check_steps: bool
) -> dict[str, Any]:
    """One pass over the training set and the LR step; the epoch's history row (no eval yet)."""
    config, device, optimizer = run.config, run.device, run.optimizer
    lr = optimizer.param_groups[0]["lr"]
    run.raw_model.train()
    order = _epoch_order(len(run.train_set), epoch, config.seed, run.ctx)
    stats = _EpochStats(device)
    inner = tqdm(
        total=run.batches.num_batches(n_local), desc=f"epoch {epoch + 1}", unit="batch",
        leave=False, disable=not show, dynamic_ncols=True,
    )  # fmt: skip
    every = max(1, inner.total // 20)
    t0 = time.perf_counter()
    for i, (xb, yb) in enumerate(run.batches(order)):
        if config.augment:  # drawn from the checkpointed attack stream: resumable
            xb = data.random_crop_flip(xb, generator=run.attack_gen)
        if run.channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        step = f"step {i + 1} of {inner.total}"
        try:
            with _autocast(device, run.amp_dtype):
                out = run.objective.loss(run.net, xb, yb, epoch=epoch, attack_model=run.raw_model)
        except checks.NonFiniteLogitsError:  # the previous step broke the weights
            raise NonFiniteLossError(_diverged(
                config, run.folder, "the model's logits are NaN or inf", epoch + 1, step
            )) from None  # fmt: skip
        if check_steps and not bool(torch.isfinite(out.loss.detach())):
            raise NonFiniteLossError(_diverged(
                config, run.folder, f"the loss is {float(out.loss.detach())}", epoch + 1, step
            ))  # fmt: skip
        optimizer.zero_grad(set_to_none=True)
        run.scaler.scale(out.loss).backward()
        run.scaler.step(optimizer)
        run.scaler.update()
        run.objective.after_step(run.raw_model)
        stats.add(out.loss, out.stats, int(yb.shape[0]))
        inner.update(1)
        if show and (i % every == 0 or i + 1 == inner.total):
            loss_now, acc_now = stats.running()
            inner.set_postfix(loss=f"{loss_now:.3f}", adv_acc=f"{100 * acc_now:.1f}%")
    inner.close()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    epoch_seconds = time.perf_counter() - t0
    run.scheduler.step()
    row: dict[str, Any] = {"epoch": epoch + 1, "lr": float(lr), **stats.finish(run.ctx)}
    if not math.isfinite(row["loss"]):  # every rank sees the same all-reduced sum
        raise NonFiniteLossError(_diverged(
            config, run.folder, f"the loss is {row['loss']}", epoch + 1,
            "a step not known (per-step checks were off)",
        ))  # fmt: skip
    row["_epoch_seconds"] = epoch_seconds
    return row


def _held_out(run: _Run, epoch: int, eval_batch: int) -> tuple[float, float]:
    """Natural and PGD accuracy (%) on the held-out set after ``epoch`` (all ranks reduced)."""
    config, ctx, device = run.config, run.ctx, run.device
    eval_gen = torch.Generator(device=device).manual_seed(config.seed + 1 + ctx.rank)
    try:
        nat, adv = held_out_accuracy(
            run.raw_model, run.eval_x, run.eval_y, eps=config.eps,
            step_size=config.effective_eval_step_size, steps=config.eval_steps,
            batch_size=eval_batch, generator=eval_gen, autocast_dtype=run.amp_dtype,
        )  # fmt: skip
    except checks.NonFiniteLogitsError:  # the epoch's last step broke the weights
        raise NonFiniteLossError(_diverged(
            config, run.folder, "the model's logits are NaN or inf", epoch + 1,
            "held-out evaluation after the last step",
        )) from None  # fmt: skip
    counts = torch.stack([nat, adv]).to(_sum_dtype(device))
    ctx.all_reduce(counts, "sum")
    n_eval = max(len(run.test_set), 1)
    return 100.0 * float(counts[0]) / n_eval, 100.0 * float(counts[1]) / n_eval


def _save_model(run: _Run, model_file: Path, rows: list[dict[str, Any]], threads: int) -> None:
    """Write ``model.pt``: weights, config, history and where they were trained."""
    config = run.config
    save_checkpoint(
        model_file,
        {
            "format": _MODEL_FORMAT,
            "version": _FORMAT_VERSION,
            "config": config.to_dict(),
            "config_hash": config_hash(config),
            "world_size": run.ctx.world_size,
            "threads": threads,
            "device_type": run.device.type,
            "torch_version": str(torch.__version__),
            "state_dict": _cpu_state(run.raw_model),
            "history": rows,
        },
    )
