"""The household registration adapter: registration, guardianship and household facts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import and_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement, Select

from adapters.household import _derive
from adapters.household._tables import guardianships, refresh_log, registrations, residents
from verifier._errors import ConfigurationError
from verifier.adapter import DepartmentAdapter, FactRequest
from verifier.adapter.sql import (
    Answer,
    Row,
    SqlBackend,
    SqlDepartmentAdapter,
    SubjectRead,
    as_date,
    as_optional_date,
    backend_from_settings,
    derives,
    int_parameter,
    latest_refresh,
    subject,
    text_parameter,
)

DEPARTMENT = "household"
DEFAULT_CITY_PREFIX = "4403"
"""Shenzhen: every district code of the city starts with these digits (GB/T 2260)."""


def _residents(ids: Sequence[ColumnElement[str]]) -> Select[Any]:
    joined = residents.outerjoin(
        registrations, registrations.c.resident_id == residents.c.resident_id
    )
    return (
        select(
            residents.c.resident_id,
            residents.c.record_status,
            registrations.c.district_code,
            registrations.c.registered_since,
            registrations.c.registered_until,
            registrations.c.household_no,
        )
        .select_from(joined)
        .where(residents.c.resident_id.in_(ids))
    )


_booklet = aliased(registrations, name="booklet")


def _booklets(ids: Sequence[ColumnElement[str]]) -> Select[Any]:
    """Every registration in a booklet any of the subjects was ever entered in."""
    numbers = select(registrations.c.household_no).where(registrations.c.resident_id.in_(ids))
    return select(
        _booklet.c.household_no,
        _booklet.c.resident_id,
        _booklet.c.registered_since,
        _booklet.c.registered_until,
    ).where(_booklet.c.household_no.in_(numbers.scalar_subquery()))


def _guardianships(ids: Sequence[ColumnElement[str]]) -> Select[Any]:
    return select(
        guardianships.c.guardian_id, guardianships.c.child_id, guardianships.c.recorded_since
    ).where(and_(guardianships.c.guardian_id.in_(ids), guardianships.c.child_id.in_(ids)))


@dataclass(slots=True)
class _Records:
    residents: dict[str, _derive.Resident] = field(default_factory=dict)
    guardianships: dict[tuple[str, str], list[_derive.Guardianship]] = field(
        default_factory=lambda: defaultdict(list)
    )
    booklets: dict[str, _derive.Booklet] = field(default_factory=dict)


class HouseholdAdapter(SqlDepartmentAdapter[_Records]):
    """Answers ``registered_in_population_register``, ``local_household_registration``,
    ``household_registered_in_district``, ``guardian_of``, ``household_member_of`` and
    ``household_larger_than`` from the household register, in one read per application."""

    department = DEPARTMENT
    read: ClassVar[SubjectRead] = SubjectRead(
        {"r": _residents, "g": _guardianships, "b": _booklets}
    )
    refresh_statement: ClassVar[Select[Any]] = latest_refresh(refresh_log)

    def __init__(
        self,
        backend: SqlBackend,
        *,
        city_prefix: str = DEFAULT_CITY_PREFIX,
        refresh_cache_seconds: float | None = None,
    ) -> None:
        super().__init__(backend, refresh_cache_seconds=refresh_cache_seconds)
        self.city_prefix = city_prefix

    def collect(self, rows: Mapping[str, list[Row]]) -> _Records:
        status: dict[str, str] = {}
        periods: dict[str, list[_derive.Registration]] = defaultdict(list)
        for resident_id, record_status, district, since, until, number in rows.get("r", ()):
            status[resident_id] = record_status
            if district is not None:  # a resident with no registration row at all
                periods[resident_id].append(
                    _derive.Registration(district, as_date(since), as_optional_date(until), number)
                )
        records = _Records()
        for resident_id, record_status in status.items():
            records.residents[resident_id] = _derive.Resident(
                record_status, tuple(periods.get(resident_id, ()))
            )
        for guardian_id, child_id, recorded_since in rows.get("g", ()):
            records.guardianships[guardian_id, child_id].append(
                _derive.Guardianship(as_date(recorded_since))
            )
        entries: dict[str, list[tuple[str, date, date | None]]] = defaultdict(list)
        for number, resident_id, since, until in rows.get("b", ()):
            entries[number].append((resident_id, as_date(since), as_optional_date(until)))
        records.booklets = {number: _derive.Booklet(tuple(e)) for number, e in entries.items()}
        return records

    @derives("guardian_of")
    def _guardian_of(self, request: FactRequest, records: _Records, as_of: date) -> Answer:
        pair = (subject(request, "guardian"), subject(request, "child"))
        return _derive.is_guardian(records.guardianships.get(pair, ()), as_of)

    @derives("household_member_of")
    def _member_of(self, request: FactRequest, records: _Records, as_of: date) -> Answer:
        member = records.residents.get(subject(request, "member"))
        head = records.residents.get(subject(request, "head"))
        return _derive.same_household(member, head, as_of)

    @derives("household_larger_than")
    def _larger_than(self, request: FactRequest, records: _Records, as_of: date) -> Answer:
        members = int_parameter(request, "members", minimum=1)
        resident = records.residents.get(subject(request))
        return _derive.household_larger_than(resident, records.booklets, as_of, members)

    @derives("registered_in_population_register")
    def _in_register(self, request: FactRequest, records: _Records, as_of: date) -> Answer:
        return _derive.in_population_register(records.residents.get(subject(request)))

    @derives("local_household_registration")
    def _local(self, request: FactRequest, records: _Records, as_of: date) -> Answer:
        resident = records.residents.get(subject(request))
        return _derive.local_registration(resident, as_of, self.city_prefix)

    @derives("household_registered_in_district")
    def _in_district(self, request: FactRequest, records: _Records, as_of: date) -> Answer:
        district = text_parameter(request, "district")
        resident = records.residents.get(subject(request))
        return _derive.registered_in_district(resident, as_of, district)


def create_adapter(settings: Mapping[str, object]) -> DepartmentAdapter:
    """The ``verifier.adapters`` entry point: ``url`` (required), ``city_prefix`` ("4403")."""
    city_prefix = settings.get("city_prefix", DEFAULT_CITY_PREFIX)
    if not isinstance(city_prefix, str) or not city_prefix.isdigit() or len(city_prefix) > 6:
        raise ConfigurationError(
            f"departments.{DEPARTMENT}.city_prefix: must be 1-6 digits of a district code"
        )
    backend, refresh_seconds = backend_from_settings(
        settings, DEPARTMENT, extra_keys=frozenset({"city_prefix"})
    )
    return HouseholdAdapter(backend, city_prefix=city_prefix, refresh_cache_seconds=refresh_seconds)
