"""Crash-safe checkpoint files: atomic writes, ``weights_only`` reads, one-line errors.

A checkpoint is a ``dict`` of tensors and plain Python values (``int``, ``float``, ``bool``,
``str``, ``None``, and ``dict`` / ``list`` / ``tuple`` of those). That is exactly what
``torch.load(..., weights_only=True)`` accepts, so loading a checkpoint never runs code stored in
the file; a file holding arbitrary Python objects is refused with a clear message instead.

Writing is atomic: :func:`save_checkpoint` writes a temporary file in the destination folder,
flushes and ``fsync``\\ s it, then ``os.replace``\\ s it over ``path``. A crash (or SIGKILL) at
any moment leaves either the previous complete file or the new complete file at ``path``, never
a half-written one, and the temporary file is removed when the write fails inside Python.

Example:
    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = save_checkpoint(d / "ckpt.pt", {"epoch": 3, "w": torch.ones(2)})
    >>> load_checkpoint(d / "ckpt.pt")["epoch"]
    3
"""

from __future__ import annotations

import contextlib
import glob
import os
import pickle
import re
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import torch
from torch import nn

__all__ = [
    "atomic_write",
    "CheckpointError",
    "UnreadableCheckpoint",
    "read_weights_only",
    "save_checkpoint",
    "load_checkpoint",
    "load_state_dict_checked",
    "check_payload",
]

_PLAIN = (str, int, float, bool, type(None))


class CheckpointError(ValueError):
    """A checkpoint is missing, damaged, unsafe or does not fit; the message says what to do."""


def check_payload(payload: Any, where: str = "payload") -> None:
    """Raise ``ValueError`` (one line) unless ``payload`` holds only tensors and plain values.

    Allowed: ``torch.Tensor``, ``str``, ``int``, ``float``, ``bool``, ``None``, ``torch.Size``
    and ``dict`` (str or int keys) / ``list`` / ``tuple`` nesting of those — what
    ``torch.load(weights_only=True)`` reads back.

    Example:
        >>> check_payload({"w": torch.zeros(1), "hist": [{"loss": 0.5}]})
        >>> check_payload({"f": print})
        Traceback (most recent call last):
        ...
        ValueError: payload['f'] is a builtin_function_or_method; checkpoints hold only tensors and plain values (int, float, bool, str, None, dict, list, tuple) — convert it first (e.g. float(v), str(v), torch.as_tensor(a))
    """  # noqa: E501
    # Exact types: subclasses (numpy.float64 is a float, TorchVersion a str) pickle as their
    # own class, which a weights-only load refuses.
    if isinstance(payload, (torch.Tensor, torch.Size)) or type(payload) in _PLAIN:
        return
    if type(payload) in (dict, OrderedDict):
        for key, value in payload.items():
            if not isinstance(key, (str, int)):
                raise ValueError(
                    f"{where} has a key of type {type(key).__name__}; checkpoint dict keys must "
                    "be str or int — convert the key"
                )
            check_payload(value, f"{where}[{key!r}]")
        return
    if type(payload) in (list, tuple):
        for i, value in enumerate(payload):
            check_payload(value, f"{where}[{i}]")
        return
    raise ValueError(
        f"{where} is a {type(payload).__name__}; checkpoints hold only tensors and plain values "
        "(int, float, bool, str, None, dict, list, tuple) — convert it first (e.g. float(v), "
        "str(v), torch.as_tensor(a))"
    )


def save_checkpoint(path: str | os.PathLike[str], payload: dict[str, Any]) -> Path:
    """Write ``payload`` to ``path`` atomically (temp file in the same folder + ``os.replace``).

    The payload is checked first (:func:`check_payload`), so a file that
    :func:`load_checkpoint` could not read back is never written. The parent folder is created
    if needed. If anything fails while writing, the temporary file is deleted and ``path`` keeps
    its previous content.

    Args:
        path: destination file (conventionally ``*.pt``).
        payload: dict of tensors and plain values.

    Returns:
        ``Path(path)``.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "model.pt"
        >>> save_checkpoint(p, {"state_dict": {"w": torch.ones(1)}}).name
        'model.pt'
    """
    if not isinstance(payload, dict):
        raise ValueError(
            f"save_checkpoint expects a dict payload, got {type(payload).__name__} — wrap it, "
            "e.g. {'state_dict': model.state_dict()}"
        )
    check_payload(payload)
    return atomic_write(path, lambda fh: torch.save(payload, fh), binary=True)


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[Any]], None], *,
                 binary: bool = False) -> Path:
    """Write a file atomically: ``write(fh)`` into a temp file in the same folder, fsync, rename.

    Readers see the old file or the complete new one, never a half-written file; a crash or
    interrupt mid-write removes the temp file, and the temporaries of this target that a killed
    writer left (older than a minute) are removed by the next write. Every file mailviz writes
    (checkpoints, run configs, histories, results, figures, ``eval --out``, executed notebooks)
    goes through here. Returns ``Path(path)``.
    """
    target = Path(os.fspath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        text = {} if binary else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, "wb" if binary else "w", **text) as fh:
            os.fchmod(fh.fileno(), 0o644)  # mkstemp makes 0600; a cache is meant to be shared
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
    except BaseException as err:
        # BaseException: a KeyboardInterrupt mid-write must not leave the temp file behind either.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        if isinstance(err, OSError) and err.filename is None and err.errno is not None:
            # "No space left on device" from a flush or fsync names no file: name the target
            raise OSError(err.errno, err.strerror or str(err), str(target)) from err
        raise
    _fsync_dir(target.parent)
    return target


#: A temporary file of a target older than this is left by a killed writer, not a live one.
STALE_TEMPORARY_SECONDS = 60.0


def _remove_stale_temporaries(target: Path) -> None:
    """Delete ``.<name>.*.tmp`` files of ``target`` that a writer killed mid-write left behind
    (older than :data:`STALE_TEMPORARY_SECONDS`, so a concurrent writer's file is spared)."""
    now = time.time()
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            if now - stale.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                stale.unlink()


def _fsync_dir(folder: Path) -> None:
    """Persist the rename itself (POSIX); a no-op where directories cannot be opened."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _first_line(text: str, limit: int = 160) -> str:
    for line in str(text).splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def _unsafe_global(message: str) -> str | None:
    """The ``module.name`` a weights-only unpickler refused, if the error names one."""
    for line in message.splitlines():
        marker = "GLOBAL "
        if marker in line:
            rest = line.split(marker, 1)[1].split()
            if rest:
                return rest[0]
    return None


class UnreadableCheckpoint(CheckpointError):
    """:func:`read_weights_only` could not read a file.

    Attributes:
        path: the file.
        reason: why, in a few words (``"an HTML page, as a failed download leaves"``, the first
            line of torch's error, ...).
        unsafe: the ``module.name`` of a Python object the weights-only unpickler refused (the
            file holds code, which was not run), else ``None``.
    """

    def __init__(self, path: Path, reason: str, unsafe: str | None = None) -> None:
        self.path, self.reason, self.unsafe = path, reason, unsafe
        what = f"arbitrary Python objects ({unsafe})" if unsafe else reason
        super().__init__(f"{path} cannot be read as a weights-only torch checkpoint: {what}")


def read_weights_only(
    path: str | os.PathLike[str], map_location: str | torch.device | None = "cpu"
) -> Any:
    """``torch.load(path, weights_only=True)``: mailviz's one loader for ``.pt`` files.

    The unpickler only rebuilds tensors and plain containers, so a file that holds code (a
    crafted ``__reduce__``, a pickled class) is refused and **nothing in it runs** — whatever
    the environment says: ``weights_only=True`` is passed explicitly, which
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` cannot override. Every failure is one
    :class:`UnreadableCheckpoint` carrying the reason (truncated data, an HTML page saved in
    place of a download, a plain pickle, refused objects); callers add the fix.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "w.pt"
        >>> _ = save_checkpoint(p, {"w": torch.ones(1)})
        >>> read_weights_only(p)["w"]
        tensor([1.])
    """
    file = Path(os.fspath(path))
    try:
        return torch.load(file, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, KeyError, OSError, ValueError,
            IndexError, TypeError, AttributeError) as err:  # fmt: skip
        html = _looks_like_html(file)
        name = None if html else _unsafe_global(str(err))
        if html:
            reason = "an HTML page, as a failed download leaves"
        elif isinstance(err, pickle.UnpicklingError):
            reason = f"a plain pickle or damaged data: {_first_line(err, 80)}"
        else:
            reason = _first_line(err, 80) or type(err).__name__
        raise UnreadableCheckpoint(file, reason, name) from None


def _looks_like_html(file: Path) -> bool:
    try:
        with file.open("rb") as fh:
            return fh.read(64).lstrip().startswith(b"<")
    except OSError:
        return False


def load_checkpoint(
    path: str | os.PathLike[str],
    map_location: str | torch.device | None = "cpu",
    *,
    required: Iterable[str] = (),
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` with ``torch.load(weights_only=True)``.

    Args:
        path: the ``.pt`` file.
        map_location: where tensors land (default CPU).
        required: keys the payload must have (e.g. ``("state_dict",)``).

    Raises:
        CheckpointError: one line naming the file and the fix, when the file is missing, truncated
            or not a torch checkpoint, contains arbitrary Python objects (never executed: the
            weights-only unpickler refuses them), is not a dict, or lacks a ``required`` key.

    Example:
        >>> load_checkpoint("/nonexistent/checkpoint.pt")
        Traceback (most recent call last):
        ...
        mailviz.checkpoint.CheckpointError: no checkpoint at /nonexistent/checkpoint.pt; produce one with `mailviz train ...` or mailviz.train.train(config)
    """  # noqa: E501
    file = Path(os.fspath(path))
    if not file.exists():
        raise CheckpointError(
            f"no checkpoint at {file}; produce one with `mailviz train ...` or "
            "mailviz.train.train(config)"
        )
    if file.is_dir():
        raise CheckpointError(
            f"{file} is a folder, not a checkpoint file; pass the .pt file inside it "
            "(e.g. model.pt or checkpoint.pt)"
        )
    try:
        payload = read_weights_only(file, map_location)
    except UnreadableCheckpoint as err:
        if err.unsafe is not None:
            raise CheckpointError(
                f"{file} contains arbitrary Python objects ({err.unsafe}); mailviz only loads "
                "weights_only checkpoints — nothing in it was executed; retrain or re-save it "
                "with mailviz.checkpoint.save_checkpoint"
            ) from None
        raise CheckpointError(
            f"{file} is truncated or not a torch checkpoint ({err.reason}); delete it and "
            "retrain / resume"
        ) from None
    if not isinstance(payload, dict):
        raise CheckpointError(
            f"{file} holds a {type(payload).__name__}, not a mailviz checkpoint dict; delete it "
            "and retrain / resume"
        )
    missing = [k for k in required if k not in payload]
    if missing:
        raise CheckpointError(
            f"{file} lacks key(s) {missing} (has {sorted(map(str, payload))}); it was not "
            "written by this mailviz version — delete it and retrain / resume"
        )
    return payload


def load_state_dict_checked(
    module: nn.Module | torch.optim.Optimizer | Any, state: Any, *, what: str, source: str | Path
) -> None:
    """``module.load_state_dict(state)``, raising a one-line :class:`CheckpointError` on misfit.

    Works for modules, optimizers, schedulers, grad scalers and anything with
    ``load_state_dict``. A mismatch (missing / unexpected keys, wrong shapes, wrong parameter
    groups) means the file was written for another configuration.

    Example:
        >>> net = nn.Linear(2, 2)
        >>> load_state_dict_checked(net, nn.Linear(2, 3).state_dict(), what="model", source="x.pt")
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mailviz.checkpoint.CheckpointError: x.pt: model state does not fit (size mismatch ...
    """
    if not isinstance(state, dict):
        raise CheckpointError(
            f"{source}: {what} state is a {type(state).__name__}, not a state dict; delete the "
            "file and retrain"
        )
    try:
        module.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as err:
        text = " ".join(str(err).split())
        text = re.sub(r"^Error\(s\) in loading state_dict for \w+: ", "", text)
        if len(text) > 300:
            text = text[:299] + "…"
        raise CheckpointError(
            f"{source}: {what} state does not fit ({text}); it was written for another "
            "configuration — delete it and retrain, or pass the config it was trained with"
        ) from None
