"""The social insurance adapter: contribution months, enrolment, income (as a status against a
threshold), pensions in payment and unemployment benefit months."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any, ClassVar

from sqlalchemy.sql import Select

from adapters.social_insurance import _derive
from adapters.social_insurance._tables import (
    contribution_spans,
    insured_persons,
    pension_awards,
    refresh_log,
    status_history,
    unemployment_benefit_spans,
)
from verifier.adapter import DepartmentAdapter, FactRequest
from verifier.adapter.sql import (
    Answer,
    Row,
    SqlDepartmentAdapter,
    SubjectRead,
    as_date,
    as_optional_date,
    backend_from_settings,
    date_parameter,
    derives,
    int_parameter,
    latest_refresh,
    subject,
    subject_rows,
)
from verifier.model import months_from_spans

DEPARTMENT = "social_insurance"


_persons = subject_rows(
    insured_persons.c.resident_id,
    insured_persons.c.status,
    insured_persons.c.status_since,
    insured_persons.c.enrolled_since,
)


_history = subject_rows(
    status_history.c.resident_id,
    status_history.c.id,
    status_history.c.status,
    status_history.c.effective_from,
)


_spans = subject_rows(
    contribution_spans.c.resident_id,
    contribution_spans.c.first_month,
    contribution_spans.c.last_month,
    contribution_spans.c.monthly_base_amount,
)


_pensions = subject_rows(
    pension_awards.c.resident_id, pension_awards.c.started_on, pension_awards.c.stopped_on
)


_benefits = subject_rows(
    unemployment_benefit_spans.c.resident_id,
    unemployment_benefit_spans.c.first_month,
    unemployment_benefit_spans.c.last_month,
)


Records = dict[str, _derive.Insured]


class SocialInsuranceAdapter(SqlDepartmentAdapter[Records]):
    """Answers the contribution-month and enrolment facts, in one read per application."""

    department = DEPARTMENT
    read: ClassVar[SubjectRead] = SubjectRead(
        {"p": _persons, "h": _history, "s": _spans, "n": _pensions, "b": _benefits}
    )
    refresh_statement: ClassVar[Select[Any]] = latest_refresh(refresh_log)

    def collect(self, rows: Mapping[str, list[Row]]) -> Records:
        history: dict[str, list[tuple[date, int, str]]] = defaultdict(list)
        for resident_id, change_id, status, effective_from in rows.get("h", ()):
            history[resident_id].append((as_date(effective_from), change_id, status))
        spans: dict[str, list[_derive.BaseSpan]] = defaultdict(list)
        for resident_id, first_month, last_month, base in rows.get("s", ()):
            spans[resident_id].append(_derive.BaseSpan(first_month, last_month, int(base)))
        records: Records = {}
        for resident_id, status, status_since, enrolled_since in rows.get("p", ()):
            changes = [
                _derive.StatusChange(status, since)
                for since, _, status in sorted(history[resident_id])
            ]
            # The person row states the current status; it is the latest change by definition.
            changes.append(_derive.StatusChange(status, as_date(status_since)))
            records[resident_id] = _with_spans(
                _derive.Insured(as_date(enrolled_since), tuple(changes), frozenset()),
                spans.pop(resident_id, []),
            )
        for resident_id, orphan_spans in spans.items():
            # Contributions without a person row still count as months; enrolment does not.
            records[resident_id] = _with_spans(_derive.NOT_INSURED, orphan_spans)
        self._add_payments(rows, records)
        return records

    @staticmethod
    def _add_payments(rows: Mapping[str, list[Row]], records: Records) -> None:
        """Pensions and benefit months, also for someone with no contribution record."""
        pensions: dict[str, list[_derive.Pension]] = defaultdict(list)
        for resident_id, started_on, stopped_on in rows.get("n", ()):
            pensions[resident_id].append(
                _derive.Pension(as_date(started_on), as_optional_date(stopped_on))
            )
        benefits: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for resident_id, first_month, last_month in rows.get("b", ()):
            benefits[resident_id].append((first_month, last_month))
        for resident_id in pensions.keys() | benefits.keys():
            insured = records.get(resident_id, _derive.NOT_INSURED)
            records[resident_id] = replace(
                insured,
                pensions=tuple(pensions.get(resident_id, ())),
                benefit_months=months_from_spans(benefits.get(resident_id, ())),
            )

    @derives("social_insurance_continuous_months")
    def _continuous(self, request: FactRequest, records: Records, as_of: date) -> Answer:
        return _derive.continuous_months(_insured(request, records), as_of)

    @derives("social_insurance_months_in_window")
    def _in_window(self, request: FactRequest, records: Records, as_of: date) -> Answer:
        window = int_parameter(request, "window_months", minimum=1)
        return _derive.months_in_window(_insured(request, records), as_of, window)

    @derives("contribution_base_average_exceeds")
    def _base_exceeds(self, request: FactRequest, records: Records, as_of: date) -> Answer:
        window = int_parameter(request, "window_months", minimum=1)
        threshold = int_parameter(request, "threshold_yuan", minimum=0)
        return _derive.average_base_exceeds(_insured(request, records), as_of, window, threshold)

    @derives("contribution_months_since")
    def _months_since(self, request: FactRequest, records: Records, as_of: date) -> Answer:
        since = date_parameter(request, "since")
        return _derive.contribution_months_since(_insured(request, records), as_of, since)

    @derives("pension_drawn")
    def _pension(self, request: FactRequest, records: Records, as_of: date) -> Answer:
        return _derive.pension_drawn(_insured(request, records), as_of)

    @derives("unemployment_benefit_months_drawn")
    def _benefit_months(self, request: FactRequest, records: Records, as_of: date) -> Answer:
        since = date_parameter(request, "since")
        return _derive.benefit_months_drawn(_insured(request, records), as_of, since)

    @derives("social_insurance_enrolled")
    def _enrolled(self, request: FactRequest, records: Records, as_of: date) -> Answer:
        return _derive.enrolled(_insured(request, records), as_of)


def _insured(request: FactRequest, records: Records) -> _derive.Insured:
    return records.get(subject(request), _derive.NOT_INSURED)


def _with_spans(insured: _derive.Insured, spans: list[_derive.BaseSpan]) -> _derive.Insured:
    months = months_from_spans((span.first, span.last) for span in spans)
    return replace(insured, paid_months=months, base_spans=tuple(spans))


def create_adapter(settings: Mapping[str, object]) -> DepartmentAdapter:
    """The ``verifier.adapters`` entry point: ``url`` (required)."""
    backend, refresh_seconds = backend_from_settings(settings, DEPARTMENT)
    return SocialInsuranceAdapter(backend, refresh_cache_seconds=refresh_seconds)
