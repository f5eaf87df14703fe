"""``key=value`` overrides from the command line (``--set eps=8/255 --set params.beta=6``)."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from mailviz.config.experiment import _FLOAT_FIELDS, _INT_FIELDS, ExperimentConfig, _integral_float
from mailviz.errors import ConfigError


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
            name = key[len("params.") :]
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
