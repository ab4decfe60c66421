"""The demo city's department adapters, for the bulk tests."""

from __future__ import annotations

import importlib

import pytest
from support import DEPARTMENTS

from adapters.demo_city import DemoCityManifest
from verifier.adapter import DepartmentAdapter


@pytest.fixture
def city_adapters(demo_city: DemoCityManifest) -> dict[str, DepartmentAdapter]:
    """Every department's SQL adapter over the session's small demo city."""
    adapters: dict[str, DepartmentAdapter] = {}
    for department in DEPARTMENTS:
        module = importlib.import_module(f"adapters.{department}")
        adapters[department] = module.create_adapter({"url": demo_city.urls[department]})
    return adapters
