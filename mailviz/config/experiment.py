"""The experiment settings: :class:`ExperimentConfig`, its field types and its checks."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import torch

from mailviz.errors import ConfigError

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
        self._check_schedule_and_setup()
        return self

    def _check_schedule_and_setup(self) -> None:
        """:meth:`validate`'s second half: schedule, budgets, subsets, device, data ↔ model fit."""
        from mailviz import data, models, objectives

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
        raise ConfigError(f"unknown {field_name} {value!r}; valid: {', '.join(valid)}")
