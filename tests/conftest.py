"""Shared test settings: one CPU thread, headless matplotlib, quick hypothesis, opt-in tests."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest
import torch
from hypothesis import HealthCheck, settings

torch.set_num_threads(1)
settings.register_profile(
    "mailviz", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("mailviz")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("MAILVIZ_RUN_OPTIN") == "1":
        return
    skip = pytest.mark.skip(reason="opt-in test: set MAILVIZ_RUN_OPTIN=1 to run it")
    for item in items:
        if "optin" in item.keywords:
            item.add_marker(skip)
