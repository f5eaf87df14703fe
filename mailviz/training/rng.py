"""Every random stream of a run as a checkpointable state, and the attack stream's seed."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

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
        (
            "MT19937",
            npst["keys"].numpy().astype(np.uint32),
            npst["pos"],
            npst["has_gauss"],
            npst["cached_gaussian"],
        )
    )
    if device.type == "cuda" and state.get("cuda") is not None:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def _attack_seed(seed: int, rank: int) -> int:
    return seed + 1_000_003 * (rank + 1)
