"""A small demo city, generated once per session for the generator's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.demo_city import DemoCityManifest, generate_demo_city

CITY_PEOPLE = 3_000


@pytest.fixture(scope="session")
def city_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("generated-city")


@pytest.fixture(scope="session")
def city(city_dir: Path) -> DemoCityManifest:
    return generate_demo_city(city_dir, people=CITY_PEOPLE)
