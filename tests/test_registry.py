"""The method registry of mailviz.objectives: one module per method, tables derived from it."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from mailviz import objectives
from mailviz.config import ConfigError
from mailviz.objectives import registry

#: The method list and burn-in table as they were before the registry (issue 16): unchanged.
METHODS_BEFORE = (
    "clean", "at", "trades", "mart", "fat", "awp", "gairat", "mail_at",
    "mail_trades", "mail_mart", "weighted_at", "weighted_trades",
)  # fmt: skip
BASE_BEFORE = {
    "gairat": "at", "mail_at": "at", "mail_trades": "trades", "mail_mart": "mart",
    "weighted_at": "at", "weighted_trades": "trades",
}  # fmt: skip


def test_registry_gives_the_same_tables_as_before() -> None:
    assert objectives.METHODS == METHODS_BEFORE
    assert objectives.BASE_METHOD == BASE_BEFORE
    assert list(objectives.BASE_METHOD) == list(BASE_BEFORE)
    assert objectives.REWEIGHTING_METHODS == tuple(BASE_BEFORE)
    assert [objectives.default_attack_loss(m) for m in METHODS_BEFORE] == [
        "ce", "ce", "kl", "ce", "ce", "ce", "ce", "ce", "kl", "ce", "ce", "kl"
    ]  # fmt: skip
    assert [objectives.default_start(m) for m in METHODS_BEFORE] == [
        "uniform", "uniform", "normal", "normal", "uniform", "uniform", "uniform", "uniform",
        "normal", "normal", "uniform", "normal",
    ]  # fmt: skip


@pytest.mark.parametrize("method", METHODS_BEFORE)
def test_each_method_lives_in_its_own_documented_module(method: str) -> None:
    spec = registry.SPECS[method]
    assert spec.name == method
    module = importlib.import_module(spec.loss.__module__)
    assert module.__name__.startswith("mailviz.objectives.")
    assert module.__doc__ and spec.loss.__doc__


def test_a_method_can_bring_its_own_parameter_rule(monkeypatch) -> None:
    def positive(v: object) -> float:
        if not isinstance(v, (int, float)) or v <= 0:
            raise ConfigError(f"toy: width must be > 0, got {v!r}")
        return float(v)

    spec = dataclasses.replace(
        registry.SPECS["at"], defaults={"width": 1.0}, param_rules={"width": positive}
    )
    monkeypatch.setitem(registry.SPECS, "at", spec)
    monkeypatch.setitem(registry._DEFAULTS, "at", spec.defaults)
    assert objectives.validate_params("at", {"width": 3}) == {"width": 3.0}
    with pytest.raises(ConfigError, match="width must be > 0"):
        objectives.validate_params("at", {"width": -1})
