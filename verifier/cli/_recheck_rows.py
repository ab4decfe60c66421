"""A caseload's rows, in and out: reading CSV / JSONL rows, turning one into an application,
and an outcome into a result row.

Input columns (the demo city's caseload files, ``adapters/demo_city/_caseloads``):
``case_no``, ``service_item``, ``reference_date`` (ISO), ``purpose``, ``legal_basis``,
``consent_reference``, optionally ``operator``; ``subject_<role>`` per role (the ID; empty
when the role is absent) and ``param_<name>`` per item parameter (integers as the item
declares them).

A row that cannot be made an application is rejected with its row number and the fields
at fault — never a value: any of them could be a resident ID. A result row names the case
(its number, not its people), the decision, the clauses that failed and the facts left
UNKNOWN with their reasons and departments: what a caseworker acts on, no ID in it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier._errors import AccessDenied, InvalidApplication
from verifier.cli._recheck_parquet import parquet_row_count, parquet_rows
from verifier.model import Application, CallOutcome, FactStatus, Truth, parse_application
from verifier.model._plain import PlainResult
from verifier.rules import ServiceItem

FORMATS = ("csv", "jsonl", "parquet")
APPENDABLE = ("csv", "jsonl")
"""What the partial results and the rejects can be written as (a Parquet file cannot grow)."""
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


def file_format(path: Path) -> str:
    """``csv`` or ``jsonl``, from the file name."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "json":
        suffix = "jsonl"
    if suffix not in FORMATS:
        raise ValueError(f"{path.name}: expected a .csv, .jsonl or .parquet file")
    return suffix


def count_rows(path: Path) -> int:
    """How many data rows ``path`` holds (for the progress bar)."""
    form = file_format(path)
    if form == "parquet":
        return parquet_row_count(path)
    # Counted without making the rows (a tenth of the cost of reading them): ``read_rows``
    # gives a row for every CSV record but a blank one, after the header, and for every
    # JSONL line.
    if form == "csv":
        with path.open(encoding="utf-8", newline="") as handle:
            return max(0, sum(1 for record in csv.reader(handle) if record) - 1)
    with path.open(encoding="utf-8") as handle:
        return sum(1 for _ in handle)


def read_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any] | None]]:
    """(row number from 1, the row's fields) for each data row; None for a row that is not
    a row at all (a JSONL line that is not an object, a CSV row of the wrong width)."""
    form = file_format(path)
    if form == "parquet":
        yield from enumerate(parquet_rows(path), start=1)
        return
    if form == "csv":
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            for number, row in enumerate(reader, start=1):
                broken = None in row or any(value is None for value in row.values())
                yield number, None if broken else row
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                data = json.loads(line)
            except ValueError:
                data = None
            yield number, data if isinstance(data, dict) else None


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


def encode_line(row: Mapping[str, Any], columns: tuple[str, ...], form: str) -> str:
    """One output line (with its newline) in ``form``."""
    if form == "jsonl":
        return json.dumps({column: row[column] for column in columns}, ensure_ascii=False) + "\n"
    return _csv_line([";".join(row[c]) if isinstance(row[c], list) else row[c] for c in columns])


def decoded_rows(path: Path, columns: tuple[str, ...], form: str) -> Iterator[dict[str, Any]]:
    """The rows ``encode_line`` wrote to ``path`` (after its header)."""
    with path.open(encoding="utf-8", newline="") as handle:
        if form == "jsonl":
            for line in handle:
                yield json.loads(line)
            return
        reader = csv.reader(handle)
        next(reader, None)
        for cells in reader:
            row: dict[str, Any] = dict(zip(columns, cells, strict=True))
            for column in (*LIST_COLUMNS, "fields"):
                if column in row:
                    row[column] = [part for part in row[column].split(";") if part]
            row["row"] = int(row["row"])
            yield row


def header_line(columns: tuple[str, ...], form: str) -> str:
    return _csv_line(list(columns)) if form == "csv" else ""


class _Line:
    """Where ``csv.writer`` writes one row (it writes a row with one ``write``)."""

    __slots__ = ("text",)

    def __init__(self) -> None:
        self.text = ""

    def write(self, chunk: str) -> None:
        self.text += chunk


def _csv_line(cells: list[Any]) -> str:
    line = _Line()
    csv.writer(line, lineterminator="\n").writerow(cells)
    return line.text
