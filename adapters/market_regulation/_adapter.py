"""The market regulation adapter: active business registrations of a person."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.sql import ColumnElement, Select

from adapters.market_regulation import _derive
from adapters.market_regulation._tables import business_entities, business_roles, refresh_log
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
)

DEPARTMENT = "market_regulation"


def _roles(ids: Sequence[ColumnElement[str]]) -> Select[Any]:
    joined = business_roles.join(
        business_entities, business_entities.c.credit_code == business_roles.c.credit_code
    )
    return (
        select(
            business_roles.c.person_id,
            business_roles.c.credit_code,
            business_roles.c.since,
            business_roles.c.until,
            business_entities.c.established_on,
            business_entities.c.deregistered_on,
        )
        .select_from(joined)
        .where(business_roles.c.person_id.in_(ids))
    )


Records = dict[str, list[_derive.BusinessRole]]


class MarketRegulationAdapter(SqlDepartmentAdapter[Records]):
    """Answers ``has_active_business_registration`` and ``active_businesses_registered``."""

    department = DEPARTMENT
    read: ClassVar[SubjectRead] = SubjectRead({"b": _roles})
    refresh_statement: ClassVar[Select[Any]] = latest_refresh(refresh_log)

    def collect(self, rows: Mapping[str, list[Row]]) -> Records:
        records: Records = defaultdict(list)
        for person_id, code, since, until, established, deregistered in rows.get("b", ()):
            records[person_id].append(
                _derive.BusinessRole(
                    code,
                    as_date(since),
                    as_optional_date(until),
                    as_date(established),
                    as_optional_date(deregistered),
                )
            )
        return records

    @derives("active_businesses_registered")
    def _active_businesses(self, request: FactRequest, records: Records, as_of: date) -> Answer:
        return _derive.active_businesses(records.get(subject(request), ()), as_of)

    @derives("has_active_business_registration")
    def _has_active_business(self, request: FactRequest, records: Records, as_of: date) -> Answer:
        return _derive.active_businesses(records.get(subject(request), ()), as_of) > 0


def create_adapter(settings: Mapping[str, object]) -> DepartmentAdapter:
    """The ``verifier.adapters`` entry point: ``url`` (required)."""
    backend, refresh_seconds = backend_from_settings(settings, DEPARTMENT)
    return MarketRegulationAdapter(backend, refresh_cache_seconds=refresh_seconds)
