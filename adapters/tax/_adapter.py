"""The tax adapter: months of individual income tax in a window, overdue tax."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from sqlalchemy.sql import Select

from adapters.tax import _derive
from adapters.tax._tables import income_tax_spans, refresh_log, tax_arrears
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
    subject_rows,
)
from verifier.model import months_from_spans

DEPARTMENT = "tax"


_spans = subject_rows(
    income_tax_spans.c.resident_id, income_tax_spans.c.first_month, income_tax_spans.c.last_month
)


_arrears = subject_rows(tax_arrears.c.resident_id, tax_arrears.c.due_date, tax_arrears.c.settled_on)


@dataclass(slots=True)
class _Records:
    paid_months: dict[str, frozenset[int]] = field(default_factory=dict)
    arrears: dict[str, list[_derive.Arrear]] = field(default_factory=lambda: defaultdict(list))


class TaxAdapter(SqlDepartmentAdapter[_Records]):
    """Answers ``income_tax_months_in_window`` and ``has_overdue_tax``, one read per application."""

    department = DEPARTMENT
    read: ClassVar[SubjectRead] = SubjectRead({"s": _spans, "a": _arrears})
    refresh_statement: ClassVar[Select[Any]] = latest_refresh(refresh_log)

    def collect(self, rows: Mapping[str, list[Row]]) -> _Records:
        spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for resident_id, first_month, last_month in rows.get("s", ()):
            spans[resident_id].append((first_month, last_month))
        records = _Records({rid: months_from_spans(s) for rid, s in spans.items()})
        for resident_id, due_date, settled_on in rows.get("a", ()):
            records.arrears[resident_id].append(
                _derive.Arrear(as_date(due_date), as_optional_date(settled_on))
            )
        return records

    @derives("income_tax_months_in_window")
    def _months_in_window(self, request: FactRequest, records: _Records, as_of: date) -> Answer:
        window = int_parameter(request, "window_months", minimum=1)
        paid = records.paid_months.get(subject(request), frozenset())
        return _derive.income_tax_months(paid, as_of, window)

    @derives("has_overdue_tax")
    def _has_overdue(self, request: FactRequest, records: _Records, as_of: date) -> Answer:
        return _derive.has_overdue(records.arrears.get(subject(request), ()), as_of)


def create_adapter(settings: Mapping[str, object]) -> DepartmentAdapter:
    """The ``verifier.adapters`` entry point: ``url`` (required)."""
    backend, refresh_seconds = backend_from_settings(settings, DEPARTMENT)
    return TaxAdapter(backend, refresh_cache_seconds=refresh_seconds)
