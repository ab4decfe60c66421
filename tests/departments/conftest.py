"""Fixtures for the department adapter tests: a small demo city on SQLite and PostgreSQL.

The city is generated once per session. Tests that take the ``city`` fixture run against
both backends (the PostgreSQL ones are marked ``postgres``), so they are literally the same
tests. PostgreSQL comes from ``VERIFIER_TEST_POSTGRES_URL``; each department gets a fresh
schema, dropped at the end of the session.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from adapter_support import City, postgres_url, with_search_path
from sqlalchemy import text
from support import DEPARTMENTS, SMALL_CITY_PEOPLE, reachable_postgres

from adapters.demo_city import DemoCityManifest, write_demo_city
from verifier.adapter import DepartmentAdapter


@pytest.fixture(scope="session")
def sqlite_city(demo_city: DemoCityManifest) -> City:
    """The session's demo city (tests/conftest.py): tests here only ever change copies."""
    return City("sqlite", demo_city)


@pytest.fixture(scope="session")
def postgres_schemas() -> Iterator[dict[str, str]]:
    """One fresh schema per department on the test server (URLs by department)."""
    url = postgres_url()
    engine = reachable_postgres(url)
    run = uuid.uuid4().hex[:8]
    schemas = {department: f"verifier_test_{run}_{department}" for department in DEPARTMENTS}
    with engine.begin() as connection:
        for schema in schemas.values():
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield {d: with_search_path(url, schema) for d, schema in schemas.items()}
    finally:
        with engine.begin() as connection:
            for schema in schemas.values():
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_city(postgres_schemas: dict[str, str]) -> City:
    return City("postgres", write_demo_city(postgres_schemas, people=SMALL_CITY_PEOPLE))


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def city(request: pytest.FixtureRequest) -> City:
    """The same small city on each backend: tests taking it run once per backend."""
    found: City = request.getfixturevalue(f"{request.param}_city")
    return found


@pytest.fixture
async def department_adapters(city: City) -> AsyncIterator[dict[str, DepartmentAdapter]]:
    adapters = {department: city.adapter(department) for department in DEPARTMENTS}
    yield adapters
    for adapter in adapters.values():
        await adapter.aclose()
