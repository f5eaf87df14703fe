"""Method hyper-parameters: defaults, the training attack's loss and start, validation.

The tables come from the registry (:mod:`mailviz.objectives.registry`); :func:`validate_params`
checks a ``params`` dict against them and raises :class:`~mailviz.errors.ConfigError` (one line).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from mailviz import weights
from mailviz.errors import ConfigError
from mailviz.objectives.gairat import GAIRAT_WEIGHT_FUNCTIONS
from mailviz.objectives.mail_weights import MAIL_MARGINS, MAIL_WEIGHT_FUNCTIONS
from mailviz.objectives.registry import (
    _ATTACK_LOSS_ALLOWED,
    _ATTACK_LOSS_DEFAULT,
    _DEFAULTS,
    _START_DEFAULT,
    METHODS,
    SPECS,
)
from mailviz.objectives.settings import _is_number

__all__ = ["default_params", "default_attack_loss", "default_start", "validate_params"]

#: ``exp(α·1)`` overflows float32 for α > 88.
_ALPHA_TRAIN_MAX = 80.0


def _check_method(method: object) -> str:
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    return str(method)


def default_params(method: str) -> dict[str, Any]:
    """The hyper-parameters ``method`` uses when ``params`` does not set them (a fresh copy).

    ========================  ======================================================================
    ``trades``                ``beta_trades=6`` (TRADES, CIFAR; their MNIST recipe uses 1)
    ``mart``                  ``beta_mart=5`` (MART ResNet-18; 6 for WRN)
    ``fat``                   ``tau=0, dynamic_tau=False, omega=0.001`` (FAT code; its default run
                              uses ``dynamic_tau=True``: τ = 0, 1, 2 over the epochs)
    ``awp``                   ``awp_gamma=5e-3, awp_warmup=0`` (AT-AWP code)
    ``gairat``                ``lam=-1, weight_fn="tanh"`` (GAIRAT code, fixed λ after burn-in)
    ``mail_at``               ``beta=-0.5, gamma=10`` (MAIL README) + MAIL switches
    ``mail_trades``           ``beta=0, gamma=2, beta_trades=6`` (MAIL README; MAIL's own recipe
                              used TRADES β = 5) + switches
    ``mail_mart``             ``beta=-0.5, gamma=10, beta_mart=5`` (no published MAIL-MART values;
                              MAIL-AT's, since the CE-based term is the weighted one) + switches
    MAIL switches             ``weight_fn="sigmoid", margin="pm", normalize="batch",``
                              ``step_alpha=0.2``
    ``weighted_at``           ``alpha_train=0.1`` (Zeng Table 4's best PGD+ours; Table 2 lists 2.0)
    ``weighted_trades``       ``alpha_train=2, beta_trades=6`` (Zeng Tables 2/4)
    ========================  ======================================================================

    Example:
        >>> default_params("mail_trades")["gamma"]
        2.0
    """
    return dict(_DEFAULTS[_check_method(method)])


def default_attack_loss(method: str) -> str:
    """The training attack's default loss: ``"kl"`` for the TRADES family, else ``"ce"``.

    ``clean`` runs no attack; it reports ``"ce"``.

    Example:
        >>> default_attack_loss("trades"), default_attack_loss("mail_at")
        ('kl', 'ce')
    """
    return _ATTACK_LOSS_DEFAULT[_check_method(method)]


def default_start(method: str) -> str:
    """The training attack's start that ``start="auto"`` resolves to (see the module docstring).

    Example:
        >>> default_start("trades")
        'normal'
    """
    return _START_DEFAULT[_check_method(method)]


def _number(method: str, name: str, v: object, rule: str, ok: Callable[[float], bool]) -> float:
    if not _is_number(v) or not math.isfinite(float(v)) or not ok(float(v)):
        raise ConfigError(
            f"{method}: {name} must be {rule}, got {v!r} (default {_DEFAULTS[method][name]!r})"
        )
    return float(v)


def _integer(method: str, name: str, v: object, minimum: int) -> int:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ConfigError(
            f"{method}: {name} must be an integer >= {minimum}, got {v!r} "
            f"(default {_DEFAULTS[method][name]!r})"
        )
    return v


def _choice(method: str, name: str, v: object, choices: tuple[str, ...]) -> str:
    if v not in choices:
        raise ConfigError(f"{method}: unknown {name} {v!r}; valid: {', '.join(choices)}")
    return str(v)


def validate_params(
    method: str, params: Mapping[str, Any] | None = None, attack_loss: str | None = None
) -> dict[str, Any]:
    """``params`` merged over :func:`default_params`, checked; raises :class:`ConfigError` (1 line).

    Checks: unknown names (the message lists the valid ones for ``method``), ranges
    (``gamma ≥ 0``; ``beta_trades, beta_mart > 0``; MAIL's ``beta`` in [−1, 1] when
    ``margin="pm"`` since PM ∈ [−1, 1], finite for ``"mm"``; ``step_alpha`` in [0, 1];
    ``tau``/``awp_warmup`` integers ≥ 0; ``lam`` finite; ``0 ≤ alpha_train ≤ 80``;
    ``awp_gamma, omega ≥ 0``), names (``weight_fn``, ``margin``, ``normalize``), and whether the
    training attack's loss suits the method (``weighted_at`` needs ``"ce"``, ``weighted_trades``
    ``"kl"``; the others take ce, cw or kl; ``clean`` ignores it). ``attack_loss=None`` means the
    method's default.

    Args:
        method: one of :data:`METHODS`.
        params: method hyper-parameters (``None`` = all defaults).
        attack_loss: the training attack's loss, or ``None``.

    Returns:
        The full, validated parameter dict (numbers as float / int).

    Example:
        >>> validate_params("mail_at", {"gamma": 5})["gamma"]
        5.0
        >>> validate_params("trades", {"beta_trades": 0})
        Traceback (most recent call last):
        ...
        mailviz.errors.ConfigError: trades: beta_trades must be > 0, got 0 (default 6.0)
    """
    method = _check_method(method)
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"params must be a dict of {method} parameters, got {type(params)}")
    defaults = _DEFAULTS[method]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        valid = ", ".join(defaults) if defaults else f"none ({method} takes no parameters)"
        raise ConfigError(f"unknown parameter(s) {unknown} for method {method!r}; valid: {valid}")
    if method != "clean" and attack_loss is not None:
        allowed = _ATTACK_LOSS_ALLOWED[method]
        if attack_loss not in allowed:
            raise ConfigError(
                f"attack_loss {attack_loss!r} does not suit method {method!r}; "
                f"valid: {', '.join(allowed)} (default {_ATTACK_LOSS_DEFAULT[method]!r})"
            )
    p = {**defaults, **params}
    out: dict[str, Any] = {}
    for name, v in p.items():
        if name in ("beta_trades", "beta_mart"):
            out[name] = _number(method, name, v, "> 0", lambda t: t > 0)
        elif name == "gamma":
            out[name] = _number(method, name, v, "finite and >= 0", lambda t: t >= 0)
        elif name == "beta":
            out[name] = _number(method, name, v, "finite", lambda t: True)
        elif name == "step_alpha":
            out[name] = _number(method, name, v, "in [0, 1]", lambda t: 0 <= t <= 1)
        elif name == "weight_fn":
            choices = GAIRAT_WEIGHT_FUNCTIONS if method == "gairat" else MAIL_WEIGHT_FUNCTIONS
            out[name] = _choice(method, name, v, choices)
        elif name == "margin":
            out[name] = _choice(method, name, v, MAIL_MARGINS)
        elif name == "normalize":
            out[name] = _choice(method, name, v, weights.NORMALIZE_MODES)
        elif name in ("tau", "awp_warmup"):
            out[name] = _integer(method, name, v, 0)
        elif name == "dynamic_tau":
            if not isinstance(v, bool):
                raise ConfigError(f"{method}: dynamic_tau must be true or false, got {v!r}")
            out[name] = v
        elif name in ("omega", "awp_gamma"):
            out[name] = _number(method, name, v, "finite and >= 0", lambda t: t >= 0)
        elif name == "lam":
            out[name] = _number(method, name, v, "finite", lambda t: True)
        elif name == "alpha_train":
            out[name] = _number(
                method, name, v, f"in [0, {_ALPHA_TRAIN_MAX:g}]", lambda t: 0 <= t <= 80
            )
        elif name in SPECS[method].param_rules:  # a parameter only this method has
            out[name] = SPECS[method].param_rules[name](v)
        else:  # pragma: no cover - every default has a rule above or in its MethodSpec
            raise AssertionError(f"no validation rule for {name}")
    if out.get("margin") == "pm" and not -1.0 <= out["beta"] <= 1.0:
        raise ConfigError(
            f"{method}: beta must be in [-1, 1] with margin='pm' (PM lies in [-1, 1]), "
            f"got {out['beta']:g}"
        )
    if method == "fat" and out["dynamic_tau"] and "tau" in params:
        raise ConfigError("fat: pass either tau or dynamic_tau=True (which sets tau to 0, 1, 2)")
    return out
