"""``verifier audit explain``: why one decision came out as it did, from its record alone.

The record's decision trace gives the clause tree with each clause's outcome, the
thresholds in force and the parameters used; its facts give the status values each clause
read, with their provenance (department, cache, attempts, latency). Labels are bilingual
(中文 English) and aligned by terminal cells (``_columns``), as Chinese takes two a character.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from verifier.audit import AuditedFact, AuditRecord, DecisionTrace
from verifier.cli._audit_source import Located, local_time
from verifier.cli._audit_text import clean, decision_text, fact_result_text
from verifier.cli._columns import pad, width

NO_TRACE = (
    "this record was written before decision traces were kept: its facts are below; "
    "`verifier audit replay` re-evaluates them under the configured items"
)
CANCELLED = "the verification was cancelled before an answer: no decision, no trace"

_OUTCOME_MARK = {"TRUE": "✓ TRUE", "FALSE": "✗ FALSE", "UNKNOWN": "? UNKNOWN"}


def render_explanation(located: Located) -> str:
    record = located.event
    assert isinstance(record, AuditRecord)
    trace = record.trace
    score = f"  score {record.score:g}" if record.score is not None else ""
    rule = trace.rule_version if trace else f"{record.service_item}@{record.item_version}"
    lines = [f"为何如此决定 why this decision: verification {clean(record.request_id)}", ""]
    lines += _labelled(
        [
            ("决定", "decision", f"{decision_text(record)}{score}"),
            ("事项", "service item", f"{clean(record.service_item)} v{clean(record.item_version)}"),
            ("规则版本", "rule version", clean(rule)),
            ("基准日", "reference date", record.reference_date.isoformat()),
            ("时间", "time", f"{local_time(record.time)} Asia/Shanghai"),
            ("日志位置", "log entry", f"seq {located.entry.seq}"),
        ]
    )
    if record.decision is None:
        return "\n".join([*lines, "", CANCELLED])
    facts = {fact.name: fact for fact in record.facts}
    if trace is None:
        lines += ["", NO_TRACE]
    else:
        lines += _trace_lines(trace, facts)
    lines += ["", "事实 facts (status values, with provenance):"]
    lines += _fact_table(record.facts)
    return "\n".join(lines)


def _labelled(rows: Iterable[tuple[str, str, str]], indent: str = "  ") -> list[str]:
    """``中文 English  value`` rows, the values aligned whatever the labels' scripts."""
    labels = [(f"{zh} {en}", value) for zh, en, value in rows]
    columns = max((width(label) for label, _ in labels), default=0)
    return [f"{indent}{pad(label, columns)}  {value}".rstrip() for label, value in labels]


def _trace_lines(trace: DecisionTrace, facts: dict[str, AuditedFact]) -> list[str]:
    lines = ["", "参数 parameters (from the application):"]
    lines += _labelled_values(trace.parameters) or ["  (none)"]
    lines += ["", "阈值 thresholds (dated parameters in force on the reference date):"]
    lines += _labelled_values(trace.thresholds) or ["  (none)"]
    lines += ["", "条款 clauses (outcome, clause, what it means; indented by nesting):"]
    marks = max((width(mark) for mark in _OUTCOME_MARK.values()), default=0)
    for clause in trace.clauses:
        indent = "  " + "  " * clause.depth
        mark = pad(_OUTCOME_MARK.get(clause.outcome, str(clause.outcome)), marks)
        lines.append(f"{indent}{mark}  {clean(clause.clause)}: {clean(clause.label)}")
        detail = indent + " " * (marks + 2)
        if clause.threshold is not None:
            lines.append(f"{detail}threshold {clean(clause.threshold)}")
        if clause.facts:
            lines.append(f"{detail}reads {_read(clause.facts, facts)}")
    for component in trace.score_components:
        points = "UNKNOWN" if component.points is None else f"{component.points:g}"
        basis = f" ({clean(component.basis)})" if component.basis else ""
        lines.append(
            f"  score {clean(component.component)}: {clean(component.label)}  {points}{basis}"
        )
    return lines


def _labelled_values(values: dict[str, Any]) -> list[str]:
    columns = max((width(clean(name)) for name in values), default=0)
    return [f"  {pad(clean(name), columns)}  {clean(value)}" for name, value in values.items()]


def _read(names: Iterable[str], facts: dict[str, AuditedFact]) -> str:
    """``name = value`` for each fact a clause read (``not recorded`` if the record has none
    of that name: the clause then judged it UNKNOWN)."""
    shown = []
    for name in names:
        fact = facts.get(name)
        result = fact_result_text(fact) if fact is not None else "not recorded"
        shown.append(f"{clean(name)} = {result}")
    return "; ".join(shown)


FACT_HEADER = ("名称 name", "部门 department", "结果 result", "来源 source", "次数 attempts",
               "耗时 latency", "替代材料 replaces")  # fmt: skip


def _fact_table(facts: Iterable[AuditedFact]) -> list[str]:
    rows = [FACT_HEADER]
    for fact in facts:
        source = "cache" if fact.cached else "department"
        if fact.stale:
            source += ", stale"
        rows.append(
            (
                clean(fact.name),
                clean(fact.department),
                fact_result_text(fact),
                source,
                str(fact.attempts),
                f"{fact.latency_ms:.1f} ms",
                clean(fact.replaces_document),
            )
        )
    if len(rows) == 1:
        return ["  (none)"]
    widths = [max(width(row[i]) for row in rows) for i in range(len(FACT_HEADER))]
    return [
        "  " + "  ".join(pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


_EXPLAINED = {
    "request_id", "time", "service_item", "item_version", "reference_date", "decision", "score",
    "trace", "facts",
}  # fmt: skip


def explanation_json(located: Located) -> dict[str, Any]:
    record = located.event
    assert isinstance(record, AuditRecord)
    return {"seq": located.entry.seq, **record.model_dump(mode="json", include=_EXPLAINED)}
