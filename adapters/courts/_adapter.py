"""The courts adapter: on the dishonest debtors' list, under a consumption restriction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from sqlalchemy.sql import Select

from adapters.courts import _derive
from adapters.courts._tables import consumption_restrictions, dishonest_debtors, refresh_log
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
)

DEPARTMENT = "courts"


_debtors = subject_rows(
    dishonest_debtors.c.debtor_id, dishonest_debtors.c.listed_on, dishonest_debtors.c.removed_on
)


_restrictions = subject_rows(
    consumption_restrictions.c.debtor_id,
    consumption_restrictions.c.restricted_since,
    consumption_restrictions.c.lifted_on,
)


@dataclass(slots=True)
class _Records:
    listings: dict[str, list[_derive.Period]] = field(default_factory=lambda: defaultdict(list))
    restrictions: dict[str, list[_derive.Period]] = field(default_factory=lambda: defaultdict(list))


class CourtsAdapter(SqlDepartmentAdapter[_Records]):
    """Answers ``dishonest_judgment_debtor`` and ``consumption_restricted``, one read per batch."""

    department = DEPARTMENT
    read: ClassVar[SubjectRead] = SubjectRead({"d": _debtors, "r": _restrictions})
    refresh_statement: ClassVar[Select[Any]] = latest_refresh(refresh_log)

    def collect(self, rows: Mapping[str, list[Row]]) -> _Records:
        records = _Records()
        for debtor_id, listed_on, removed_on in rows.get("d", ()):
            records.listings[debtor_id].append(
                _derive.Period(as_date(listed_on), as_optional_date(removed_on))
            )
        for debtor_id, since, lifted_on in rows.get("r", ()):
            records.restrictions[debtor_id].append(
                _derive.Period(as_date(since), as_optional_date(lifted_on))
            )
        return records

    @derives("dishonest_judgment_debtor")
    def _dishonest(self, request: FactRequest, records: _Records, as_of: date) -> Answer:
        return _derive.in_force(records.listings.get(subject(request), ()), as_of)

    @derives("consumption_restricted")
    def _restricted(self, request: FactRequest, records: _Records, as_of: date) -> Answer:
        return _derive.in_force(records.restrictions.get(subject(request), ()), as_of)


def create_adapter(settings: Mapping[str, object]) -> DepartmentAdapter:
    """The ``verifier.adapters`` entry point: ``url`` (required)."""
    backend, refresh_seconds = backend_from_settings(settings, DEPARTMENT)
    return CourtsAdapter(backend, refresh_cache_seconds=refresh_seconds)
