"""The run lock (one process trains a run at a time) and cleaning up what a killed run left."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from tqdm.auto import tqdm

from mailviz.training.runs import RunBusyError

try:  # POSIX: the run lock (flock) is available
    import fcntl as _fcntl  # noqa: F401

    _HAVE_FLOCK = True
except ImportError:  # pragma: no cover - Windows
    _HAVE_FLOCK = False


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
def _run_lock(folder: Path, *, enabled: bool, progress: bool, wait: bool = True) -> Iterator[None]:
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
