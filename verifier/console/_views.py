"""Turning audit records and figures into what the templates show: texts, charts.

Caller-supplied strings reach the page through Jinja's autoescaping; the SVG charts escape
their own text (``_charts``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup

from verifier.audit import AuditedFact, AuditRecord, RefusalRecord
from verifier.catalogue import Catalogue
from verifier.cli._audit_report import DECISIONS, SharingReport, documents_spared
from verifier.cli._audit_source import Request, local_time
from verifier.cli._audit_text import fact_result_text, refusal_rules
from verifier.console._charts import (
    KNOWN_COLOUR,
    UNKNOWN_COLOUR,
    Segment,
    bar_chart,
    colour,
    line_chart,
    stacked_bar_chart,
)
from verifier.console._data import Timeline
from verifier.console._labels import Language, label

__all__ = ["fact_result_text", "local_time"]


def is_refusal(record: Request) -> bool:
    return isinstance(record, RefusalRecord)


def outcome(record: Request, language: Language) -> str:
    if isinstance(record, RefusalRecord):
        return f"{label('refused', language)} ({refusal_rules(record)})"
    if record.decision is None:
        return label("cancelled", language)
    return str(record.decision)


def outcome_class(record: Request) -> str:
    """A CSS class per outcome, so decisions read at a glance."""
    if isinstance(record, RefusalRecord):
        return "refused"
    return (record.decision or "cancelled").lower()


def subjects(record: Request) -> str:
    return ", ".join(f"{s.role} {s.masked}" for s in record.subjects)


def fact_result(fact: AuditedFact, language: Language) -> str:
    if isinstance(fact.value, bool) and fact.reason is None:
        return label("yes" if fact.value else "no", language)
    return fact_result_text(fact)


def documents_of(record: Request, catalogue: Catalogue) -> list[str]:
    return documents_spared(record, catalogue) if isinstance(record, AuditRecord) else []


def clause_tree(record: Request) -> Any:
    """The record's decision trace (rule version, parameters, thresholds, labelled clauses
    with their outcomes), or None: a refusal, a cancelled verification, or a record written
    before traces were kept."""
    return getattr(record, "trace", None)


def yes_no(value: bool, language: Language) -> str:
    return label("yes" if value else "no", language)


def dashboard_charts(
    report: SharingReport, timeline: Timeline, language: Language
) -> dict[str, Markup]:
    """Every chart of the sharing-performance page, as SVG markup."""
    figures = report.as_json()
    empty = label("chart.empty", language)
    departments: Mapping[str, Mapping[str, Any]] = figures["departments"]
    known, unknown = label("chart.known", language), label("chart.unknown", language)
    charts = {
        "facts": stacked_bar_chart(
            label("chart.facts", language),
            [
                (
                    name,
                    [
                        Segment(known, d["known"], KNOWN_COLOUR),
                        Segment(unknown, d["unknown"], UNKNOWN_COLOUR),
                    ],
                )
                for name, d in departments.items()
                if d["facts"]
            ],
            empty,
            legend=True,
        ),
        "decisions": stacked_bar_chart(
            label("chart.decisions", language),
            [
                (item, [Segment(d, counts[d], colour(n)) for n, d in enumerate(DECISIONS)])
                for item, counts in figures["by_item"].items()
            ],
            empty,
            legend=True,
        ),
        "documents": bar_chart(
            label("chart.documents", language),
            list(figures["documents_not_required"].items()),
            empty,
        ),
        "refusals": bar_chart(
            label("chart.refusals", language),
            [(rule, counts["requests"]) for rule, counts in figures["refusals_by_rule"].items()],
            empty,
        ),
        "alerts": bar_chart(
            label("chart.alerts", language),
            [(rule, counts["alerts"]) for rule, counts in figures["alerts_by_rule"].items()],
            empty,
        ),
        **_timeline_charts(timeline, language, empty),
    }
    return {name: Markup(svg) for name, svg in charts.items()}  # noqa: S704 - escaped in _charts


def _timeline_charts(timeline: Timeline, language: Language, empty: str) -> dict[str, str]:
    bucket, span = timeline.span()
    names = timeline.departments()
    x_labels = [_bucket_label(start, bucket) for start, _ in span]

    def series(value: Any) -> list[tuple[str, Sequence[float | None]]]:
        return [(name, [value(bucket.get(name)) for _, bucket in span]) for name in names]

    def unknown_rate(figures: Any) -> float | None:
        return figures.unknown / figures.facts if figures is not None and figures.facts else None

    def percentile(percent: float) -> Any:
        def value(figures: Any) -> float | None:
            return figures.latency.percentile(percent) if figures is not None else None

        return value

    return {
        "unknown_rate": line_chart(
            label("chart.unknown_rate", language),
            x_labels,
            series(unknown_rate),
            empty,
            percent=True,
        ),
        "p50": line_chart(label("chart.p50", language), x_labels, series(percentile(50)), empty),
        "p95": line_chart(label("chart.p95", language), x_labels, series(percentile(95)), empty),
    }


def _bucket_label(start: datetime, bucket: str) -> str:
    shown = local_time(start)  # "YYYY-MM-DD HH:MM:SS", UTC+8
    if bucket in ("day", "week"):
        return shown[:10]
    return shown[5:16]
