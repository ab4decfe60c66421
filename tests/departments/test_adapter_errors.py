"""Failures at the adapters' edges: every database failure becomes a DepartmentError whose
message carries no record value, no canary and no subject ID; bad settings are refused."""

from __future__ import annotations

import importlib
import shutil
import sqlite3
import uuid
from datetime import date
from pathlib import Path

import pytest
from adapter_support import City, postgres_url, with_search_path
from sqlalchemy import create_engine, make_url, text
from support import DEPARTMENTS

from verifier._errors import (
    ConfigurationError,
    DepartmentAnswerInvalid,
    DepartmentError,
    DepartmentUnavailable,
)
from verifier.adapter import DepartmentAdapter, DepartmentQuery, FactRequest

REFERENCE = date(2026, 8, 31)
FIRST_FACT = {
    "household": "local_household_registration",
    "social_insurance": "social_insurance_enrolled",
    "housing": "owns_no_home_in_city",
    "tax": "has_overdue_tax",
    "vehicle_registration": "vehicles_owned",
    "market_regulation": "has_active_business_registration",
    "civil_affairs": "death_registered",
    "courts": "dishonest_judgment_debtor",
}


def create(department: str, settings: dict[str, object]) -> DepartmentAdapter:
    module = importlib.import_module(f"adapters.{department}")
    adapter: DepartmentAdapter = module.create_adapter(settings)
    return adapter


def query_about(city: City, department: str) -> tuple[DepartmentQuery, str]:
    subject = city.manifest.sample("first_home_local_buyer").subject_id("buyer")
    request = FactRequest("f", FIRST_FACT[department], {"subject": subject})
    return DepartmentQuery(department, REFERENCE, (request,)), subject


def assert_clean(error: DepartmentError, city: City, subject: str) -> None:
    message = str(error)
    assert "CANARY" not in message
    assert subject not in message
    assert not any(canary in message for canary in city.manifest.canaries)
    # Raised outside the driver's except block: its text (SQL, parameters) is not attached.
    assert error.__cause__ is None
    assert error.__context__ is None


@pytest.mark.parametrize("department", DEPARTMENTS)
async def test_a_file_that_is_not_a_database_is_a_department_error(
    tmp_path: Path, sqlite_city: City, department: str
) -> None:
    garbage = tmp_path / f"{department}.db"
    garbage.write_bytes(b"CANARY-not-a-database " * 400)
    adapter = create(department, {"url": f"sqlite:///{garbage}"})
    query, subject = query_about(sqlite_city, department)
    try:
        with pytest.raises(DepartmentError) as raised:
            await adapter.fetch(query)
    finally:
        await adapter.aclose()
    assert not raised.value.retryable
    assert department in str(raised.value)
    assert_clean(raised.value, sqlite_city, subject)


@pytest.mark.parametrize("department", DEPARTMENTS)
async def test_a_missing_table_is_a_department_error(
    tmp_path: Path, sqlite_city: City, department: str
) -> None:
    copy = copy_of(sqlite_city, department, tmp_path)
    with sqlite3.connect(copy) as connection:
        table = connection.execute(
            # Not SQLite's own statistics table (sqlite_stat1 sorts before 'vehicles').
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'refresh_log' "
            "AND name NOT LIKE 'sqlite%' ORDER BY name LIMIT 1"
        ).fetchone()[0]
        connection.execute(f"DROP TABLE {table}")
    connection.close()
    adapter = create(department, {"url": f"sqlite:///{copy}"})
    query, subject = query_about(sqlite_city, department)
    try:
        with pytest.raises(DepartmentError) as raised:
            await adapter.fetch(query)
    finally:
        await adapter.aclose()
    assert_clean(raised.value, sqlite_city, subject)


async def test_a_missing_database_file_is_unavailable_and_not_created(
    tmp_path: Path, sqlite_city: City
) -> None:
    missing = tmp_path / "nowhere" / "household.db"
    adapter = create("household", {"url": f"sqlite:///{missing}"})
    query, subject = query_about(sqlite_city, "household")
    try:
        with pytest.raises(DepartmentUnavailable) as raised:
            await adapter.fetch(query)
    finally:
        await adapter.aclose()
    assert raised.value.retryable
    assert not missing.exists()  # opened read-only: an adapter never creates a database
    assert_clean(raised.value, sqlite_city, subject)


@pytest.mark.postgres
async def test_postgres_tables_that_do_not_exist_are_a_department_error(
    postgres_city: City, postgres_schemas: dict[str, str]
) -> None:
    engine = create_engine(postgres_url())
    schema = f"verifier_test_empty_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    adapter = create("tax", {"url": with_search_path(postgres_url(), schema)})
    query, subject = query_about(postgres_city, "tax")
    try:
        with pytest.raises(DepartmentError) as raised:
            await adapter.fetch(query)
    finally:
        await adapter.aclose()
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
    assert not raised.value.retryable
    assert_clean(raised.value, postgres_city, subject)


@pytest.mark.postgres
async def test_an_unreachable_postgres_server_is_unavailable(
    postgres_city: City, postgres_schemas: dict[str, str]
) -> None:
    url = make_url(postgres_schemas["housing"]).set(port=1)  # nothing listens on port 1
    adapter = create("housing", {"url": url.render_as_string(hide_password=False)})
    query, subject = query_about(postgres_city, "housing")
    try:
        with pytest.raises(DepartmentUnavailable) as raised:
            await adapter.fetch(query)
    finally:
        await adapter.aclose()
    assert raised.value.retryable
    assert_clean(raised.value, postgres_city, subject)


@pytest.mark.parametrize("department", DEPARTMENTS)
@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({}, "url"),
        ({"url": 5}, "url"),
        ({"url": ""}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "nosuchdialect://x"}, "url"),
        ({"url": "sqlite://", "pool_sise": 3}, "pool_sise"),
        ({"url": "sqlite://", "refresh_cache_seconds": -1}, "refresh_cache_seconds"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(
    department: str, settings: dict[str, object], key: str
) -> None:
    with pytest.raises(ConfigurationError, match=rf"departments\.{department}\.{key}"):
        create(department, settings)


@pytest.mark.parametrize("prefix", [4403, "44x3", "4403011"])
def test_a_bad_city_prefix_is_refused(prefix: object) -> None:
    with pytest.raises(ConfigurationError, match="city_prefix"):
        create("household", {"url": "sqlite://", "city_prefix": prefix})


def test_a_url_password_is_not_quoted_in_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as raised:
        create("tax", {"url": "nosuchdialect://user:s3cret@host/db"})
    assert "s3cret" not in str(raised.value)


async def test_the_adapter_setting_of_the_configuration_is_accepted(sqlite_city: City) -> None:
    adapter = create("tax", {"url": sqlite_city.urls["tax"], "adapter": "tax"})
    await adapter.aclose()


def copy_of(city: City, department: str, directory: Path) -> Path:
    copy = directory / f"{department}.db"
    shutil.copy(make_url(city.urls[department]).database or "", copy)
    return copy


def execute(path: Path, sql: str) -> None:
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(sql)
    connection.close()


async def test_a_malformed_record_is_an_invalid_answer_without_its_value(
    tmp_path: Path, sqlite_city: City
) -> None:
    path = copy_of(sqlite_city, "household", tmp_path)
    execute(path, "UPDATE registrations SET registered_since = 'CANARY-garbled-date'")
    adapter = create("household", {"url": f"sqlite:///{path}"})
    query, subject = query_about(sqlite_city, "household")
    try:
        with pytest.raises(DepartmentAnswerInvalid) as raised:
            await adapter.fetch(query)
    finally:
        await adapter.aclose()
    assert_clean(raised.value, sqlite_city, subject)


async def test_a_garbled_refresh_time_is_reported_as_unknown(
    tmp_path: Path, sqlite_city: City
) -> None:
    path = copy_of(sqlite_city, "tax", tmp_path)
    execute(path, "UPDATE refresh_log SET refreshed_at = 'CANARY-when'")
    adapter = create("tax", {"url": f"sqlite:///{path}"})
    try:
        answer = await adapter.fetch(query_about(sqlite_city, "tax")[0])
    finally:
        await adapter.aclose()
    assert answer.source_as_of is None
    assert answer.facts == {"f": False}


@pytest.mark.parametrize(("cache_seconds", "sees_new_load"), [(60, False), (0, True)])
async def test_the_refresh_time_is_cached_for_a_while(
    tmp_path: Path, sqlite_city: City, cache_seconds: int, sees_new_load: bool
) -> None:
    path = copy_of(sqlite_city, "housing", tmp_path)
    url = f"sqlite:///{path}"
    adapter = create("housing", {"url": url, "refresh_cache_seconds": cache_seconds})
    query = query_about(sqlite_city, "housing")[0]
    try:
        first = (await adapter.fetch(query)).source_as_of
        execute(
            path,
            "INSERT INTO refresh_log VALUES "
            "(99, '2026-09-01 13:30:00.000000', 1, 'reload', 'clerk')",
        )
        second = (await adapter.fetch(query)).source_as_of
    finally:
        await adapter.aclose()
    assert first is not None
    assert second is not None
    assert (second > first) is sees_new_load
