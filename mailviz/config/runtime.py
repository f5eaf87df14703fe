"""Where and how a run executes: device, seeds, CPU threads."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from mailviz.errors import ConfigError


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then Apple MPS, then CPU; anything else is passed to torch.device."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device {device!r} requested but CUDA is not available; use device='auto'"
        )
    return dev


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); returns a CPU generator seeded with ``seed``.

    On CPU, two runs with the same seed and thread count produce identical weights.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def set_threads(threads: int | None = None) -> int:
    """Set torch's CPU thread count; ``None`` reads ``MAILVIZ_THREADS`` or keeps torch's default.

    On a shared 2-core machine two OpenMP threads can be 20–70× slower than one when the other
    core is busy, so the small profiles default to one thread. Returns the thread count in force.
    """
    if threads is None:
        env = os.environ.get("MAILVIZ_THREADS", "").strip()
        try:
            threads = int(env) if env else None
        except ValueError:
            raise ConfigError(
                f"MAILVIZ_THREADS must be an integer >= 1, got {env!r} — e.g. MAILVIZ_THREADS=1"
            ) from None
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ConfigError(f"threads must be >= 1, got {threads!r} — e.g. threads=1")
        torch.set_num_threads(threads)
    return torch.get_num_threads()
