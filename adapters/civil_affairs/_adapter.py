"""The civil affairs adapter: whether a death is registered by the reference date."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

from sqlalchemy.sql import Select

from adapters.civil_affairs._tables import death_registrations, refresh_log
from verifier.adapter import DepartmentAdapter, FactRequest
from verifier.adapter.sql import (
    Answer,
    Row,
    SqlDepartmentAdapter,
    SubjectRead,
    as_date,
    backend_from_settings,
    derives,
    latest_refresh,
    subject,
    subject_rows,
)

DEPARTMENT = "civil_affairs"
REVOKED = "revoked"


_deaths = subject_rows(
    death_registrations.c.resident_id,
    death_registrations.c.registered_on,
    death_registrations.c.status,
)


Records = dict[str, list[date]]
"""Per person, the dates their (not revoked) death registrations were recorded."""


class CivilAffairsAdapter(SqlDepartmentAdapter[Records]):
    """Answers ``death_registered``, one read per batch."""

    department = DEPARTMENT
    read: ClassVar[SubjectRead] = SubjectRead({"d": _deaths})
    refresh_statement: ClassVar[Select[Any]] = latest_refresh(refresh_log)

    def collect(self, rows: Mapping[str, list[Row]]) -> Records:
        records: Records = defaultdict(list)
        for resident_id, registered_on, status in rows.get("d", ()):
            if status != REVOKED:
                records[resident_id].append(as_date(registered_on))
        return records

    @derives("death_registered")
    def _death_registered(self, request: FactRequest, records: Records, as_of: date) -> Answer:
        # Registered on or before the reference date: a death recorded later was not yet
        # known then, so a replay of an earlier re-check decides as it did.
        return any(day <= as_of for day in records.get(subject(request), ()))


def create_adapter(settings: Mapping[str, object]) -> DepartmentAdapter:
    """The ``verifier.adapters`` entry point: ``url`` (required)."""
    backend, refresh_seconds = backend_from_settings(settings, DEPARTMENT)
    return CivilAffairsAdapter(backend, refresh_cache_seconds=refresh_seconds)
