"""The courts department (built on the integrator kit by following docs/integrators.md):
listings and restriction orders in force on the reference date, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from adapter_support import City
from sqlalchemy import create_engine, text

from adapters.courts._derive import Period, in_force
from verifier.adapter import DepartmentQuery, FactRequest

REFERENCE = date(2026, 8, 31)


def test_a_period_is_in_force_from_its_start_until_before_its_end() -> None:
    listing = Period(date(2025, 1, 1), date(2026, 8, 31))
    assert in_force([listing], date(2025, 1, 1))
    assert in_force([listing], date(2026, 8, 30))
    assert not in_force([listing], REFERENCE)  # removed on the day: no longer listed
    assert not in_force([listing], date(2024, 12, 31))
    assert in_force([Period(date(2020, 1, 1), None)], REFERENCE)
    assert not in_force([], REFERENCE)


def debtors(city: City) -> tuple[list[str], list[str]]:
    """(listed on the reference date, listed once but removed by then), from the raw table."""
    engine = create_engine(city.urls["courts"])
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT debtor_id, listed_on, removed_on FROM dishonest_debtors")
            ).all()
    finally:
        engine.dispose()
    listed, removed = [], []
    for debtor, listed_on, removed_on in rows:
        if date.fromisoformat(str(listed_on)) > REFERENCE:
            continue
        gone = removed_on is not None and date.fromisoformat(str(removed_on)) <= REFERENCE
        (removed if gone else listed).append(debtor)
    return listed, removed


async def test_the_city_s_debtors_are_answered_as_listed(city: City) -> None:
    listed, removed = debtors(city)
    assert listed  # 1.2 % of adults of a 2,000-people city were listed, a third removed
    assert removed
    removed = [debtor for debtor in removed if debtor not in listed]
    requests = tuple(
        FactRequest(f"{kind}{index}", "dishonest_judgment_debtor", {"subject": debtor})
        for kind, group in (("listed", listed), ("removed", removed))
        for index, debtor in enumerate(group)
    )
    adapter = city.adapter("courts")
    try:
        answer = await adapter.fetch(DepartmentQuery("courts", REFERENCE, requests))
    finally:
        await adapter.aclose()
    assert all(answer.facts[f"listed{i}"] is True for i in range(len(listed)))
    assert all(answer.facts[f"removed{i}"] is False for i in range(len(removed)))
    assert answer.source_as_of is not None
