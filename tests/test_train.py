"""mailviz.train: history, cache, determinism, crash-safe resume, DDP, bad input."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch.utils.data.distributed import DistributedSampler

from mailviz import train as train_mod
from mailviz.checkpoint import CheckpointError, load_checkpoint
from mailviz.cli import main
from mailviz.config import ConfigError, get_profile
from mailviz.data import load_dataset
from mailviz.distributed import shard_indices
from mailviz.train import (
    HISTORY_COLUMNS,
    TrainedModel,
    load_model_file,
    load_trained,
    lr_factor,
    run_dir,
    train,
)
from mailviz.training import batches as train_batches
from mailviz.training import loop as train_loop
from mailviz.training import resume as train_resume
from mailviz.training import setup as train_setup

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(train_subset=128, epochs=2, steps=2, eval_subset=64, eval_steps=2, batch_size=64)


def tiny(**overrides):
    return get_profile("smoke", **{**TINY, **overrides})


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key].cpu(), sb[key].cpu()), key


def _subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return env


def test_training_writes_run_dir_and_history(tmp_path: Path) -> None:
    cfg = tiny(method="mail_at", burn_in=1)
    run = train(cfg, cache_dir=tmp_path, progress=False)
    assert isinstance(run, TrainedModel) and not run.from_cache
    assert run.path == run_dir(cfg, tmp_path)
    assert run.path.name.startswith("mail_at-digits-digits_cnn-")
    files = sorted(p.name for p in run.path.iterdir() if not p.name.startswith("."))
    assert files == ["config.json", "history.csv", "model.pt"]
    h = run.history
    assert tuple(h.columns) == HISTORY_COLUMNS
    assert h["epoch"].tolist() == [1, 2]
    assert ((h["nat_acc"] >= 0) & (h["nat_acc"] <= 100)).all()
    assert ((h["pgd_acc"] >= 0) & (h["pgd_acc"] <= 100)).all()
    assert (h["epoch_seconds"] > 0).all() and h["loss"].notna().all()
    assert h["kappa_mean"].isna().all()
    # burn-in epoch 0 is plain AT (unit weights); MAIL weights (batch-normalised, mean 1) after
    assert h["weight_std"].iloc[0] == 0.0 and h["weight_min"].iloc[0] == 1.0
    assert h["weight_std"].iloc[1] > 0.0
    assert math.isclose(h["weight_mean"].iloc[1], 1.0, rel_tol=1e-4)
    on_disk = pd.read_csv(run.path / "history.csv")
    pd.testing.assert_frame_equal(on_disk, h, check_dtype=False)
    assert not run.model.training
    assert run.nat_acc == h["nat_acc"].iloc[-1]


def test_gairat_logs_kappa(tmp_path: Path) -> None:
    run = train(tiny(method="gairat", epochs=1), cache_dir=tmp_path, progress=False)
    kappa = run.history["kappa_mean"].iloc[0]
    assert 0.0 <= kappa <= 2.0


def test_lr_schedules_per_epoch(tmp_path: Path) -> None:
    cfg = tiny(epochs=3, milestones=(2,), lr_decay=0.1, lr=0.05)
    run = train(cfg, cache_dir=tmp_path, progress=False)
    assert run.history["lr"].tolist() == pytest.approx([0.05, 0.05, 0.005])
    cos = lr_factor(tiny(schedule="cosine", epochs=4, milestones=()))
    assert [round(cos(e), 6) for e in range(4)] == [1.0, 0.853553, 0.5, 0.146447]
    assert lr_factor(tiny(schedule="constant"))(7) == 1.0
    steps = lr_factor(tiny(epochs=10, milestones=(3, 6), lr_decay=0.5))
    assert [steps(e) for e in (0, 2, 3, 5, 6, 9)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]


def test_cache_hit_does_not_train(tmp_path: Path, monkeypatch, capsys) -> None:
    cfg = tiny()
    first = train(cfg, cache_dir=tmp_path, progress=False)

    def no_training(*args, **kwargs):
        raise AssertionError("a cached run must not build an objective")

    monkeypatch.setattr(train_setup.objectives, "build_objective", no_training)
    second = train(cfg.replace(device="cpu", profile="other"), cache_dir=tmp_path, progress=True)
    assert second.from_cache and second.path == first.path
    assert "loaded cached model" in capsys.readouterr().out
    assert_same_weights(first.model, second.model)
    pd.testing.assert_frame_equal(first.history, second.history)
    assert load_trained(cfg, cache_dir=tmp_path) is not None
    assert load_trained(cfg.replace(seed=1), cache_dir=tmp_path) is None
    loaded = load_model_file(first.path / "model.pt")
    assert loaded.config == cfg and loaded.world_size == 1
    assert_same_weights(first.model, loaded.model)


def test_same_seed_same_weights_other_seed_differs(tmp_path: Path) -> None:
    cfg = tiny(method="trades")
    a = train(cfg, cache_dir=tmp_path / "a", progress=False)
    b = train(cfg, cache_dir=tmp_path / "b", progress=False)
    assert_same_weights(a.model, b.model)
    c = train(cfg.replace(seed=1), cache_dir=tmp_path / "c", progress=False)
    sa, sc = a.model.state_dict(), c.model.state_dict()
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)


def test_dataloader_path_gives_the_same_model(tmp_path: Path, monkeypatch) -> None:
    cfg = tiny(epochs=1)
    on_device = train(cfg, cache_dir=tmp_path / "a", progress=False)
    monkeypatch.setattr(train_batches, "ON_DEVICE_MAX_BYTES", 0)
    streamed = train(cfg, cache_dir=tmp_path / "b", progress=False)
    assert_same_weights(on_device.model, streamed.model)


class _Crash(RuntimeError):
    pass


def test_resume_after_crash_is_bit_identical(tmp_path: Path, monkeypatch) -> None:
    cfg = tiny(method="at", epochs=3, milestones=(2,))
    full = train(cfg, cache_dir=tmp_path / "full", progress=False)

    real_save = train_loop._save_progress

    def crash_after_two(folder, config, ctx, epochs_done, *args, **kwargs):
        real_save(folder, config, ctx, epochs_done, *args, **kwargs)
        if epochs_done == 2:
            raise _Crash("simulated crash after epoch 2")

    monkeypatch.setattr(train_loop, "_save_progress", crash_after_two)
    with pytest.raises(_Crash):
        train(cfg, cache_dir=tmp_path / "crash", progress=False)
    folder = run_dir(cfg, tmp_path / "crash")
    assert not (folder / "model.pt").exists()
    assert load_checkpoint(folder / "checkpoint.pt")["epochs_done"] == 2
    monkeypatch.setattr(train_loop, "_save_progress", real_save)

    resumed = train(cfg, cache_dir=tmp_path / "crash", progress=False)
    assert_same_weights(full.model, resumed.model)
    cols = [c for c in HISTORY_COLUMNS if not c.endswith("seconds")]
    pd.testing.assert_frame_equal(full.history[cols], resumed.history[cols])
    assert not (folder / "checkpoint.pt").exists()


def _crash_after_first_epoch(cfg, cache_dir: Path, **kwargs) -> None:
    """Train ``cfg`` until its first checkpoint is written, then crash (the resume point stays)."""
    real_save = train_loop._save_progress

    def crash(*args, **kw):
        real_save(*args, **kw)
        raise _Crash("stop after epoch 1")

    with pytest.MonkeyPatch.context() as m:
        m.setattr(train_loop, "_save_progress", crash)
        with pytest.raises(_Crash):
            train(cfg, cache_dir=cache_dir, progress=False, **kwargs)


def test_damaged_or_foreign_checkpoint_on_resume(tmp_path: Path, monkeypatch) -> None:
    cfg = tiny(epochs=2)
    folder = run_dir(cfg, tmp_path)
    folder.mkdir(parents=True)
    (folder / "checkpoint.pt").write_bytes(b"PK\x03\x04 half a zip")
    with pytest.raises(CheckpointError, match="truncated or not a torch checkpoint"):
        train(cfg, cache_dir=tmp_path, progress=False)

    # resume=False ignores (and overwrites) it; crash after epoch 1 to keep the checkpoint
    _crash_after_first_epoch(cfg, tmp_path, resume=False)
    assert load_checkpoint(folder / "checkpoint.pt")["epochs_done"] == 1

    other = cfg.replace(lr=0.01)
    theirs = run_dir(other, tmp_path)
    theirs.mkdir(parents=True)
    (theirs / "checkpoint.pt").write_bytes((folder / "checkpoint.pt").read_bytes())
    with pytest.raises(CheckpointError, match="was written for config"):
        train(other, cache_dir=tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_model_file(tmp_path / "missing-run")


def test_bad_config_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not fit"):
        get_profile("smoke", dataset="moons")  # 2-D points into an image CNN
    with pytest.raises(ConfigError, match="nesterov"):
        train(tiny(momentum=0.0, nesterov=True), cache_dir=tmp_path, progress=False)
    with pytest.raises(ConfigError, match="ExperimentConfig"):
        train({"method": "at"}, cache_dir=tmp_path)  # type: ignore[arg-type]


def test_cli_unknown_method_exits_2_with_one_line(capsys) -> None:
    assert main(["train", "--profile", "smoke", "--method", "nope", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mailviz: error: unknown method 'nope'")
    assert err.count("\n") == 1


@pytest.mark.parametrize("n,world", [(7, 2), (10, 3), (2, 4), (1257, 2)])
def test_shards_follow_distributed_sampler(n: int, world: int) -> None:
    data = list(range(n))
    for epoch in (0, 3):
        for rank in range(world):
            sampler = DistributedSampler(data, num_replicas=world, rank=rank, seed=5)
            sampler.set_epoch(epoch)
            ours = shard_indices(n, epoch=epoch, seed=5, rank=rank, world_size=world)
            assert ours.tolist() == list(sampler)


# --------------------------------------------------------------------------------------------
# real processes: SIGKILL + resume, torchrun


def _train_cmd(cache: Path, *sets: str) -> list[str]:
    cmd = [sys.executable, "-m", "mailviz.cli", "train", "--profile", "smoke", "--quiet",
           "--cache-dir", str(cache)]
    for s in sets:
        cmd += ["--set", s]
    return cmd


@pytest.mark.slow
def test_sigkill_mid_training_then_resume_is_bit_identical(tmp_path: Path) -> None:
    sets = ("method=trades", "epochs=6", "train_subset=512", "batch_size=64", "steps=3",
            "eval_subset=64", "eval_steps=2")
    cfg = tiny(method="trades", epochs=6, train_subset=512, batch_size=64, steps=3,
               eval_subset=64, eval_steps=2)
    folder = run_dir(cfg, tmp_path / "killed")
    proc = subprocess.Popen(_train_cmd(tmp_path / "killed", *sets), env=_subprocess_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        done = 0
        while time.monotonic() < deadline and proc.poll() is None:
            if (folder / "checkpoint.pt").exists():
                done = load_checkpoint(folder / "checkpoint.pt")["epochs_done"]
                if done >= 1:
                    break
            time.sleep(0.01)
        assert proc.poll() is None, proc.communicate()[0].decode()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL and done >= 1
    assert not (folder / "model.pt").exists(), "the run finished before it could be killed"
    killed_at = load_checkpoint(folder / "checkpoint.pt")["epochs_done"]
    assert 1 <= killed_at < 6

    resumed = subprocess.run(_train_cmd(tmp_path / "killed", *sets), env=_subprocess_env(),
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"run directory: {folder}" in resumed.stdout

    full = train(cfg, cache_dir=tmp_path / "full", progress=False)
    again = load_model_file(folder)
    assert len(again.history) == 6
    assert_same_weights(full.model, again.model)


@pytest.mark.slow
def test_torchrun_two_processes_gloo(tmp_path: Path) -> None:
    cache = tmp_path / "ddp"
    sets = ("method=at", "epochs=3", "train_subset=None", "batch_size=64", "steps=2",
            "eval_subset=128", "eval_steps=2", "milestones=()")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "mailviz.cli", "train", "--profile", "smoke", "--quiet",
           "--cache-dir", str(cache)]
    for s in sets:
        cmd += ["--set", s]
    proc = subprocess.run(cmd, env=_subprocess_env(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("run directory:") == 1  # rank 0 reports
    (folder,) = cache.iterdir()
    assert (folder / ".lock").is_file()  # rank 0 held the run lock a single process takes
    run = load_model_file(folder)
    assert run.world_size == 2 and len(run.history) == 3
    test = load_dataset("digits", "test")
    with torch.no_grad():
        acc = (run.model(test.x).argmax(1) == test.y).float().mean().item()
    assert acc > 0.5, acc  # chance is 0.1


def test_eval_every_skips_held_out_evaluation_but_not_the_last_epoch(tmp_path: Path) -> None:
    run = train(tiny(epochs=3, eval_every=2), cache_dir=tmp_path, progress=False)
    h = run.history
    assert h["pgd_acc"].isna().tolist() == [True, False, False]
    assert math.isfinite(run.nat_acc) and math.isfinite(run.pgd_acc)


def test_augmented_training_is_deterministic(tmp_path: Path) -> None:
    cfg = tiny(augment=True, epochs=3)
    a = train(cfg, cache_dir=tmp_path / "a", progress=False)
    b = train(cfg, cache_dir=tmp_path / "b", progress=False)
    assert_same_weights(a.model, b.model)
    plain = train(tiny(epochs=3), cache_dir=tmp_path / "c", progress=False)
    first = [next(iter(m.model.parameters())) for m in (plain, a)]
    assert not torch.equal(*first)  # the augmentation changed what the model saw


def _hold_lock(folder: Path) -> tuple[threading.Thread, threading.Event]:
    """Another holder of the run lock (a thread: flock locks conflict per open file)."""
    ready, release = threading.Event(), threading.Event()

    def hold() -> None:
        with train_mod._run_lock(folder, enabled=True, progress=False):
            ready.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    ready.wait(10)
    return holder, release


def test_second_process_waits_for_the_lock_then_loads_from_cache(tmp_path: Path, capsys) -> None:
    cfg = tiny(epochs=1)
    folder = run_dir(cfg, tmp_path)
    t, release = _hold_lock(folder)
    threading.Timer(0.5, release.set).start()
    run = train(cfg, cache_dir=tmp_path, progress=True)
    t.join()
    assert "waiting for another process" in capsys.readouterr().out
    assert not run.from_cache
    assert train(cfg, cache_dir=tmp_path, progress=False).from_cache


# --------------------------------------------------------------------------------------------
# issue 14: nothing half-written, threads recorded, one lock


def test_nan_loss_in_a_later_epoch_removes_the_run_folder(tmp_path: Path, monkeypatch) -> None:
    from mailviz import objectives

    real, calls = objectives.Objective.loss, []

    def loss(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 3:  # epoch 2, step 1 (2 steps an epoch)
            out.loss = out.loss * math.nan
        return out

    monkeypatch.setattr(objectives.Objective, "loss", loss)
    with pytest.raises(train_mod.NonFiniteLossError) as info:
        train(tiny(), cache_dir=tmp_path, progress=False)
    assert "the loss is nan at epoch 2, step 1 of 2" in str(info.value)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # epoch 1's checkpoint went too: it diverges


def test_nan_loss_is_caught_at_the_epoch_end_when_checks_are_skipped(
    tmp_path: Path, monkeypatch
) -> None:
    from mailviz import checks, objectives

    real = objectives.Objective.loss

    def loss(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        out.loss = out.loss * math.nan
        return out

    monkeypatch.setattr(objectives.Objective, "loss", loss)
    with checks.skip_host_syncs(), pytest.raises(train_mod.NonFiniteLossError) as info:
        train(tiny(), cache_dir=tmp_path, progress=False)
    assert "at epoch 1, a step not known (per-step checks were off)" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_run_that_fails_before_its_first_checkpoint_leaves_no_folder(tmp_path: Path) -> None:
    cfg = get_profile("smoke", dataset="cifar10", model="resnet18", augment=False)
    with pytest.raises(FileNotFoundError):
        train(cfg, cache_dir=tmp_path / "cache", data_root=tmp_path / "nodata", progress=False)
    assert list((tmp_path / "cache").iterdir()) == []


def test_checkpoint_precedes_history_and_temporaries_are_removed(
    tmp_path: Path, monkeypatch
) -> None:
    cfg = tiny()
    folder = run_dir(cfg, tmp_path)
    folder.mkdir(parents=True)
    stale = folder / ".checkpoint.pt.x1y2z3.tmp"  # left by a writer killed mid-write
    stale.write_bytes(b"")
    written: list[str] = []
    real_atomic = train_loop.atomic_write
    real_save = train_loop.save_checkpoint

    def atomic(path, *args, **kwargs):
        written.append(Path(path).name)
        return real_atomic(path, *args, **kwargs)

    def save(path, *args, **kwargs):
        written.append(Path(path).name)
        assert not stale.exists(), "the stale temporary must go before training starts"
        return real_save(path, *args, **kwargs)

    for module in (train_loop, train_resume):  # the loop writes config.json and model.pt
        monkeypatch.setattr(module, "atomic_write", atomic)  # and the resume point each epoch
        monkeypatch.setattr(module, "save_checkpoint", save)
    train(cfg, cache_dir=tmp_path, progress=False)
    assert written == ["config.json", "checkpoint.pt", "history.csv", "checkpoint.pt",
                       "history.csv", "model.pt"]
    assert sorted(p.name for p in folder.iterdir()) == [".lock", "config.json", "history.csv",
                                                         "model.pt"]


def test_threads_are_recorded_and_keyed(tmp_path: Path) -> None:
    cfg = tiny(epochs=1)
    run = train(cfg, cache_dir=tmp_path, progress=False)
    payload = load_checkpoint(run.path / "model.pt")
    assert payload["threads"] == 1 and payload["device_type"] == "cpu"
    assert run_dir(cfg.replace(threads=2), tmp_path) != run.path
    assert run_dir(cfg.replace(threads=None), tmp_path) == run.path


def test_resume_at_another_thread_count_is_refused(tmp_path: Path, monkeypatch) -> None:
    """Acceptance: the checkpoint was written at 1 thread; threads=None resolving to 2 maps to
    the same folder, and resuming there is refused with one line (nothing is changed)."""
    cfg = tiny()
    _crash_after_first_epoch(cfg, tmp_path)
    ckpt = run_dir(cfg, tmp_path) / "checkpoint.pt"
    before = ckpt.read_bytes()
    monkeypatch.setenv("MAILVIZ_THREADS", "2")
    try:
        with pytest.raises(CheckpointError) as info:
            train(cfg.replace(threads=None), cache_dir=tmp_path, progress=False)
    finally:
        torch.set_num_threads(1)
    msg = str(info.value)
    assert "written with 1 CPU thread(s), this run has 2" in msg and "\n" not in msg
    assert "--set threads=1" in msg and "--no-resume" in msg
    assert ckpt.read_bytes() == before
    monkeypatch.delenv("MAILVIZ_THREADS")
    resumed = train(cfg, cache_dir=tmp_path, progress=False)  # at 1 thread: resumes
    full = train(cfg, cache_dir=tmp_path / "full", progress=False)
    assert_same_weights(full.model, resumed.model)


def test_busy_lock_without_waiting_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    holder, release = _hold_lock(folder)
    try:
        with pytest.raises(train_mod.RunBusyError, match="another process is training run"):
            with train_mod._run_lock(folder, enabled=True, progress=False, wait=False):
                pass
    finally:
        release.set()
        holder.join()
    assert not folder.exists()  # the holder wrote nothing: its folder and lock are gone
