"""The social insurance adapter: continuous months, months in a window, enrolment."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.sql import ColumnElement, Select

from adapters._department import (
    Answer,
    SqlDepartmentAdapter,
    backend_from_settings,
    int_parameter,
    latest_refresh,
    subject,
)
from adapters._sql import Row, SubjectRead, as_date
from adapters.social_insurance import _derive
from adapters.social_insurance._tables import (
    contribution_spans,
    insured_persons,
    refresh_log,
    status_history,
)
from verifier.adapter import DepartmentAdapter, FactRequest
from verifier.model import months_from_spans

DEPARTMENT = "social_insurance"


def _persons(ids: Sequence[ColumnElement[str]]) -> Select[Any]:
    return select(
        insured_persons.c.resident_id,
        insured_persons.c.status,
        insured_persons.c.status_since,
        insured_persons.c.enrolled_since,
    ).where(insured_persons.c.resident_id.in_(ids))


def _history(ids: Sequence[ColumnElement[str]]) -> Select[Any]:
    return select(
        status_history.c.resident_id,
        status_history.c.id,
        status_history.c.status,
        status_history.c.effective_from,
    ).where(status_history.c.resident_id.in_(ids))


def _spans(ids: Sequence[ColumnElement[str]]) -> Select[Any]:
    return select(
        contribution_spans.c.resident_id,
        contribution_spans.c.first_month,
        contribution_spans.c.last_month,
    ).where(contribution_spans.c.resident_id.in_(ids))


Records = dict[str, _derive.Insured]


class SocialInsuranceAdapter(SqlDepartmentAdapter[Records]):
    """Answers the contribution-month and enrolment facts, in one read per application."""

    department = DEPARTMENT
    facts: ClassVar[frozenset[str]] = frozenset(
        {
            "social_insurance_continuous_months",
            "social_insurance_months_in_window",
            "social_insurance_enrolled",
        }
    )
    read: ClassVar[SubjectRead] = SubjectRead({"p": _persons, "h": _history, "s": _spans})
    refresh_statement: ClassVar[Select[Any]] = latest_refresh(refresh_log)

    def collect(self, rows: Mapping[str, list[Row]]) -> Records:
        history: dict[str, list[tuple[date, int, str]]] = defaultdict(list)
        for resident_id, change_id, status, effective_from in rows.get("h", ()):
            history[resident_id].append((as_date(effective_from), change_id, status))
        spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for resident_id, first_month, last_month in rows.get("s", ()):
            spans[resident_id].append((first_month, last_month))
        records: Records = {}
        for resident_id, status, status_since, enrolled_since in rows.get("p", ()):
            changes = [
                _derive.StatusChange(status, since)
                for since, _, status in sorted(history[resident_id])
            ]
            # The person row states the current status; it is the latest change by definition.
            changes.append(_derive.StatusChange(status, as_date(status_since)))
            records[resident_id] = _derive.Insured(
                as_date(enrolled_since),
                tuple(changes),
                months_from_spans(spans.pop(resident_id, ())),
            )
        for resident_id, orphan_spans in spans.items():
            # Contributions without a person row still count as months; enrolment does not.
            records[resident_id] = _derive.Insured(None, (), months_from_spans(orphan_spans))
        return records

    def derive(self, request: FactRequest, records: Records, as_of: date) -> Answer:
        insured = records.get(subject(request), _derive.NOT_INSURED)
        if request.fact == "social_insurance_continuous_months":
            return _derive.continuous_months(insured, as_of)
        if request.fact == "social_insurance_months_in_window":
            window = int_parameter(request, "window_months", minimum=1)
            return _derive.months_in_window(insured, as_of, window)
        return _derive.enrolled(insured, as_of)


def create_adapter(settings: Mapping[str, object]) -> DepartmentAdapter:
    """The ``verifier.adapters`` entry point: ``url`` (required)."""
    backend, refresh_seconds = backend_from_settings(settings, DEPARTMENT)
    return SocialInsuranceAdapter(backend, refresh_cache_seconds=refresh_seconds)
