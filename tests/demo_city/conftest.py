"""A small demo city, generated once per session for the generator's tests."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from support import DEPARTMENTS

from adapters.demo_city import DemoCityManifest, generate_demo_city
from verifier.adapter import DepartmentAdapter

CITY_PEOPLE = 3_000


@pytest.fixture(scope="session")
def city_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("generated-city")


@pytest.fixture(scope="session")
def city(city_dir: Path) -> DemoCityManifest:
    return generate_demo_city(city_dir, people=CITY_PEOPLE)


@pytest.fixture
def city_adapters(city: DemoCityManifest) -> dict[str, DepartmentAdapter]:
    """Every department's SQL adapter over the session's city."""
    adapters: dict[str, DepartmentAdapter] = {}
    for department in DEPARTMENTS:
        module = importlib.import_module(f"adapters.{department}")
        adapters[department] = module.create_adapter({"url": city.urls[department]})
    return adapters
