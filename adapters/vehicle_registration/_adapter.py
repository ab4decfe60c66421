"""The vehicle registration adapter: vehicles owned, and whether one is worth over a limit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.sql import ColumnElement, Select

from adapters.vehicle_registration import _derive
from adapters.vehicle_registration._tables import refresh_log, vehicle_ownerships, vehicles
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
    int_parameter,
    latest_refresh,
    subject,
)

DEPARTMENT = "vehicle_registration"


def _owned(ids: Sequence[ColumnElement[str]]) -> Select[Any]:
    joined = vehicle_ownerships.join(vehicles, vehicles.c.plate_no == vehicle_ownerships.c.plate_no)
    return (
        select(
            vehicle_ownerships.c.owner_id,
            vehicle_ownerships.c.plate_no,
            vehicles.c.assessed_value,
            vehicle_ownerships.c.registered_on,
            vehicle_ownerships.c.transferred_on,
        )
        .select_from(joined)
        .where(vehicle_ownerships.c.owner_id.in_(ids))
    )


Records = dict[str, list[_derive.VehicleOwnership]]


class VehicleRegistrationAdapter(SqlDepartmentAdapter[Records]):
    """Answers ``vehicles_owned`` and ``owns_vehicle_valued_over``, one read per batch."""

    department = DEPARTMENT
    read: ClassVar[SubjectRead] = SubjectRead({"v": _owned})
    refresh_statement: ClassVar[Select[Any]] = latest_refresh(refresh_log)

    def collect(self, rows: Mapping[str, list[Row]]) -> Records:
        records: Records = defaultdict(list)
        for owner_id, plate_no, value, registered_on, transferred_on in rows.get("v", ()):
            records[owner_id].append(
                _derive.VehicleOwnership(
                    plate_no, int(value), as_date(registered_on), as_optional_date(transferred_on)
                )
            )
        return records

    @derives("vehicles_owned")
    def _vehicles_owned(self, request: FactRequest, records: Records, as_of: date) -> Answer:
        return _derive.vehicles_owned(records.get(subject(request), ()), as_of)

    @derives("owns_vehicle_valued_over")
    def _valued_over(self, request: FactRequest, records: Records, as_of: date) -> Answer:
        threshold = int_parameter(request, "threshold_yuan", minimum=0)
        return _derive.owns_vehicle_valued_over(records.get(subject(request), ()), as_of, threshold)


def create_adapter(settings: Mapping[str, object]) -> DepartmentAdapter:
    """The ``verifier.adapters`` entry point: ``url`` (required)."""
    backend, refresh_seconds = backend_from_settings(settings, DEPARTMENT)
    return VehicleRegistrationAdapter(backend, refresh_cache_seconds=refresh_seconds)
