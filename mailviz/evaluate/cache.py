"""Evaluation results on disk: a stable hash of the settings, atomic JSON next to the model."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mailviz.checkpoint import atomic_write

# --------------------------------------------------------------------------------------------
# Results on disk
# --------------------------------------------------------------------------------------------


def _jsonable(config: Any) -> Any:
    if config is None:
        return None
    if hasattr(config, "to_dict"):
        return config.to_dict()
    if isinstance(config, Mapping):
        return {str(k): _jsonable(v) for k, v in config.items()}
    if isinstance(config, (list, tuple)):
        return [_jsonable(v) for v in config]
    if isinstance(config, np.generic):
        return config.item()
    if isinstance(config, Path):
        return str(config)
    return config


def results_hash(config: Any, length: int = 12) -> str:
    """sha256 of the sorted JSON of ``config`` (a mapping or an ExperimentConfig), first ``length``
    hex digits — the same recipe as :func:`mailviz.config.config_hash`.

    Example:
        >>> results_hash({"eps": 0.2, "k": 20}) == results_hash({"k": 20, "eps": 0.2})
        True
    """
    blob = json.dumps(_jsonable(config), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


_MODEL_SUFFIXES = (".pt", ".pth", ".ckpt")


def _results_dir(run_dir_or_path: str | os.PathLike[str]) -> Path:
    path = Path(run_dir_or_path)
    # a file inside the run directory (model.pt, checkpoint.pt) stands for the directory
    is_file = path.is_file() or (not path.exists() and path.suffix in _MODEL_SUFFIXES)
    return path.parent if is_file else path


def _stem(name: str, config: Any) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"name must be a plain file stem (letters, digits, _.-), got {name!r}")
    return name if config is None else f"{name}-{results_hash(config)}"


def save_results(
    frame: pd.DataFrame,
    run_dir_or_path: str | os.PathLike[str],
    name: str,
    config: Any = None,
) -> Path:
    """Write ``frame`` as ``<dir>/results/<name>-<hash>.csv`` plus a ``.json`` with its metadata.

    ``run_dir_or_path`` is a trained model's run directory (or a file inside it, e.g. the
    checkpoint); ``hash`` is :func:`results_hash` of ``config`` (the evaluation settings), so
    different settings never overwrite each other (no hash when ``config`` is None). Both files
    are written atomically (temporary file in the same folder + ``os.replace``); the JSON is
    written last and acts as the commit marker. Floats round-trip exactly.

    Returns:
        The CSV path.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    folder = _results_dir(run_dir_or_path) / "results"
    folder.mkdir(parents=True, exist_ok=True)
    stem = _stem(name, config)
    csv_path = folder / f"{stem}.csv"
    meta = {
        "name": name,
        "hash": None if config is None else results_hash(config),
        "config": _jsonable(config),
        "columns": [str(c) for c in frame.columns],
        "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
        "rows": len(frame),
    }
    atomic_write(csv_path, lambda fh: frame.to_csv(fh, index=False))
    atomic_write(
        folder / f"{stem}.json",
        lambda fh: fh.write(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n"),
    )
    return csv_path


def load_results(
    run_dir_or_path: str | os.PathLike[str], name: str, config: Any = None
) -> pd.DataFrame | None:
    """The frame saved by :func:`save_results` with the same ``name`` and ``config``, else None."""
    folder = _results_dir(run_dir_or_path) / "results"
    stem = _stem(name, config)
    csv_path, meta_path = folder / f"{stem}.csv", folder / f"{stem}.json"
    if not (csv_path.is_file() and meta_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        dtypes: dict[str, str] = meta["dtypes"]
        columns, n_rows = list(meta["columns"]), int(meta["rows"])
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise ValueError(
            f"{meta_path} is not a results metadata file ({type(err).__name__}: {err}); delete "
            f"it and {csv_path.name} to recompute"
        ) from None
    numeric_prefixes = ("int", "uint", "float", "bool")
    text_cols = {c: t for c, t in dtypes.items() if not t.startswith(numeric_prefixes)}
    # pandas ≥ 3 parses floats round-trip by default (and deprecates the option)
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    frame = pd.read_csv(csv_path, dtype=text_cols, **exact)
    if list(frame.columns) != columns or len(frame) != n_rows:
        raise ValueError(
            f"{csv_path} does not match its metadata {meta_path.name} — delete both to recompute"
        )
    numeric = {c: t for c, t in dtypes.items() if c not in text_cols}
    return frame.astype(numeric) if numeric else frame


def cached_eval(
    key: Mapping[str, Any],
    fn: Callable[[], pd.DataFrame],
    *,
    root: str | os.PathLike[str] | None = None,
    name: str = "eval",
    refresh: bool = False,
) -> pd.DataFrame:
    """Load the results keyed by ``key`` if saved, else compute ``fn()``, save and return it.

    ``key`` holds everything that determines the result (model config hash, attack, ε, α list,
    steps, seed, n, ...). Files live in ``<root>/results/<name>-<hash(key)>.{csv,json}``;
    ``root`` defaults to :func:`mailviz.paths.cache_root` (``data/cache``) — pass a trained
    model's run directory to keep them next to the model. ``refresh=True`` recomputes.

    Example:
        >>> key = {"model": "3f2a9c1d0b7e", "eval": "nonuniform", "eps": 0.2, "alphas": [0, 2]}
        >>> compute = lambda: nonuniform_report(model, test, 0.2, [0, 2])  # doctest: +SKIP
        >>> report = cached_eval(key, compute)  # doctest: +SKIP
    """
    if not isinstance(key, Mapping):
        raise ValueError(
            f"key must be a dict of the settings that determine the result, "
            f"got {type(key).__name__}"
        )
    if root is None:
        from mailviz.paths import cache_root

        root = cache_root()
    if not refresh:
        hit = load_results(root, name, key)
        if hit is not None:
            return hit
    frame = fn()
    save_results(frame, root, name, key)
    return frame
