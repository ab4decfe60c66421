"""The housing adapter: homes owned in the city, first-home status, rental months."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from sqlalchemy.sql import Select

from adapters.housing import _derive
from adapters.housing._tables import ownerships, refresh_log, rentals
from verifier.adapter import DepartmentAdapter, FactRequest
from verifier.adapter.sql import (
    Answer,
    Row,
    SqlDepartmentAdapter,
    SubjectRead,
    as_date,
    as_optional_date,
    backend_from_settings,
    derives,
    latest_refresh,
    subject,
    subject_rows,
    text_parameter,
)

DEPARTMENT = "housing"


_owned = subject_rows(
    ownerships.c.owner_id,
    ownerships.c.house_code,
    ownerships.c.registered_on,
    ownerships.c.released_on,
)


_rented = subject_rows(
    rentals.c.tenant_id, rentals.c.district_code, rentals.c.start_date, rentals.c.end_date
)


@dataclass(slots=True)
class _Records:
    ownerships: dict[str, list[_derive.Ownership]] = field(
        default_factory=lambda: defaultdict(list)
    )
    rentals: dict[str, list[_derive.Rental]] = field(default_factory=lambda: defaultdict(list))


class HousingAdapter(SqlDepartmentAdapter[_Records]):
    """Answers ``homes_owned_in_city``, ``owns_no_home_in_city`` and
    ``registered_rental_months_in_district``, in one read per application."""

    department = DEPARTMENT
    read: ClassVar[SubjectRead] = SubjectRead({"o": _owned, "r": _rented})
    refresh_statement: ClassVar[Select[Any]] = latest_refresh(refresh_log)

    def collect(self, rows: Mapping[str, list[Row]]) -> _Records:
        records = _Records()
        for owner_id, house_code, registered_on, released_on in rows.get("o", ()):
            records.ownerships[owner_id].append(
                _derive.Ownership(house_code, as_date(registered_on), as_optional_date(released_on))
            )
        for tenant_id, district_code, start, end in rows.get("r", ()):
            records.rentals[tenant_id].append(
                _derive.Rental(district_code, as_date(start), as_date(end))
            )
        return records

    @derives("registered_rental_months_in_district")
    def _rental_months(self, request: FactRequest, records: _Records, as_of: date) -> Answer:
        district = text_parameter(request, "district")
        rentals = records.rentals.get(subject(request), ())
        return _derive.rental_months_in_district(rentals, district, as_of)

    @derives("homes_owned_in_city")
    def _homes_owned(self, request: FactRequest, records: _Records, as_of: date) -> Answer:
        return _derive.homes_owned(records.ownerships.get(subject(request), ()), as_of)

    @derives("owns_no_home_in_city")
    def _owns_no_home(self, request: FactRequest, records: _Records, as_of: date) -> Answer:
        return _derive.homes_owned(records.ownerships.get(subject(request), ()), as_of) == 0


def create_adapter(settings: Mapping[str, object]) -> DepartmentAdapter:
    """The ``verifier.adapters`` entry point: ``url`` (required)."""
    backend, refresh_seconds = backend_from_settings(settings, DEPARTMENT)
    return HousingAdapter(backend, refresh_cache_seconds=refresh_seconds)
