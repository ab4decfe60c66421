"""Readable text of audit records for an auditor's terminal: query rows, one verification or
refusal in full, a citizen's access statement.

Every string that came from a caller (operator, purpose, case number…) goes through
``clean``: the log stores it faithfully, but an escape sequence in it must not repaint the
auditor's screen or forge a line of output.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from verifier.audit import AuditedFact, AuditedRefusal, AuditRecord, RefusalRecord
from verifier.cli._audit_source import Located, Request, local_time
from verifier.cli._columns import pad, width
from verifier.model import FactStatus

QUERY_HEADER = ("time (UTC+8)", "request", "caller", "operator", "item", "decision", "subjects")


def clean(value: object) -> str:
    if value is None:
        return "-"
    text = str(value)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


REFUSED = "REFUSED"
CANCELLED = "CANCELLED"
"""Shown for a verification cancelled after departments were asked: it has no decision."""
"""What a refused request shows where a verification shows its decision."""
NOTHING_READ = "none: refused by access control before any department was asked"


def caller_text(record: Request) -> str:
    if record.caller_department:
        return f"{clean(record.caller_system)}/{clean(record.caller_department)}"
    return clean(record.caller_system)


def subjects_text(record: Request) -> str:
    return ", ".join(f"{clean(s.role)} {clean(s.masked)}" for s in record.subjects)


def fact_result_text(fact: AuditedFact) -> str:
    if fact.status is FactStatus.UNKNOWN:
        return f"UNKNOWN ({fact.reason})"
    if isinstance(fact.value, bool):
        return "yes" if fact.value else "no"
    return clean(fact.value)


def refusal_rules(record: RefusalRecord) -> str:
    """The rules that refused the request, each once, in the order they were applied."""
    return ", ".join(dict.fromkeys(clean(refusal.rule) for refusal in record.refusals))


def outcome_text(record: Request) -> str:
    """A verification's decision, or ``REFUSED (rule, …)``."""
    if isinstance(record, RefusalRecord):
        return f"{REFUSED} ({refusal_rules(record)})"
    return decision_text(record)


def decision_text(record: AuditRecord) -> str:
    """The decision, or CANCELLED for a verification that ended without one."""
    return CANCELLED if record.decision is None else str(record.decision)


def refused_fact_text(refusal: AuditedRefusal) -> str:
    """``rule: fact (department, sharing)``, or ``rule: the whole request``."""
    if refusal.fact is None:
        return f"{clean(refusal.rule)}: the whole request"
    where = ", ".join(clean(part) for part in (refusal.department, refusal.sharing) if part)
    return f"{clean(refusal.rule)}: {clean(refusal.fact)}" + (f" ({where})" if where else "")


def query_cells(record: Request) -> tuple[str, ...]:
    return (
        local_time(record.time),
        clean(record.request_id),
        caller_text(record),
        clean(record.operator),
        f"{clean(record.service_item)} v{clean(record.item_version)}",
        outcome_text(record),
        subjects_text(record),
    )


class StreamingTable:
    """Aligned rows without holding the whole result: the first ``lookahead`` rows set the
    column widths, later rows that are wider simply push their line out."""

    def __init__(self, header: tuple[str, ...], write: Callable[[str], None], lookahead: int = 100):
        self._header = header
        self._write = write
        self._lookahead = lookahead
        self._pending: list[tuple[str, ...]] | None = []
        self._widths: list[int] = []
        self.rows = 0

    def add(self, cells: tuple[str, ...]) -> None:
        self.rows += 1
        if self._pending is None:
            self._write(self._line(cells))
            return
        self._pending.append(cells)
        if len(self._pending) >= self._lookahead:
            self.flush()

    def flush(self) -> None:
        if self._pending is None:
            return
        pending, self._pending = self._pending, None
        if not pending:
            return
        everything = [self._header, *pending]
        self._widths = [max(width(row[i]) for row in everything) for i in range(len(self._header))]
        for cells in everything:
            self._write(self._line(cells))

    def _line(self, cells: tuple[str, ...]) -> str:
        cells_and_widths = zip(cells, self._widths, strict=True)
        return "  ".join(pad(cell, columns) for cell, columns in cells_and_widths).rstrip()


def json_line(located: Located, directory: Path, **extra: Any) -> str:
    """One record as one JSON object, with its place in the log (seq, file, line)."""
    location = located.where(directory).rpartition(":")[0]
    document: dict[str, Any] = {
        "seq": located.entry.seq,
        "file": location,
        "line": located.entry.line,
        **located.event.model_dump(mode="json"),
        **extra,
    }
    return json.dumps(document, ensure_ascii=False)


def _fields(pairs: Iterable[tuple[str, str]]) -> list[str]:
    return [f"  {label:<16} {value}" for label, value in pairs]


def render_verification(located: Located, directory: Path) -> str:
    record = located.event
    assert isinstance(record, AuditRecord)
    score = f"  score {record.score:g}" if record.score is not None else ""
    lines = [f"verification {clean(record.request_id)}", ""]
    lines += _fields(
        [
            ("log entry", f"seq {located.entry.seq}  {located.where(directory)}"),
            ("time", f"{local_time(record.time)} Asia/Shanghai ({record.time.isoformat()})"),
            ("caller", caller_text(record)),
            ("operator", clean(record.operator)),
            ("service item", f"{clean(record.service_item)} v{clean(record.item_version)}"),
            ("reference date", record.reference_date.isoformat()),
            ("purpose", clean(record.purpose)),
            ("legal basis", clean(record.legal_basis)),
            ("consent", clean(record.consent_reference)),
            ("case number", clean(record.case_number)),
            ("trace id", clean(record.trace_id)),
            ("decision", f"{decision_text(record)}{score}"),
            ("duration", f"{record.duration_ms:.1f} ms"),
        ]
    )
    lines += ["", "subjects (role, masked ID, pseudonym):"]
    lines += [
        f"  {clean(s.role):<10} {clean(s.masked):<20} {clean(s.pseudonym)}" for s in record.subjects
    ]
    lines += ["", "department calls:"]
    lines.append(f"  {'department':<18} {'outcome':<15} {'attempts':>8} {'latency':>11}")
    for call in record.department_calls:
        lines.append(
            f"  {pad(clean(call.department), 18)} {call.outcome!s:<15} {call.attempts:>8} "
            f"{call.duration_ms:>8.2f} ms"
        )
    lines += ["", "facts:"]
    name_width = max((width(clean(fact.name)) for fact in record.facts), default=4)
    lines.append(
        f"  {pad('name', name_width)}  {'department':<17} {'sharing':<15}{'result':<30} flags"
    )
    for fact in record.facts:
        flags = " ".join(flag for flag in ("cached", "stale") if getattr(fact, flag))
        lines.append(
            f"  {pad(clean(fact.name), name_width)}  {pad(clean(fact.department), 17)} "
            f"{fact.sharing!s:<15}{pad(fact_result_text(fact), 30)} {flags}".rstrip()
        )
    return "\n".join(lines)


def render_refusal(located: Located, directory: Path) -> str:
    record = located.event
    assert isinstance(record, RefusalRecord)
    lines = [f"refusal {clean(record.request_id)}", ""]
    lines += _fields(
        [
            ("log entry", f"seq {located.entry.seq}  {located.where(directory)}"),
            ("time", f"{local_time(record.time)} Asia/Shanghai ({record.time.isoformat()})"),
            ("caller", caller_text(record)),
            ("operator", clean(record.operator)),
            ("service item", f"{clean(record.service_item)} v{clean(record.item_version)}"),
            ("purpose", clean(record.purpose)),
            ("legal basis", clean(record.legal_basis)),
            ("consent", clean(record.consent_reference)),
            ("case number", clean(record.case_number)),
            ("trace id", clean(record.trace_id)),
            ("outcome", f"{REFUSED} (PERMISSION_DENIED): no department was called, no data read"),
        ]
    )
    lines += ["", "subjects (role, masked ID, pseudonym):"]
    lines += [
        f"  {clean(s.role):<10} {clean(s.masked):<20} {clean(s.pseudonym)}" for s in record.subjects
    ]
    lines.append("")
    lines += table(
        "refused:",
        ("rule", "fact", "catalogue fact", "department", "sharing"),
        [
            (
                refusal.rule,
                refusal.fact if refusal.fact is not None else "(the whole request)",
                refusal.catalogue_fact,
                refusal.department,
                refusal.sharing,
            )
            for refusal in record.refusals
        ],
    )
    return "\n".join(lines)


def render_access(
    record: AuditRecord, roles: Iterable[str], facts: Iterable[AuditedFact], unattributed: int
) -> str:
    """One access in a citizen's statement: who, when, why, and what was read about them."""
    lines = [
        f"{local_time(record.time)}  {clean(record.service_item)} v{clean(record.item_version)}"
        f"  decision {decision_text(record)}  (request {clean(record.request_id)})"
    ]
    read = [f"{clean(f.name)} ({clean(f.department)}): {fact_result_text(f)}" for f in facts] or [
        "none"
    ]
    if unattributed:
        read.append(f"{unattributed} fact(s) of this verification could not be attributed")
    lines += _fields(
        [
            ("by", f"{caller_text(record)}, operator {clean(record.operator)}"),
            ("purpose", clean(record.purpose)),
            ("legal basis", clean(record.legal_basis)),
            ("consent", clean(record.consent_reference)),
            ("case number", clean(record.case_number)),
            ("as", ", ".join(clean(role) for role in roles)),
            ("facts read", read[0]),
            *(("", entry) for entry in read[1:]),
        ]
    )
    return "\n".join(lines)


def render_refused_access(
    record: RefusalRecord,
    roles: Iterable[str],
    refused: Iterable[AuditedRefusal],
    about_others: Iterable[str],
    unattributed: Iterable[str],
) -> str:
    """One refused request in a citizen's statement: who asked, and which rule said no.

    ``refused`` are the refusals of facts about this subject's roles (or of the whole
    request); ``about_others`` and ``unattributed`` are only the rules of the rest, whose
    fact names stay out of this subject's statement."""
    lines = [
        f"{local_time(record.time)}  {clean(record.service_item)} v{clean(record.item_version)}"
        f"  {REFUSED}  (request {clean(record.request_id)})"
    ]
    reasons = [refused_fact_text(refusal) for refusal in refused]
    reasons += [
        f"{clean(rule)}: "
        + ("a fact about another person" if count == 1 else f"{count} facts about others")
        + " named in the request"
        for rule, count in Counter(about_others).items()
    ]  # fmt: skip
    reasons += [
        f"{clean(rule)}: " + ("a fact" if count == 1 else f"{count} facts")
        + " that could not be attributed"
        for rule, count in Counter(unattributed).items()
    ]  # fmt: skip
    lines += _fields(
        [
            ("by", f"{caller_text(record)}, operator {clean(record.operator)}"),
            ("purpose", clean(record.purpose)),
            ("legal basis", clean(record.legal_basis)),
            ("consent", clean(record.consent_reference)),
            ("case number", clean(record.case_number)),
            ("as", ", ".join(clean(role) for role in roles)),
            ("refused", reasons[0] if reasons else "-"),
            *(("", reason) for reason in reasons[1:]),
            ("facts read", NOTHING_READ),
        ]
    )
    return "\n".join(lines)


def table(title: str, header: tuple[str, ...], rows: Iterable[tuple[object, ...]]) -> list[str]:
    """A small aligned table (report sections); numbers right-aligned."""
    body = [tuple(_cell(value) for value in row) for row in rows]
    widths = [max(width(row[i]) for row in (header, *body)) for i in range(len(header))]
    numeric = [all(_is_number(row[i]) for row in body) and i > 0 for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return (
            "  "
            + "  ".join(
                pad(cell, columns, right=right)
                for cell, columns, right in zip(cells, widths, numeric, strict=True)
            ).rstrip()
        )

    return [title, line(header), *(line(row) for row in body)] if body else [title, "  (none)"]


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    return clean(value)


def _is_number(text: str) -> bool:
    return text.replace(".", "", 1).replace("%", "").replace("-", "", 1).isdigit()


def mapping_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2)
