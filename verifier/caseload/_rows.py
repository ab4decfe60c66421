"""The caseload format: a row of a caseload in, an application out; an outcome in, a result
row (or a reject) out — shared by ``verifier recheck`` (files) and ``verifier.spark``
(DataFrames), so both read and write exactly the same columns.

Input columns (the demo city's caseload files, ``adapters/demo_city/_caseloads``):
``case_no``, ``service_item``, ``reference_date`` (ISO), ``purpose``, ``legal_basis``,
``consent_reference``, optionally ``operator``; ``subject_<role>`` per role (the ID; empty
when the role is absent) and ``param_<name>`` per item parameter (integers as the item
declares them). Values arrive as text (``text_cells`` makes typed cells text, as a CSV
gives them).

A row that cannot be made an application is rejected with its row number and the fields
at fault — never a value: any of them could be a resident ID. A result row names the case
(its number, not its people), the decision, the clauses that failed and the facts left
UNKNOWN with their reasons and departments: what a caseworker acts on, no ID in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from verifier._errors import AccessDenied, InvalidApplication
from verifier.engine import BulkOutcome
from verifier.model import Application, CallOutcome, FactStatus, Truth, parse_application
from verifier.model._plain import PlainResult
from verifier.rules import ServiceItem

DECISION_ORDER = ("NOT_ELIGIBLE", "NEEDS_REVIEW", "ELIGIBLE")
"""The output's order: whom to stop paying first, then whom a caseworker must look at."""
RESULT_COLUMNS = (
    "row",
    "case_no",
    "service_item",
    "reference_date",
    "decision",
    "failed_clauses",
    "unknown_facts",
    "failed_calls",
    "request_id",
)
"""``failed_clauses``: the rule's leaf clauses that came out false; ``unknown_facts``:
``fact:REASON:department``; ``failed_calls``: ``department:OUTCOME``; lists joined by ``;``
in CSV, JSON arrays in JSONL."""
LIST_COLUMNS = ("failed_clauses", "unknown_facts", "failed_calls")
REJECT_COLUMNS = ("row", "fields", "reason")
TEXT_FIELDS = {
    "case_no": "case_number",
    "reference_date": "reference_date",
    "purpose": "purpose",
    "legal_basis": "legal_basis",
    "consent_reference": "consent_reference",
    "operator": "operator",
}


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why a row has no result: the fields at fault (names only) and a reason."""

    row: int
    fields: tuple[str, ...]
    reason: str

    def cells(self) -> dict[str, Any]:
        return {"row": self.row, "fields": list(self.fields), "reason": self.reason}


def application_of(
    number: int, row: Mapping[str, Any] | None, item: ServiceItem
) -> Application | Rejected:
    """The application of one row of ``item``'s caseload, or why there is none."""
    if row is None:
        return Rejected(number, ("row",), "not a row of the caseload (malformed line)")
    given_item = row.get("service_item") or item.id
    if given_item != item.id:
        return Rejected(number, ("service_item",), f"not a row of {item.id}")
    data: dict[str, Any] = {"service_item": item.id, "subjects": [], "parameters": {}}
    columns: dict[str, str] = {}
    for column, value in row.items():
        if value in (None, ""):
            continue
        if column in TEXT_FIELDS:
            data[TEXT_FIELDS[column]] = value
            columns[TEXT_FIELDS[column]] = column
        elif column.startswith("subject_"):
            role = column.removeprefix("subject_")
            columns[f"subjects[{len(data['subjects'])}]"] = column
            data["subjects"].append({"role": role, "id": value})
        elif column.startswith("param_"):
            name = column.removeprefix("param_")
            columns[f"parameters.{name}"] = column
            definition = item.parameters.get(name)
            if definition is not None and definition.type == "integer":
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    return Rejected(number, (column,), "not a whole number")
            data["parameters"][name] = value
    try:
        return parse_application(data)
    except InvalidApplication as error:
        return rejected_for(number, error, columns)


def rejected_for(
    number: int, error: InvalidApplication | AccessDenied, columns: Mapping[str, str]
) -> Rejected:
    """The reject of a row the library refused, its fields named as the file's columns."""
    if isinstance(error, AccessDenied):
        rules = sorted({refusal.rule for refusal in error.refusals})
        return Rejected(number, ("access",), "refused: " + ", ".join(rules))
    fields = tuple(dict.fromkeys(_column(v.field, columns) for v in error.violations))
    reasons = "; ".join(dict.fromkeys(v.description for v in error.violations))
    return Rejected(number, fields, reasons)


def _column(field: str, columns: Mapping[str, str]) -> str:
    for prefix, column in sorted(columns.items(), key=lambda entry: -len(entry[0])):
        if field == prefix or field.startswith((f"{prefix}.", f"{prefix}[")):
            return column
    return field


def subject_columns(application: Application) -> dict[str, str]:
    """Violation path → column, for an application the library rejected after parsing."""
    columns = {f"subjects[{i}]": f"subject_{s.role}" for i, s in enumerate(application.subjects)}
    columns.update({f"parameters.{name}": f"param_{name}" for name in application.parameters})
    columns.update({field: column for column, field in TEXT_FIELDS.items()})
    return columns


def result_row(number: int, application: Application, result: PlainResult) -> dict[str, Any]:
    explanation = result.decision.explanation
    failed = [
        clause.clause
        for index, clause in enumerate(explanation)
        if clause.outcome is Truth.FALSE
        and (index + 1 == len(explanation) or explanation[index + 1].depth <= clause.depth)
    ]
    unknown = [
        f"{fact.name}:{fact.reason.value if fact.reason else ''}:{fact.provenance.department}"
        for fact in result.facts
        if fact.status is FactStatus.UNKNOWN
    ]
    calls = [
        f"{call.department}:{call.outcome.value}"
        for call in result.department_calls
        if call.outcome is not CallOutcome.OK
    ]
    return {
        "row": number,
        "case_no": application.case_number or "",
        "service_item": result.service_item,
        "reference_date": result.reference_date.isoformat(),
        "decision": result.decision.outcome.value,
        "failed_clauses": failed,
        "unknown_facts": unknown,
        "failed_calls": calls,
        "request_id": result.request_id,
    }


def outcome_row(number: int, outcome: BulkOutcome[PlainResult]) -> dict[str, Any] | Rejected:
    """Row ``number``'s result row, or its reject (the library refused the application)."""
    if outcome.result is not None:
        return result_row(number, outcome.application, outcome.result)
    assert outcome.error is not None
    return rejected_for(number, outcome.error, subject_columns(outcome.application))


def text_cells(row: Mapping[str, Any]) -> dict[str, str | None]:
    """A typed row's cells as text, as a CSV row gives them (Parquet, Arrow)."""
    return {key: None if value is None else str(value) for key, value in row.items()}
