"""The model-cache key: a stable hash of everything that determines the trained weights."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mailviz.config.experiment import CACHE_VERSION, ExperimentConfig

#: Fields that change how fast a run goes but not which model it produces.
_RUNTIME_FIELDS = ("device", "profile")
# fields added after CACHE_VERSION 1: hashed only when they differ from these values, so models
# cached before the field existed keep their keys
_LATER_FIELDS: dict[str, Any] = {"eps_warmup": 0, "cw_confidence": 0.0}
# The CPU thread count changes the trained weights (float sums are split differently), so a
# count other than 1 is part of the key; 1 (every CPU profile) and None (torch's default, the GPU
# profile) are left out, so the keys cached before threads counted stay the same. What a None
# resolves to is recorded in the checkpoint and checked on resume (mailviz.train).
_UNKEYED_THREADS: tuple[Any, ...] = (1, None)


def config_hash(cfg: ExperimentConfig, length: int = 12) -> str:
    """Stable hash of everything that determines the trained weights (the model-cache key).

    Left out: ``device`` and ``profile`` (they do not change the weights), fields added later at
    their old default, and ``threads`` when it is 1 or None. Any other thread count is part of
    the key: on the CPU, ``threads=2`` trains other weights than ``threads=1``, so the two runs
    are cached apart.
    """
    from mailviz import objectives

    d = {k: v for k, v in cfg.to_dict().items() if k not in _RUNTIME_FIELDS}
    for name, default in _LATER_FIELDS.items():
        if d.get(name) == default:
            del d[name]
    if d.get("threads") in _UNKEYED_THREADS:
        del d["threads"]
    # spelled-out defaults and omitted ones describe the same model: hash the resolved values
    d["params"] = objectives.validate_params(cfg.method, cfg.params, attack_loss=cfg.attack_loss)
    d["attack_loss"] = cfg.attack_loss or objectives.default_attack_loss(cfg.method)
    d["_cache_version"] = CACHE_VERSION
    blob = json.dumps(d, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]
