"""The re-check facts (vehicles, businesses, deaths, pensions, benefits, income, household
booklets) against hand-written records, on SQLite and on PostgreSQL.

Every record below is chosen to sit on a boundary (a car sold on the reference date, a
death registered the day after, a base exactly at the threshold), so each assertion says
which side of it the department must answer.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from adapter_support import postgres_url, with_search_path
from sqlalchemy import MetaData, create_engine, text
from support import reachable_postgres

from adapters.civil_affairs import _tables as civil_affairs
from adapters.demo_city._writer import _as_dicts as as_dicts
from adapters.household import _tables as household
from adapters.market_regulation import _tables as market_regulation
from adapters.social_insurance import _tables as social_insurance
from adapters.vehicle_registration import _tables as vehicle_registration
from verifier._errors import DepartmentError
from verifier.adapter import DepartmentAdapter, DepartmentQuery, FactRequest, Unknown
from verifier.model import UnknownReason, month_index, resident_id_check_character

REFERENCE = date(2026, 8, 31)


def _rid(body: str) -> str:
    return body + resident_id_check_character(body)


A = _rid("44030519800101101")  # head of booklet HH1
B = _rid("44030519820202102")  # A's spouse, same booklet
C = _rid("44030520100303103")  # in HH1, record being transferred
D = _rid("44030519700404104")  # another booklet
E = _rid("44030519990505105")  # left HH1 before the reference date
ABSENT = _rid("11010119900101950")  # no department holds anyone with this ID
M = month_index


def _resident(rid: str, status: str = "normal") -> tuple[Any, ...]:
    return (rid, "某某", "M", "1980-01-01", None, None, status)


def _registration(n: int, rid: str, booklet: str, since: str, until: str | None = None) -> tuple:
    return (n, rid, "440305", since, until, None, booklet)


ROWS: dict[str, dict[str, list[tuple[Any, ...]]]] = {
    "household": {
        "residents": [
            _resident(A),
            _resident(B),
            _resident(C, "pending_transfer"),
            _resident(D),
            _resident(E),
        ],
        "registrations": [
            _registration(1, A, "HH1", "2010-01-01"),
            _registration(2, B, "HH1", "2015-01-01"),
            _registration(3, C, "HH1", "2020-01-01"),
            _registration(4, D, "HH2", "2000-01-01"),
            _registration(5, E, "HH1", "2000-01-01", "2026-01-01"),
            _registration(6, E, "HH3", "2026-01-01"),
        ],
    },
    "social_insurance": {
        "insured_persons": [
            (A, "某某", None, None, "active", "2025-09-01", "2025-09-01"),
            (B, "某某", None, None, "active", "2026-03-01", "2026-03-01"),
        ],
        "contribution_spans": [
            (1, A, M(date(2025, 9, 1)), M(date(2026, 8, 1)), 2000, None),
            (2, B, M(date(2026, 3, 1)), M(date(2026, 8, 1)), 2000, None),
        ],
        "pension_awards": [
            (1, B, "basic_employee", 3000, "2026-05-01", None, None),
            (2, A, "basic_employee", 3000, "2020-01-01", "2026-08-31", None),
        ],
        "unemployment_benefit_spans": [
            (1, D, M(date(2025, 1, 1)), M(date(2026, 12, 1)), 1800, None),
        ],
    },
    "vehicle_registration": {
        "vehicles": [
            ("P1", "V1", "model", "car", 200_000, "2024-01-01"),
            ("P2", "V2", "model", "car", 20_000, "2020-01-01"),
            ("P3", "V3", "model", "car", 500_000, "2022-01-01"),
        ],
        "vehicle_ownerships": [
            (1, "P1", A, "2024-01-01", None, None),
            (2, "P2", B, "2020-01-01", None, None),
            (3, "P3", A, "2022-01-01", "2026-08-31", None),  # sold on the reference date
        ],
    },
    "market_regulation": {
        "business_entities": [
            ("X1", "shop", "individual_business", None, None, "2026-05-01", None),
            ("X2", "company", "company", 100_000, None, "2010-01-01", "2026-08-01"),
            ("X3", "company", "company", 100_000, None, "2010-01-01", None),
        ],
        "business_roles": [
            (1, "X1", A, "operator", "2026-05-01", None, None),
            (2, "X2", B, "legal_representative", "2010-01-01", None, None),
            (3, "X3", D, "legal_representative", "2010-01-01", "2026-01-01", None),
        ],
    },
    "civil_affairs": {
        "death_registrations": [
            (1, C, "2026-08-29", "2026-08-31", None, None, None, "registered"),
            (2, D, "2026-08-30", "2026-09-01", None, None, None, "registered"),
            (3, B, "2026-01-01", "2026-01-05", None, None, None, "revoked"),
        ],
    },
}
METADATA: dict[str, MetaData] = {
    "household": household.metadata,
    "social_insurance": social_insurance.metadata,
    "vehicle_registration": vehicle_registration.metadata,
    "market_regulation": market_regulation.metadata,
    "civil_affairs": civil_affairs.metadata,
}


def _load(urls: Mapping[str, str]) -> None:
    for department, metadata in METADATA.items():
        engine = create_engine(urls[department])
        try:
            metadata.create_all(engine)
            with engine.begin() as connection:
                for name, rows in ROWS[department].items():
                    table = metadata.tables[name]
                    connection.execute(table.insert(), as_dicts(table, rows))
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def sqlite_urls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    directory: Path = tmp_path_factory.mktemp("recheck")
    urls = {d: f"sqlite:///{directory / f'{d}.db'}" for d in METADATA}
    _load(urls)
    return urls


@pytest.fixture(scope="module")
def postgres_urls() -> Iterator[dict[str, str]]:
    url = postgres_url()
    engine = reachable_postgres(url)
    run = uuid.uuid4().hex[:8]
    schemas = {department: f"verifier_recheck_{run}_{department}" for department in METADATA}
    with engine.begin() as connection:
        for schema in schemas.values():
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        urls = {d: with_search_path(url, schema) for d, schema in schemas.items()}
        _load(urls)
        yield urls
    finally:
        with engine.begin() as connection:
            for schema in schemas.values():
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def urls(request: pytest.FixtureRequest) -> dict[str, str]:
    found: dict[str, str] = request.getfixturevalue(f"{request.param}_urls")
    return found


@pytest.fixture
async def adapter_for(urls: dict[str, str]) -> AsyncIterator[Any]:
    import importlib

    opened: list[DepartmentAdapter] = []

    def make(department: str) -> DepartmentAdapter:
        module = importlib.import_module(f"adapters.{department}")
        adapter: DepartmentAdapter = module.create_adapter({"url": urls[department]})
        opened.append(adapter)
        return adapter

    yield make
    for adapter in opened:
        await adapter.aclose()


async def ask(
    adapter: DepartmentAdapter,
    fact: str,
    subjects: Mapping[str, str] | str,
    parameters: Mapping[str, str | int] | None = None,
) -> object:
    slots = {"subject": subjects} if isinstance(subjects, str) else dict(subjects)
    request = FactRequest("q", fact, slots, dict(parameters or {}))
    answer = await adapter.fetch(DepartmentQuery(adapter.department, REFERENCE, (request,)))
    return answer.facts["q"]


async def test_vehicles_owned_and_valued_over_a_threshold(adapter_for: Any) -> None:
    vehicles = adapter_for("vehicle_registration")
    assert await ask(vehicles, "vehicles_owned", A) == 1  # the car sold today is not counted
    assert await ask(vehicles, "vehicles_owned", B) == 1
    over = "owns_vehicle_valued_over"
    assert await ask(vehicles, over, A, {"threshold_yuan": 150_000}) is True
    assert await ask(vehicles, over, A, {"threshold_yuan": 200_000}) is False  # not above
    assert await ask(vehicles, over, B, {"threshold_yuan": 30_000}) is False
    assert await ask(vehicles, "vehicles_owned", ABSENT) == 0
    assert await ask(vehicles, over, ABSENT, {"threshold_yuan": 0}) is False


async def test_active_business_registrations(adapter_for: Any) -> None:
    market = adapter_for("market_regulation")
    assert await ask(market, "has_active_business_registration", A) is True
    assert await ask(market, "active_businesses_registered", A) == 1
    # B's company was deregistered; D left the role before the reference date.
    assert await ask(market, "has_active_business_registration", B) is False
    assert await ask(market, "has_active_business_registration", D) is False
    assert await ask(market, "has_active_business_registration", ABSENT) is False
    assert await ask(market, "active_businesses_registered", ABSENT) == 0


async def test_deaths_registered_on_or_before_the_reference_date(adapter_for: Any) -> None:
    deaths = adapter_for("civil_affairs")
    assert await ask(deaths, "death_registered", C) is True  # registered on the day
    assert await ask(deaths, "death_registered", D) is False  # registered the day after
    assert await ask(deaths, "death_registered", B) is False  # revoked
    assert await ask(deaths, "death_registered", ABSENT) is False


async def test_income_as_a_status_against_a_threshold(adapter_for: Any) -> None:
    fund = adapter_for("social_insurance")
    fact = "contribution_base_average_exceeds"
    year = {"window_months": 12}
    assert await ask(fund, fact, A, {**year, "threshold_yuan": 1365}) is True
    assert await ask(fund, fact, A, {**year, "threshold_yuan": 2000}) is False  # equal
    # Six months at 2,000 over a twelve-month window: 1,000 a month on average.
    assert await ask(fund, fact, B, {**year, "threshold_yuan": 1365}) is False
    assert await ask(fund, fact, B, {"window_months": 6, "threshold_yuan": 1365}) is True
    assert await ask(fund, fact, ABSENT, {**year, "threshold_yuan": 0}) is False


async def test_contributions_pensions_and_benefit_months(adapter_for: Any) -> None:
    fund = adapter_for("social_insurance")
    since = "contribution_months_since"
    assert await ask(fund, since, A, {"since": "2026-06-15"}) == 3  # June, July, August
    assert await ask(fund, since, D, {"since": "2026-06-15"}) == 0
    assert await ask(fund, "pension_drawn", B) is True
    assert await ask(fund, "pension_drawn", A) is False  # stopped on the reference date
    drawn = "unemployment_benefit_months_drawn"
    assert await ask(fund, drawn, D, {"since": "2025-01-01"}) == 20  # to August only
    assert await ask(fund, drawn, D, {"since": "2026-01-20"}) == 8  # this spell's months
    assert await ask(fund, drawn, A, {"since": "2025-01-01"}) == 0
    assert await ask(fund, "pension_drawn", ABSENT) is False
    assert await ask(fund, since, ABSENT, {"since": "2026-01-01"}) == 0
    with pytest.raises(DepartmentError, match="ISO date"):
        await ask(fund, since, A, {"since": "June"})


async def test_household_booklets_say_who_the_family_is(adapter_for: Any) -> None:
    register = adapter_for("household")
    member = "household_member_of"
    assert await ask(register, member, {"member": B, "head": A}) is True
    assert await ask(register, member, {"member": D, "head": A}) is False
    assert await ask(register, member, {"member": E, "head": A}) is False  # moved out
    assert await ask(register, member, {"member": C, "head": A}) == Unknown(
        UnknownReason.RECORD_PENDING
    )
    assert await ask(register, member, {"member": ABSENT, "head": A}) is False
    larger = "household_larger_than"
    # HH1 lists A, B and C on the reference date (E left in January).
    assert await ask(register, larger, A, {"members": 2}) is True
    assert await ask(register, larger, A, {"members": 3}) is False
    assert await ask(register, larger, D, {"members": 1}) is False
    assert await ask(register, larger, ABSENT, {"members": 1}) is False


async def test_one_batch_answers_many_subjects_alike(adapter_for: Any) -> None:
    """fetch_many reads every subject of every query in one statement per department."""
    vehicles = adapter_for("vehicle_registration")
    queries = [
        DepartmentQuery(
            "vehicle_registration",
            REFERENCE,
            (FactRequest("q", "vehicles_owned", {"subject": subject}, {}),),
        )
        for subject in (A, B, ABSENT)
    ]
    answers = await vehicles.fetch_many(queries)
    assert [answer.facts["q"] for answer in answers] == [1, 1, 0]
