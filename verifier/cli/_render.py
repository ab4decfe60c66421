"""Readable text for results, for people at a terminal (clerks, developers, auditors)."""

from __future__ import annotations

from verifier.cli._columns import pad, width
from verifier.model import FactResult, FactStatus, VerificationResult


def fact_value_text(fact: FactResult) -> str:
    if fact.status is FactStatus.UNKNOWN:
        return f"UNKNOWN ({fact.reason})"
    if isinstance(fact.value, bool):
        return "yes" if fact.value else "no"
    return str(fact.value)


def render_result(result: VerificationResult) -> str:
    lines = [
        f"{result.service_item} v{result.item_version}  as of {result.reference_date}"
        f"  request {result.request_id}",
        f"decision: {result.decision.outcome}"
        + (f"  score {result.decision.score:g}" if result.decision.score is not None else ""),
        "",
        "facts:",
    ]
    name_width = max((width(fact.name) for fact in result.facts), default=10)
    for fact in result.facts:
        source = fact.provenance
        flags = " cached" if source.cached else ""
        lines.append(
            f"  {pad(fact.name, name_width)}  {pad(fact_value_text(fact), 28)} "
            f"{source.department}{flags}"
        )
    lines += ["", "explanation:"]
    for clause in result.decision.explanation:
        threshold = f"  [{clause.threshold}]" if clause.threshold else ""
        lines.append(f"  {'  ' * clause.depth}{clause.outcome:<7} {clause.label}{threshold}")
    lines += ["", "department calls:"]
    for call in result.department_calls:
        lines.append(f"  {call.department:<18} {call.outcome:<14} {call.duration_ms:8.2f} ms")
    if result.documents_not_required:
        lines += ["", "documents no longer required:"]
        lines += [f"  - {document}" for document in result.documents_not_required]
    return "\n".join(lines)
